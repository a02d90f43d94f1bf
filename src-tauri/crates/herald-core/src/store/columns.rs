//! The enums that live in text columns, in and out of SQLite by their names. A name the enum
//! does not know (a corrupt row, or a newer Herald's value) is an error that says which column
//! and which value, never a default: a corrupt status must not read as `queued`.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::counts::Tally;
use crate::links::EndReason;
use crate::model::{Actor, AuditAction, Status};
use crate::policy::OptOutSource;

macro_rules! text_column {
    ($($t:ty),* $(,)?) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                let name: &'static str = (*self).into();
                Ok(ToSqlOutput::from(name))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                text.parse().map_err(|_| {
                    FromSqlError::Other(
                        format!("{text:?} is not a known {}", stringify!($t)).into(),
                    )
                })
            }
        }
    )*};
}

text_column!(Status, Actor, AuditAction, EndReason, OptOutSource, Tally);

/// The statuses `pick` admits as an SQL list, `('queued','sent','failed')`, for the statements
/// and partial indexes that must name them as literals (SQLite uses a partial index only for a
/// query whose own text implies the index's condition, which a bound parameter cannot). Built
/// from the state machine, so the SQL can never disagree with it.
pub(super) fn status_list(pick: impl Fn(Status) -> bool) -> String {
    let names: Vec<String> = Status::ALL
        .iter()
        .filter(|s| pick(**s))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", names.join(","))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    #[test]
    fn names_go_in_and_come_out_as_enums() {
        let c = Connection::open_in_memory().unwrap();
        let back: (Status, AuditAction, EndReason) = c
            .query_row(
                "SELECT ?1, ?2, ?3",
                rusqlite::params![Status::Sent, AuditAction::WrongCode, EndReason::KeyRetired],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            back,
            (Status::Sent, AuditAction::WrongCode, EndReason::KeyRetired)
        );
        let text: String = c
            .query_row("SELECT ?1", [AuditAction::WrongCode], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "wrong-code");
    }

    #[test]
    fn status_lists_are_what_the_schema_indexes_say() {
        // Migration V4's partial index: a changed list would leave expiry without its index.
        assert_eq!(
            status_list(|s| s.can_become(Status::Expired)),
            "('queued','sent','failed')"
        );
        assert_eq!(
            status_list(Status::is_pending),
            "('queued','sending','sent','failed')"
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_not_a_default() {
        let c = Connection::open_in_memory().unwrap();
        let e = c
            .query_row("SELECT 'pending'", [], |r| r.get::<_, Status>(0))
            .unwrap_err();
        assert!(
            e.to_string().contains("\"pending\" is not a known Status"),
            "{e}"
        );
        let e = c
            .query_row("SELECT 42", [], |r| r.get::<_, Actor>(0))
            .unwrap_err();
        assert!(matches!(e, rusqlite::Error::InvalidColumnType(..)), "{e}");
    }
}
