//! The `settings` table: one JSON document per section. The sections' shapes are the types
//! in `crate::settings`; what an unreadable document means is the caller's to say.

use rusqlite::OptionalExtension;

use super::{exec, row, OrDb, Tx};
use crate::error::Result;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Section {
    General,
    Smtp,
    Limits,
    Site,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The section's JSON, if it was ever saved.
pub fn get(tx: &Tx<'_>, section: Section) -> Result<Option<String>> {
    row(
        tx,
        "SELECT value FROM settings WHERE section = ?1",
        [section.as_str()],
        |r| r.get(0),
    )
    .optional()
    .or_db(tx)
}

pub fn set(tx: &Tx<'_>, section: Section, json: &str) -> Result<()> {
    exec(
        tx,
        "INSERT INTO settings (section, value) VALUES (?1, ?2)
         ON CONFLICT (section) DO UPDATE SET value = excluded.value",
        [section.as_str(), json],
    )
    .map(drop)
    .or_db(tx)
}
