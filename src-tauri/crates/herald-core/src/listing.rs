//! What the owner looks at: one page of invitations at a time (filtered, searched, sorted in
//! SQLite, so the window stays quick with a hundred thousand rows), the counts per status, the
//! funnel and the answers over time, the members, and the opt-out list.

use serde::{Deserialize, Serialize};

use crate::clock::{rfc3339, Timestamp};
use crate::error::Result;
use crate::herald::Herald;
use crate::model::{Invitation, Status};
use crate::policy::OptOutSource;
use crate::store::counts::{self, Tally, QUARTER};
use crate::store::{opt_outs, search};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    pub(crate) fn add(&mut self, status: Status, n: u32) {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayTally {
    /// `2026-11-22`, in the owner's time zone.
    pub day: String,
    pub invited: u32,
    pub accepted: u32,
    pub declined: u32,
}

/// The funnel and the last [`OVERVIEW_DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        let search = search::Search::new(q.search.as_deref());
        self.store.read(|tx| {
            let counts = search::counts(tx, &search)?;
            let total = match q.status {
                Some(s) => status_count(&counts, s),
                None => counts.all,
            };
            Ok(ListPage {
                total,
                offset: q.offset,
                rows: search::page(tx, q, &search, limit)?,
                counts,
            })
        })
    }

    /// The funnel, and per day the invitations made and the answers given, over the last
    /// [`OVERVIEW_DAYS`] days in a time zone `utc_offset_secs` east of UTC, taken to the
    /// nearest quarter hour (every time zone in use is a whole number of them). Reads the
    /// counts the store keeps, never the invitations themselves.
    pub fn overview(&self, utc_offset_secs: i32) -> Result<Overview> {
        self.sweep_expired()?;
        let offset = i64::from(utc_offset_secs.clamp(-14 * 3600, 14 * 3600));
        let offset = (offset + QUARTER / 2).div_euclid(QUARTER) * QUARTER;
        let today = (self.clock.now() + offset).div_euclid(DAY);
        let first = today - i64::from(OVERVIEW_DAYS) + 1;
        self.store.read(|tx| {
            let counts = counts::status_counts(tx)?;
            let (delivered, opened) = counts::funnel(tx)?;
            let mut days: Vec<DayTally> = (first..=today)
                .map(|d| DayTally {
                    day: day_label(d),
                    invited: 0,
                    accepted: 0,
                    declined: 0,
                })
                .collect();
            // The first quarter of the owner's first day (a whole quarter: so is the offset).
            let since = (first * DAY - offset).div_euclid(QUARTER);
            for tally in [Tally::Invited, Tally::Accepted, Tally::Declined] {
                for (quarter, n) in counts::per_quarter(tx, tally, since)? {
                    let day = (quarter * QUARTER + offset).div_euclid(DAY);
                    let Some(t) = usize::try_from(day - first)
                        .ok()
                        .and_then(|i| days.get_mut(i))
                    else {
                        continue;
                    };
                    *match tally {
                        Tally::Invited => &mut t.invited,
                        Tally::Accepted => &mut t.accepted,
                        Tally::Declined => &mut t.declined,
                    } += n;
                }
            }
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
        self.store.read(opt_outs::all)
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
    fn days_are_labelled_by_date() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(20_414), "2025-11-22");
    }
}
