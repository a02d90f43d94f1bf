//! What the owner looks at: one page of invitations at a time (filtered, searched, sorted in
//! SQLite, so the window stays quick with a hundred thousand rows), the counts per status, the
//! funnel and the answers over time, the members, and the opt-out list.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::clock::{rfc3339, Timestamp};
use crate::error::Result;
use crate::herald::Herald;
use crate::model::{Invitation, Status};
use crate::policy::OptOutSource;
use crate::store::{invitation_from_row, INVITATION_COLUMNS};

/// The most rows one page may hold: enough for any screen, small enough to stay instant.
pub const MAX_PAGE: u32 = 1000;
/// How far back [`Overview::days`] goes.
pub const OVERVIEW_DAYS: u32 = 30;
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    #[default]
    Created,
    Email,
    Name,
    Role,
    Status,
    Expires,
    Sent,
    Decided,
}

impl SortKey {
    /// A fixed expression for each key (nothing from the query reaches the SQL text), and
    /// whether it can be NULL. The expressions match the indexes of migration V6.
    fn column(self) -> (&'static str, bool) {
        match self {
            SortKey::Created => ("i.id", false),
            SortKey::Email => ("i.email", false),
            SortKey::Name => ("coalesce(i.name, i.email) COLLATE NOCASE", false),
            SortKey::Role => ("i.role COLLATE NOCASE", false),
            SortKey::Status => ("i.status", false),
            SortKey::Expires => ("i.expires_at", false),
            SortKey::Sent => ("i.sent_at", true),
            SortKey::Decided => ("i.decided_at", true),
        }
    }

    /// `ORDER BY` for this key: ties broken by id, in the same direction. Missing times go
    /// last either way (only nullable columns say so: NULLS LAST keeps SQLite off an index).
    fn order_by(self, descending: bool) -> String {
        let (column, nullable) = self.column();
        let direction = if descending { "DESC" } else { "ASC" };
        let nulls = if nullable { " NULLS LAST" } else { "" };
        if self == SortKey::Created {
            format!("i.id {direction}")
        } else {
            format!("{column} {direction}{nulls}, i.id {direction}")
        }
    }
}

/// Which invitations, in what order, and which slice of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListQuery {
    pub status: Option<Status>,
    /// Matches the address, the name or the role anywhere, ignoring case; `#12` or `12` also
    /// matches invitation 12.
    pub search: Option<String>,
    #[serde(default)]
    pub sort: SortKey,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub offset: u32,
    /// At most [`MAX_PAGE`].
    pub limit: u32,
}

/// How many invitations have each status (within a search, when there is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusCounts {
    pub all: u32,
    pub queued: u32,
    pub sending: u32,
    pub sent: u32,
    pub failed: u32,
    pub accepted: u32,
    pub declined: u32,
    pub expired: u32,
    pub revoked: u32,
}

impl StatusCounts {
    fn add(&mut self, status: Status, n: u32) {
        let slot = match status {
            Status::Queued => &mut self.queued,
            Status::Sending => &mut self.sending,
            Status::Sent => &mut self.sent,
            Status::Failed => &mut self.failed,
            Status::Accepted => &mut self.accepted,
            Status::Declined => &mut self.declined,
            Status::Expired => &mut self.expired,
            Status::Revoked => &mut self.revoked,
        };
        *slot += n;
        self.all += n;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListPage {
    /// How many invitations match the query (all pages).
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<Invitation>,
    /// Per status, for the search alone (the status filter would make them all zero but one).
    pub counts: StatusCounts,
}

/// Answers on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayTally {
    /// `2026-11-22`, in the owner's time zone.
    pub day: String,
    pub invited: u32,
    pub accepted: u32,
    pub declined: u32,
}

/// The funnel and the last [`OVERVIEW_DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Overview {
    /// Every invitation ever made.
    pub invited: u32,
    /// Those whose mail a server took at least once.
    pub delivered: u32,
    /// Those whose link someone opened (people, not scanners).
    pub opened: u32,
    pub counts: StatusCounts,
    /// Oldest first, one entry per day, days without answers included.
    pub days: Vec<DayTally>,
}

/// An address that asked never to be invited again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OptOutEntry {
    pub email: String,
    pub at: Timestamp,
    pub source: OptOutSource,
}

impl Herald {
    /// One page of invitations. Expiry is applied first, as everywhere that lists.
    pub fn list_page(&self, q: &ListQuery) -> Result<ListPage> {
        self.sweep_expired()?;
        let limit = q.limit.min(MAX_PAGE);
        let search = Search::new(q.search.as_deref());
        self.store.read(|tx| {
            let counts = counts(tx, &search).map_err(|e| self.store.err(e))?;
            let total = match q.status {
                Some(s) => status_count(&counts, s),
                None => counts.all,
            };
            let order = q.sort.order_by(q.descending);
            let status = q.status.map(Status::as_str);
            let mut filter = search.filter();
            let mut args = search.args();
            if let Some(status) = &status {
                filter.push("i.status = :status");
                args.push((":status", status));
            }
            args.push((":limit", &limit));
            args.push((":offset", &q.offset));
            // The page's ids first, along an index of invitations alone (a skip of 50,000
            // index entries is cheap; 50,000 joins are not), then their rows. Only the
            // conditions in use are in the SQL, so SQLite can pick the index that serves them.
            let sql = format!(
                "SELECT {INVITATION_COLUMNS}
                 FROM (SELECT i.id FROM invitations i {}
                       ORDER BY {order} LIMIT :limit OFFSET :offset) page
                 JOIN invitations i ON i.id = page.id JOIN links l ON l.id = i.link_id
                 ORDER BY {order}",
                where_clause(&filter),
            );
            let mut stmt = tx.prepare_cached(&sql).map_err(|e| self.store.err(e))?;
            let rows = stmt
                .query_map(args.as_slice(), invitation_from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.store.err(e))?;
            Ok(ListPage {
                total,
                offset: q.offset,
                rows,
                counts,
            })
        })
    }

    /// The funnel, and per day the invitations made and the answers given, over the last
    /// [`OVERVIEW_DAYS`] days in a time zone `utc_offset_secs` east of UTC.
    pub fn overview(&self, utc_offset_secs: i32) -> Result<Overview> {
        self.sweep_expired()?;
        let offset = i64::from(utc_offset_secs.clamp(-14 * 3600, 14 * 3600));
        let today = (self.clock.now() + offset).div_euclid(DAY);
        let first = today - i64::from(OVERVIEW_DAYS) + 1;
        self.store.read(|tx| {
            let sql = |e| self.store.err(e);
            let counts = counts(tx, &Search::new(None)).map_err(sql)?;
            let (delivered, opened): (u32, u32) = tx
                .query_row(
                    "SELECT count(sent_at), count(opened_at) FROM invitations",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(sql)?;
            let mut days: Vec<DayTally> = (first..=today)
                .map(|d| DayTally {
                    day: day_label(d),
                    invited: 0,
                    accepted: 0,
                    declined: 0,
                })
                .collect();
            let since = first * DAY - offset;
            let mut tally = |sql_text: &str, pick: fn(&mut DayTally) -> &mut u32| {
                let mut stmt = tx.prepare_cached(sql_text)?;
                let rows = stmt.query_map(params![offset, since], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?))
                })?;
                for row in rows {
                    let (day, n) = row?;
                    if let Some(t) = usize::try_from(day - first)
                        .ok()
                        .and_then(|i| days.get_mut(i))
                    {
                        *pick(t) += n;
                    }
                }
                Ok::<(), rusqlite::Error>(())
            };
            tally(
                "SELECT (created_at + ?1) / 86400, count(*) FROM invitations
                 WHERE created_at >= ?2 GROUP BY 1",
                |t| &mut t.invited,
            )
            .map_err(sql)?;
            tally(
                "SELECT (decided_at + ?1) / 86400, count(*) FROM invitations
                 WHERE status = 'accepted' AND decided_at >= ?2 GROUP BY 1",
                |t| &mut t.accepted,
            )
            .map_err(sql)?;
            tally(
                "SELECT (decided_at + ?1) / 86400, count(*) FROM invitations
                 WHERE status = 'declined' AND decided_at >= ?2 GROUP BY 1",
                |t| &mut t.declined,
            )
            .map_err(sql)?;
            Ok(Overview {
                invited: counts.all,
                delivered,
                opened,
                counts,
                days,
            })
        })
    }

    /// Every address that asked never to be invited again, newest first. Read-only: the owner
    /// cannot take an address off this list.
    pub fn opt_outs(&self) -> Result<Vec<OptOutEntry>> {
        self.store.read(|tx| {
            let mut stmt = tx
                .prepare_cached("SELECT email, at, source FROM opt_outs ORDER BY at DESC, email")
                .map_err(|e| self.store.err(e))?;
            let rows = stmt
                .query_map([], |r| {
                    let source: String = r.get(2)?;
                    Ok(OptOutEntry {
                        email: r.get(0)?,
                        at: r.get(1)?,
                        source: OptOutSource::parse(&source),
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.store.err(e))?;
            Ok(rows)
        })
    }

    /// The people who accepted, as CSV for a spreadsheet: `email,name,role,accepted_at`.
    pub fn members_csv(&self) -> Result<String> {
        let page = self.list_page(&ListQuery {
            status: Some(Status::Accepted),
            search: None,
            sort: SortKey::Decided,
            descending: false,
            offset: 0,
            limit: MAX_PAGE,
        })?;
        let mut rows = page.rows;
        // Pages cap at MAX_PAGE; members are few, but a big team must still export whole.
        let mut offset = MAX_PAGE;
        while (rows.len() as u32) < page.total {
            let more = self.list_page(&ListQuery {
                status: Some(Status::Accepted),
                search: None,
                sort: SortKey::Decided,
                descending: false,
                offset,
                limit: MAX_PAGE,
            })?;
            if more.rows.is_empty() {
                break;
            }
            rows.extend(more.rows);
            offset += MAX_PAGE;
        }
        let members = rows.iter().map(|m| {
            [
                m.email.clone(),
                m.name.clone().unwrap_or_default(),
                m.role.clone(),
                m.decided_at.map(rfc3339).unwrap_or_default(),
            ]
        });
        Ok(csv_text(["email", "name", "role", "accepted_at"], members))
    }
}

/// The search as SQL: an FTS5 phrase for the trigram index (schema V7) when the text is
/// three characters or more, a LIKE pattern when it is shorter (a trigram index cannot answer
/// that); either way, also the invitation with that id (`#12` or `12`).
struct Search {
    by: Option<SearchBy>,
    id: Option<i64>,
}

enum SearchBy {
    /// A double-quoted FTS5 string: matches that text anywhere in a column.
    Phrase(String),
    /// `%text%`, with LIKE's wildcards escaped.
    Pattern(String),
}

/// Trigrams: texts shorter than this cannot use the index.
const TRIGRAM: usize = 3;

impl Search {
    const BY_PHRASE: &'static str = "(i.id IS :id OR i.id IN
        (SELECT rowid FROM invitations_search WHERE invitations_search MATCH :phrase))";
    const BY_PATTERN: &'static str = "(i.id IS :id OR i.email LIKE :pattern ESCAPE '\\'
        OR i.name LIKE :pattern ESCAPE '\\' OR i.role LIKE :pattern ESCAPE '\\')";

    /// The search's part of a WHERE clause: nothing without a search.
    fn filter(&self) -> Vec<&'static str> {
        match self.by {
            Some(SearchBy::Phrase(_)) => vec![Search::BY_PHRASE],
            Some(SearchBy::Pattern(_)) => vec![Search::BY_PATTERN],
            None => Vec::new(),
        }
    }

    fn args(&self) -> Vec<(&'static str, &dyn rusqlite::ToSql)> {
        match &self.by {
            Some(SearchBy::Phrase(phrase)) => vec![(":phrase", phrase), (":id", &self.id)],
            Some(SearchBy::Pattern(pattern)) => vec![(":pattern", pattern), (":id", &self.id)],
            None => Vec::new(),
        }
    }

    fn new(text: Option<&str>) -> Search {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Search { by: None, id: None };
        };
        let by = if text.chars().count() >= TRIGRAM {
            // Inside an FTS5 string only `"` is special, and it is doubled.
            SearchBy::Phrase(format!("\"{}\"", text.replace('"', "\"\"")))
        } else {
            let escaped: String = text
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            SearchBy::Pattern(format!("%{escaped}%"))
        };
        Search {
            by: Some(by),
            id: text.trim_start_matches('#').parse().ok(),
        }
    }
}

fn where_clause(conditions: &[&str]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

fn counts(c: &Connection, search: &Search) -> rusqlite::Result<StatusCounts> {
    // Without a search this is a walk along the status index alone.
    let sql = format!(
        "SELECT i.status, count(*) FROM invitations i {} GROUP BY i.status",
        where_clause(&search.filter())
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut counts = StatusCounts::default();
    let rows = stmt.query_map(search.args().as_slice(), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
    })?;
    for row in rows {
        let (status, n) = row?;
        if let Some(s) = Status::parse(&status) {
            counts.add(s, n);
        }
    }
    Ok(counts)
}

fn status_count(c: &StatusCounts, s: Status) -> u32 {
    match s {
        Status::Queued => c.queued,
        Status::Sending => c.sending,
        Status::Sent => c.sent,
        Status::Failed => c.failed,
        Status::Accepted => c.accepted,
        Status::Declined => c.declined,
        Status::Expired => c.expired,
        Status::Revoked => c.revoked,
    }
}

/// `2026-11-22` for a day number (days since 1970-01-01).
fn day_label(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * DAY)
        .map(|d| d.date().to_string())
        .unwrap_or_default()
}

/// CSV for a spreadsheet: the header, then the rows, CRLF line ends (RFC 4180); the csv crate
/// quotes what needs quoting. A field that a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@` first, or a tab or CR that some strip before looking) gets a `'` in front: names
/// are other people's text.
fn csv_text<const N: usize>(
    header: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail; an unwritten row would show as a short file.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row.iter().map(|f| defused(f).into_owned()));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn defused(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        let field = |v: &str| {
            let text = csv_text(["h"], [[v.to_owned()]]);
            text.strip_prefix("h\r\n")
                .unwrap()
                .strip_suffix("\r\n")
                .unwrap()
                .to_owned()
        };
        assert_eq!(field("Ada"), "Ada");
        assert_eq!(field("Hopper, Grace"), "\"Hopper, Grace\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(
            csv_text(["a", "b"], [["1".into(), "".into()]]),
            "a,b\r\n1,\r\n"
        );
    }

    #[test]
    fn long_searches_use_the_index_and_short_ones_escape_like_wildcards() {
        let phrase = |t: &str| match Search::new(Some(t)).by {
            Some(SearchBy::Phrase(p)) => Some(p),
            _ => None,
        };
        let pattern = |t: &str| match Search::new(Some(t)).by {
            Some(SearchBy::Pattern(p)) => Some(p),
            _ => None,
        };
        assert_eq!(phrase(" 50%_off\\ ").as_deref(), Some("\"50%_off\\\""));
        assert_eq!(phrase("say \"hi").as_deref(), Some("\"say \"\"hi\""));
        // Three characters, not three bytes.
        assert_eq!(phrase("Zoë").as_deref(), Some("\"Zoë\""));
        assert_eq!(pattern("%_").as_deref(), Some("%\\%\\_%"));
        assert_eq!(pattern("ë").as_deref(), Some("%ë%"));
        assert_eq!(Search::new(Some("#12")).id, Some(12));
        assert!(Search::new(Some("   ")).by.is_none());
    }

    #[test]
    fn days_are_labelled_by_date() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(20_414), "2025-11-22");
    }
}
