//! The `links` table: one row per link ever minted, found by its nonce, ended (with a
//! reason) when a newer one replaces it or the invitation is withdrawn.

use rusqlite::{params, OptionalExtension, Row};

use super::columns::status_list;
use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::links::EndReason;
use crate::model::Status;
use crate::token::NONCE_LEN;

/// Mints a new link row for an invitation (with a new expiry if given) and makes it current;
/// the caller ends the old one.
pub fn insert(
    tx: &Tx<'_>,
    invitation_id: i64,
    nonce: &[u8; NONCE_LEN],
    key_version: u32,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<i64> {
    if let Some(exp) = expires_at {
        exec(
            tx,
            "UPDATE invitations SET expires_at = ?2, updated_at = ?3 WHERE id = ?1",
            params![invitation_id, exp, now],
        )
        .or_db(tx)?;
    }
    exec(
        tx,
        "INSERT INTO links (invitation_id, nonce, key_version, email, expires_at, created_at)
         SELECT id, ?2, ?3, email, expires_at, ?4 FROM invitations WHERE id = ?1",
        params![invitation_id, nonce.as_slice(), key_version, now],
    )
    .or_db(tx)?;
    let link = tx.conn.last_insert_rowid();
    exec(
        tx,
        "UPDATE invitations SET link_id = ?2 WHERE id = ?1",
        params![invitation_id, link],
    )
    .or_db(tx)?;
    Ok(link)
}

/// Ends an invitation's current link, if it is still live.
pub fn end_current(
    tx: &Tx<'_>,
    invitation_id: i64,
    reason: EndReason,
    now: Timestamp,
) -> Result<bool> {
    let n = exec(
        tx,
        "UPDATE links SET ended_at = ?2, ended_reason = ?3
         WHERE id = (SELECT link_id FROM invitations WHERE id = ?1) AND ended_at IS NULL",
        params![invitation_id, now, reason],
    )
    .or_db(tx)?;
    Ok(n == 1)
}

/// A link row, as verification needs it.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub id: i64,
    pub invitation_id: i64,
    pub nonce: [u8; NONCE_LEN],
    pub key_version: u32,
    pub email: String,
    pub expires_at: Timestamp,
    pub ended_reason: Option<EndReason>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<LinkRow> {
    let nonce: Vec<u8> = r.get(2)?;
    Ok(LinkRow {
        id: r.get(0)?,
        invitation_id: r.get(1)?,
        // The CHECK constraint guarantees 16 bytes.
        nonce: nonce.as_slice().try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Blob,
                "bad nonce length".into(),
            )
        })?,
        key_version: r.get(3)?,
        email: r.get(4)?,
        expires_at: r.get(5)?,
        ended_reason: r.get(6)?,
    })
}

const COLUMNS: &str = "l.id, l.invitation_id, l.nonce, l.key_version, l.email, l.expires_at,
    l.ended_reason";

pub fn by_nonce(tx: &Tx<'_>, nonce: &[u8; NONCE_LEN]) -> Result<Option<LinkRow>> {
    row(
        tx,
        &format!("SELECT {COLUMNS} FROM links l WHERE l.nonce = ?1"),
        [nonce.as_slice()],
        from_row,
    )
    .optional()
    .or_db(tx)
}

pub fn current(tx: &Tx<'_>, invitation_id: i64) -> Result<Option<LinkRow>> {
    row(
        tx,
        &format!(
            "SELECT {COLUMNS} FROM links l JOIN invitations i ON i.link_id = l.id
             WHERE i.id = ?1"
        ),
        [invitation_id],
        from_row,
    )
    .optional()
    .or_db(tx)
}

/// Wrong codes typed for a link that is still its invitation's current, live link; `None`
/// when it no longer is.
pub fn code_failures(tx: &Tx<'_>, link_id: i64) -> Result<Option<u32>> {
    row(
        tx,
        "SELECT l.code_failures FROM links l JOIN invitations i ON i.link_id = l.id
         WHERE l.id = ?1 AND l.ended_at IS NULL",
        [link_id],
        |r| r.get(0),
    )
    .optional()
    .or_db(tx)
}

pub fn count_code_failure(tx: &Tx<'_>, link_id: i64) -> Result<()> {
    exec(
        tx,
        "UPDATE links SET code_failures = code_failures + 1 WHERE id = ?1",
        [link_id],
    )
    .map(drop)
    .or_db(tx)
}

/// Whether a link may still take an answer at `now`: not ended, not expired, its key not
/// retired.
pub fn is_live(tx: &Tx<'_>, link_id: i64, now: Timestamp) -> Result<bool> {
    Ok(row(
        tx,
        "SELECT l.ended_at IS NULL AND ?2 < l.expires_at AND k.retired_at IS NULL
         FROM links l JOIN key_versions k ON k.version = l.key_version
         WHERE l.id = ?1",
        params![link_id, now],
        |r| r.get(0),
    )
    .optional()
    .or_db(tx)?
    .unwrap_or(false))
}

/// How a link ended, as an answer refused through it must explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkState {
    pub ended: Option<EndReason>,
    pub expires_at: Timestamp,
    pub key_retired: bool,
}

pub fn state(tx: &Tx<'_>, link_id: i64) -> Result<Option<LinkState>> {
    row(
        tx,
        "SELECT l.ended_reason, l.expires_at, k.retired_at IS NOT NULL
         FROM links l JOIN key_versions k ON k.version = l.key_version
         WHERE l.id = ?1",
        [link_id],
        |r| {
            Ok(LinkState {
                ended: r.get(0)?,
                expires_at: r.get(1)?,
                key_retired: r.get(2)?,
            })
        },
    )
    .optional()
    .or_db(tx)
}

/// Invitations with a live link signed by `version`.
pub fn invitations_signed_by(tx: &Tx<'_>, version: u32) -> Result<Vec<i64>> {
    rows(
        tx,
        "SELECT l.invitation_id FROM links l JOIN invitations i ON i.link_id = l.id
         WHERE l.key_version = ?1 AND l.ended_at IS NULL",
        [version],
        |r| r.get(0),
    )
    .or_db(tx)
}

/// Pending invitations whose current link no longer works: ended by a key retirement, or
/// signed by one of `versions` (keys missing from the keyring).
pub fn pending_needing_reissue(tx: &Tx<'_>, versions: &[u32]) -> Result<Vec<i64>> {
    // Numbers only, so building the list into the SQL cannot inject anything.
    let list = versions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT i.id FROM invitations i JOIN links l ON l.id = i.link_id
         WHERE i.status IN {}
           AND (l.ended_reason = ?1 OR l.key_version IN ({list}))
         ORDER BY i.id",
        status_list(Status::is_pending)
    );
    let mut stmt = tx.conn.prepare(&sql).or_db(tx)?;
    let ids = stmt
        .query_map([EndReason::KeyRetired], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .or_db(tx);
    ids
}
