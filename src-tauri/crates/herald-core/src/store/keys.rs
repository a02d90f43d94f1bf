//! The `key_versions` table: which signing key versions exist and which are retired. The keys
//! themselves are in the OS keyring; a row holds only the name they are kept under.

use std::sync::LazyLock;

use rusqlite::{params, OptionalExtension};

use super::columns::status_list;
use super::{exec, row, rows, OrDb, Tx};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::Status;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersionRow {
    pub version: u32,
    pub key_id: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    /// Pending invitations whose current, live link is signed with this version.
    pub live_links: usize,
}

pub fn all(tx: &Tx<'_>) -> Result<Vec<KeyVersionRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT k.version, k.key_id, k.created_at, k.retired_at,
                (SELECT count(*) FROM invitations i JOIN links l ON l.id = i.link_id
                  WHERE l.key_version = k.version AND l.ended_at IS NULL
                    AND i.status IN {})
             FROM key_versions k ORDER BY k.version",
            status_list(Status::is_pending)
        )
    });
    rows(tx, SQL.as_str(), [], |r| {
        Ok(KeyVersionRow {
            version: r.get(0)?,
            key_id: r.get(1)?,
            created_at: r.get(2)?,
            retired_at: r.get(3)?,
            live_links: r.get::<_, i64>(4)?.try_into().unwrap_or(usize::MAX),
        })
    })
    .or_db(tx)
}

pub fn get(tx: &Tx<'_>, version: u32) -> Result<Option<KeyVersionRow>> {
    Ok(all(tx)?.into_iter().find(|k| k.version == version))
}

/// The newest version that is not retired, and its keyring name.
pub fn current(tx: &Tx<'_>) -> Result<Option<(u32, String)>> {
    row(
        tx,
        "SELECT version, key_id FROM key_versions WHERE retired_at IS NULL
         ORDER BY version DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .or_db(tx)
}

/// What checking or minting a link needs of its key version: its keyring name and whether it
/// was retired. One row by primary key, unlike [`get`], which counts live links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub key_id: String,
    pub retired: bool,
}

pub fn key_ref(tx: &Tx<'_>, version: u32) -> Result<Option<KeyRef>> {
    row(
        tx,
        "SELECT key_id, retired_at IS NOT NULL FROM key_versions WHERE version = ?1",
        [version],
        |r| {
            Ok(KeyRef {
                key_id: r.get(0)?,
                retired: r.get(1)?,
            })
        },
    )
    .optional()
    .or_db(tx)
}

pub fn insert(tx: &Tx<'_>, version: u32, key_id: &str, now: Timestamp) -> Result<()> {
    exec(
        tx,
        "INSERT INTO key_versions (version, key_id, created_at) VALUES (?1, ?2, ?3)",
        params![version, key_id, now],
    )
    .map(drop)
    .or_db(tx)
}

pub fn next_version(tx: &Tx<'_>) -> Result<u32> {
    row(
        tx,
        "SELECT coalesce(max(version), 0) + 1 FROM key_versions",
        [],
        |r| r.get(0),
    )
    .or_db(tx)
}

pub fn retire(tx: &Tx<'_>, version: u32, now: Timestamp) -> Result<()> {
    exec(
        tx,
        "UPDATE key_versions SET retired_at = ?2 WHERE version = ?1",
        params![version, now],
    )
    .map(drop)
    .or_db(tx)
}
