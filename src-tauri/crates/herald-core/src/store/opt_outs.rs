//! The `opt_outs` table: addresses that asked never to be invited again. Rows are only ever
//! added: nothing in Herald takes an address off.

use rusqlite::{params, OptionalExtension};

use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::listing::OptOutEntry;
use crate::policy::OptOutSource;

/// Adds the address; false if it was there already (the first request's time stays).
pub fn add(tx: &Tx<'_>, email: &str, source: OptOutSource, now: Timestamp) -> Result<bool> {
    let n = exec(
        tx,
        "INSERT INTO opt_outs (email, at, source) VALUES (?1, ?2, ?3)
         ON CONFLICT (email) DO NOTHING",
        params![email, now, source],
    )
    .or_db(tx)?;
    Ok(n == 1)
}

pub fn contains(tx: &Tx<'_>, email: &str) -> Result<bool> {
    row(
        tx,
        "SELECT 1 FROM opt_outs WHERE email = ?1",
        [email],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
    .or_db(tx)
}

/// Newest first.
pub fn all(tx: &Tx<'_>) -> Result<Vec<OptOutEntry>> {
    rows(
        tx,
        "SELECT email, at, source FROM opt_outs ORDER BY at DESC, email",
        [],
        |r| {
            Ok(OptOutEntry {
                email: r.get(0)?,
                at: r.get(1)?,
                source: r.get(2)?,
            })
        },
    )
    .or_db(tx)
}
