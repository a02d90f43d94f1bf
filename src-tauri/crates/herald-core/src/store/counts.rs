//! The overview's figures as the triggers of schema V11 keep them: invitations per status, the
//! funnel (delivered, opened), and per quarter hour the invitations made, accepted and
//! declined. Reading them is a few dozen rows, whatever the size of the team; the triggers
//! update them in the transaction that changes an invitation, so they are never behind it.

use rusqlite::params;

use super::{row, rows, OrDb, Tx};
use crate::error::Result;
use crate::listing::StatusCounts;
use crate::model::Status;

/// Seconds in a quarter hour, the tallies' unit of time: every time zone in use is a whole
/// number of them from UTC, so any owner's days are whole sums of quarters.
pub const QUARTER: i64 = 900;

/// What a quarter-hour tally counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum Tally {
    /// Invitations made.
    Invited,
    /// Invitations accepted (and still so).
    Accepted,
    /// Invitations declined (and still so).
    Declined,
}

/// How many invitations have each status.
pub fn status_counts(tx: &Tx<'_>) -> Result<StatusCounts> {
    let per_status = rows(tx, "SELECT status, n FROM status_counts", [], |r| {
        Ok((r.get::<_, Status>(0)?, r.get::<_, u32>(1)?))
    })
    .or_db(tx)?;
    let mut counts = StatusCounts::default();
    for (status, n) in per_status {
        counts.add(status, n);
    }
    Ok(counts)
}

/// Invitations whose mail a server took at least once, and those a person opened.
pub fn funnel(tx: &Tx<'_>) -> Result<(u32, u32)> {
    row(tx, "SELECT delivered, opened FROM funnel_counts", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .or_db(tx)
}

/// `(quarter, n)` for each quarter hour from `since_quarter` on with any, where quarter `q`
/// is the [`QUARTER`] seconds from `q * QUARTER` (Unix time).
pub fn per_quarter(tx: &Tx<'_>, tally: Tally, since_quarter: i64) -> Result<Vec<(i64, u32)>> {
    rows(
        tx,
        "SELECT quarter, n FROM quarter_tallies WHERE tally = ?1 AND quarter >= ?2 AND n > 0",
        params![tally, since_quarter],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .or_db(tx)
}
