//! The outbox's columns of `invitations`: attempts, when the next one is due, and what the
//! server answered.

use rusqlite::{params, OptionalExtension};

use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::Status;

/// How many queued invitations are due at `now`.
pub fn due_count(tx: &Tx<'_>, now: Timestamp) -> Result<usize> {
    row(
        tx,
        "SELECT count(*) FROM invitations
         WHERE status = ?1 AND coalesce(next_attempt_at, 0) <= ?2",
        params![Status::Queued, now],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
    .or_db(tx)
}

/// Seconds since the epoch when the next queued invitation falls due (0 for one never tried),
/// or `None` if nothing is queued.
pub fn next_due_at(tx: &Tx<'_>) -> Result<Option<Timestamp>> {
    row(
        tx,
        "SELECT min(coalesce(next_attempt_at, 0)) FROM invitations WHERE status = ?1",
        [Status::Queued],
        |r| r.get(0),
    )
    .or_db(tx)
}

/// Invitations in `sending`, oldest first.
pub fn sending(tx: &Tx<'_>) -> Result<Vec<i64>> {
    rows(
        tx,
        "SELECT id FROM invitations WHERE status = ?1 ORDER BY id",
        [Status::Sending],
        |r| r.get(0),
    )
    .or_db(tx)
}

/// Up to `limit` queued invitations due at `now`: never-tried ones (no next attempt: NULL
/// sorts first) in the order they were made, then retries as they fall due. Written so the
/// (status, next_attempt_at) index yields the rows without a sort.
pub fn due(tx: &Tx<'_>, now: Timestamp, limit: usize) -> Result<Vec<i64>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    rows(
        tx,
        "SELECT id FROM invitations
         WHERE status = ?1 AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)
         ORDER BY next_attempt_at, id LIMIT ?3",
        params![Status::Queued, now, limit],
        |r| r.get(0),
    )
    .or_db(tx)
}

/// Counts an attempt that starts now.
pub fn count_attempt(tx: &Tx<'_>, id: i64, now: Timestamp) -> Result<()> {
    exec(
        tx,
        "UPDATE invitations SET attempts = attempts + 1,
             first_attempt_at = coalesce(first_attempt_at, ?2)
         WHERE id = ?1",
        params![id, now],
    )
    .map(drop)
    .or_db(tx)
}

/// Takes back an attempt that never reached a server.
pub fn uncount_attempt(tx: &Tx<'_>, id: i64) -> Result<()> {
    exec(
        tx,
        "UPDATE invitations SET attempts = attempts - 1 WHERE id = ?1",
        [id],
    )
    .map(drop)
    .or_db(tx)
}

/// Where an invitation stands when a mail's outcome comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub status: Status,
    /// The current link.
    pub link_id: Option<i64>,
    pub attempts: u32,
    pub first_attempt_at: Option<Timestamp>,
}

pub fn attempts(tx: &Tx<'_>, id: i64) -> Result<Option<Attempts>> {
    row(
        tx,
        "SELECT status, link_id, attempts, first_attempt_at FROM invitations WHERE id = ?1",
        [id],
        |r| {
            Ok(Attempts {
                status: r.get(0)?,
                link_id: r.get(1)?,
                attempts: r.get(2)?,
                first_attempt_at: r.get(3)?,
            })
        },
    )
    .optional()
    .or_db(tx)
}

/// A server took the mail: keep its Message-ID, forget the retries.
pub fn record_sent(tx: &Tx<'_>, id: i64, message_id: &str) -> Result<()> {
    exec(
        tx,
        "UPDATE invitations SET message_id = ?2, last_error = NULL,
             next_attempt_at = NULL, first_attempt_at = NULL
         WHERE id = ?1",
        params![id, message_id],
    )
    .map(drop)
    .or_db(tx)
}

/// When to try again (`None`: as soon as it is queued).
pub fn set_next_attempt(tx: &Tx<'_>, id: i64, next: Option<Timestamp>) -> Result<()> {
    exec(
        tx,
        "UPDATE invitations SET next_attempt_at = ?2 WHERE id = ?1",
        params![id, next],
    )
    .map(drop)
    .or_db(tx)
}

/// The owner asked again: the outbox starts afresh for this invitation.
pub fn start_afresh(tx: &Tx<'_>, id: i64) -> Result<()> {
    exec(
        tx,
        "UPDATE invitations SET attempts = 0, next_attempt_at = NULL, first_attempt_at = NULL
         WHERE id = ?1",
        [id],
    )
    .map(drop)
    .or_db(tx)
}
