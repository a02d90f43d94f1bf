//! The `meta` table (facts about the install, such as its id), and what a backup file is.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{exec, row, OrDb, Tx};
use crate::error::{Error, Result};

/// The key of the install's id: it names the install's entries in the OS keyring, so a
/// database and the keyring it belongs with can be matched.
const INSTALL_ID: &str = "install_id";

pub fn install_id(tx: &Tx<'_>) -> Result<Option<String>> {
    row(
        tx,
        "SELECT value FROM meta WHERE key = ?1",
        [INSTALL_ID],
        |r| r.get(0),
    )
    .optional()
    .or_db(tx)
}

pub fn set_install_id(tx: &Tx<'_>, id: &str) -> Result<()> {
    exec(
        tx,
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [INSTALL_ID, id],
    )
    .map(drop)
    .or_db(tx)
}

/// What a backup file holds, once it has been found to be a Herald database this Herald can
/// read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFacts {
    pub invitations: i64,
    pub install_id: String,
}

/// Opens `path` read-only and checks that it is an undamaged Herald database whose schema is
/// not newer than this Herald's.
pub fn inspect_backup(path: &Path) -> Result<BackupFacts> {
    let not = |detail: String| Error::NotABackup {
        path: path.to_owned(),
        detail,
    };
    if !path.is_file() {
        return Err(not("there is no such file".to_owned()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| not(e.to_string()))?;
    let version: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(|_| not("it is not an SQLite database".to_owned()))?
        .try_into()
        .unwrap_or(usize::MAX);
    let known = super::schema_version();
    if version > known {
        return Err(Error::DatabaseTooNew {
            path: path.to_owned(),
            found: version,
            known,
        });
    }
    let install_id: String = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [INSTALL_ID], |r| {
            r.get(0)
        })
        .map_err(|_| not("it has no Herald install id".to_owned()))?;
    let invitations = conn
        .query_row("SELECT count(*) FROM invitations", [], |r| r.get(0))
        .map_err(|_| not("it has no invitations table".to_owned()))?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| not(e.to_string()))?;
    if check != "ok" {
        return Err(not(format!("it is damaged ({check})")));
    }
    Ok(BackupFacts {
        invitations,
        install_id,
    })
}
