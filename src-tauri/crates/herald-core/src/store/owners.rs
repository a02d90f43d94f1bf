//! The `owners` and `owner_pairings` tables: who may drive this Herald from another computer,
//! and the codes waiting to let one in. Only verifiers, and passwords sealed with a key kept in
//! the keyring, are stored (see schema V9).

use rusqlite::{params, OptionalExtension};

use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::Result;

/// An owner as the store has it. `removed_at` set means removed: no verifier, no pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRow {
    pub id: i64,
    pub name: String,
    pub added_at: Timestamp,
    pub paired_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    pub removed_at: Option<Timestamp>,
    pub credential_verifier: Option<Vec<u8>>,
    /// When its pending pairing code stops working, if it has one.
    pub pairing_expires_at: Option<Timestamp>,
}

const OWNER_COLUMNS: &str = "o.id, o.name, o.added_at, o.paired_at, o.last_seen_at, o.removed_at,
     o.credential_verifier, p.expires_at
     FROM owners o LEFT JOIN owner_pairings p ON p.owner_id = o.id";

fn owner_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OwnerRow> {
    Ok(OwnerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        added_at: r.get(2)?,
        paired_at: r.get(3)?,
        last_seen_at: r.get(4)?,
        removed_at: r.get(5)?,
        credential_verifier: r.get(6)?,
        pairing_expires_at: r.get(7)?,
    })
}

pub fn insert(tx: &Tx<'_>, name: &str, now: Timestamp) -> Result<i64> {
    row(
        tx,
        "INSERT INTO owners (name, added_at) VALUES (?1, ?2) RETURNING id",
        params![name, now],
        |r| r.get(0),
    )
    .or_db(tx)
}

pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<OwnerRow>> {
    row(
        tx,
        &format!("SELECT {OWNER_COLUMNS} WHERE o.id = ?1"),
        [id],
        owner_row,
    )
    .optional()
    .or_db(tx)
}

/// Owners not removed, oldest first.
pub fn active(tx: &Tx<'_>) -> Result<Vec<OwnerRow>> {
    rows(
        tx,
        &format!("SELECT {OWNER_COLUMNS} WHERE o.removed_at IS NULL ORDER BY o.id"),
        [],
        owner_row,
    )
    .or_db(tx)
}

/// Marks an owner removed and drops its verifier and pending pairing. False if there is no
/// such owner, or it was removed already.
pub fn remove(tx: &Tx<'_>, id: i64, now: Timestamp) -> Result<bool> {
    exec(tx, "DELETE FROM owner_pairings WHERE owner_id = ?1", [id]).or_db(tx)?;
    let n = exec(
        tx,
        "UPDATE owners SET removed_at = ?2, credential_verifier = NULL
         WHERE id = ?1 AND removed_at IS NULL",
        params![id, now],
    )
    .or_db(tx)?;
    Ok(n == 1)
}

/// Notes a request by the owner.
pub fn touch(tx: &Tx<'_>, id: i64, now: Timestamp) -> Result<()> {
    exec(
        tx,
        "UPDATE owners SET last_seen_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
        params![id, now],
    )
    .map(drop)
    .or_db(tx)
}

/// A pending pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingRow {
    pub owner_id: i64,
    /// The SPAKE2 password derived from the code, sealed with the pairing key (never the
    /// code, never the password itself).
    pub sealed_password: Vec<u8>,
    /// The fingerprint of the pairing key that sealed it.
    pub pairing_key_id: Vec<u8>,
    pub expires_at: Timestamp,
    pub tries: u32,
    pub session: Option<Session>,
}

/// The attempt between its two steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub started_at: Timestamp,
    pub confirm: Vec<u8>,
    pub credential: Vec<u8>,
}

pub fn insert_pairing(
    tx: &Tx<'_>,
    owner_id: i64,
    sealed_password: &[u8],
    pairing_key_id: &[u8],
    expires_at: Timestamp,
) -> Result<()> {
    exec(
        tx,
        "INSERT INTO owner_pairings (owner_id, sealed_password, pairing_key_id, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![owner_id, sealed_password, pairing_key_id, expires_at],
    )
    .map(drop)
    .or_db(tx)
}

pub fn pairing(tx: &Tx<'_>, owner_id: i64) -> Result<Option<PairingRow>> {
    row(
        tx,
        "SELECT owner_id, sealed_password, pairing_key_id, expires_at, tries,
                session_started_at, session_confirm, session_credential
         FROM owner_pairings WHERE owner_id = ?1",
        [owner_id],
        |r| {
            let session = match (r.get(5)?, r.get(6)?, r.get(7)?) {
                (Some(started_at), Some(confirm), Some(credential)) => Some(Session {
                    started_at,
                    confirm,
                    credential,
                }),
                _ => None,
            };
            Ok(PairingRow {
                owner_id: r.get(0)?,
                sealed_password: r.get(1)?,
                pairing_key_id: r.get(2)?,
                expires_at: r.get(3)?,
                tries: r.get(4)?,
                session,
            })
        },
    )
    .optional()
    .or_db(tx)
}

/// Counts a try and keeps the attempt it starts, replacing any earlier one.
pub fn start_session(
    tx: &Tx<'_>,
    owner_id: i64,
    now: Timestamp,
    confirm: &[u8],
    credential: &[u8],
) -> Result<()> {
    exec(
        tx,
        "UPDATE owner_pairings SET tries = tries + 1, session_started_at = ?2,
                session_confirm = ?3, session_credential = ?4
         WHERE owner_id = ?1",
        params![owner_id, now, confirm, credential],
    )
    .map(drop)
    .or_db(tx)
}

/// Counts a failed confirmation and ends the attempt.
pub fn fail_session(tx: &Tx<'_>, owner_id: i64) -> Result<()> {
    exec(
        tx,
        "UPDATE owner_pairings SET tries = tries + 1, session_started_at = NULL,
                session_confirm = NULL, session_credential = NULL
         WHERE owner_id = ?1",
        [owner_id],
    )
    .map(drop)
    .or_db(tx)
}

/// Pairing done: the owner gets its credential's verifier, and the code is gone.
pub fn complete(tx: &Tx<'_>, owner_id: i64, verifier: &[u8], now: Timestamp) -> Result<()> {
    exec(
        tx,
        "UPDATE owners SET credential_verifier = ?2, paired_at = ?3 WHERE id = ?1",
        params![owner_id, verifier, now],
    )
    .or_db(tx)?;
    delete_pairing(tx, owner_id)
}

pub fn delete_pairing(tx: &Tx<'_>, owner_id: i64) -> Result<()> {
    exec(
        tx,
        "DELETE FROM owner_pairings WHERE owner_id = ?1",
        [owner_id],
    )
    .map(drop)
    .or_db(tx)
}

/// Deletes every pairing whose code has expired; how many.
pub fn sweep_expired(tx: &Tx<'_>, now: Timestamp) -> Result<usize> {
    exec(
        tx,
        "DELETE FROM owner_pairings WHERE expires_at <= ?1",
        [now],
    )
    .or_db(tx)
}
