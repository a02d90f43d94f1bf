//! A whole database as text, to show that a refused action wrote nothing.

use std::path::Path;

/// The tables an owner's actions change.
const TABLES: [&str; 6] = [
    "meta",
    "settings",
    "key_versions",
    "invitations",
    "links",
    "audit",
];

/// Every row of every table, as text: equal snapshots mean nothing was written. Opened
/// read-only, so taking one changes nothing either, on a read-only folder too.
pub fn snapshot(db: &Path) -> String {
    if !db.exists() {
        return "no database".to_owned();
    }
    let db = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut s = String::new();
    for table in TABLES {
        let mut stmt = db
            .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
            .unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                s.push_str(&format!("{v:?}|"));
            }
            s.push('\n');
        }
    }
    s
}
