//! The store: one SQLite file (WAL, busy timeout, versioned migrations) in the data folder.
//! Every status change goes through [`transition`], which asks the state machine first and then
//! updates only if the row still has the status it was read with, so concurrent writers can
//! never overwrite each other's decisions.

mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::model::{Actor, AuditEntry, Invitation, ListFilter, Status};
use crate::token::NONCE_LEN;

pub const DB_FILE: &str = "herald.db";

/// Connections kept for reads beside the one writer: WAL lets them read while it writes, so
/// the confirmation site's page views do not queue behind each other or behind the outbox.
const READERS: usize = 2;

pub struct Store {
    path: PathBuf,
    /// The folder (or its disk) cannot be written: reads work, and every write says so before
    /// it reaches SQLite.
    read_only: bool,
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the database in `dir`, creating folder and file when `create` is set. Without it a
    /// missing database is "not set up yet", and nothing is written to disk. A folder that
    /// cannot be written (a read-only disk or mount) opens read-only: reads work and every
    /// write fails with [`Error::ReadOnly`].
    pub fn open(dir: &Path, create: bool) -> Result<Store> {
        let path = dir.join(DB_FILE);
        if !create && !path.is_file() {
            return Err(Error::NotInitialised {
                dir: dir.to_owned(),
            });
        }
        if create {
            create_private_dir(dir)?;
            create_db_file(dir, &path)?;
        }
        if !file_is_writable(dir, &path)? {
            return Store::open_read_only(dir, &path);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut conn =
            Connection::open_with_flags(&path, flags).map_err(|e| Error::db(&path, e))?;
        restrict_file(dir, &path)?;
        configure(&conn).map_err(|e| Error::db(&path, e))?;
        migrate(&mut conn, &path)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open_with_flags(&path, flags)?;
                configure(&reader)?;
                Ok(Mutex::new(reader))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| Error::db(&path, e))?;
        Ok(Store {
            path,
            read_only: false,
            conn: Mutex::new(conn),
            readers,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Opens a database whose folder cannot be written. A WAL database normally needs to create
    /// its `-shm` and `-wal` files even to read, which a read-only folder refuses ("unable to
    /// open database file"). When a `-wal` file is there (Herald did not close cleanly before
    /// the folder became read-only), SQLite reads it read-only and so sees every commit. When
    /// there is none, every commit is in the main file, and `immutable=1` tells SQLite it need
    /// not coordinate with writers: nobody can write to a read-only folder.
    fn open_read_only(dir: &Path, path: &Path) -> Result<Store> {
        let read_only = || Error::ReadOnly {
            path: dir.to_owned(),
        };
        let wal = dir.join(format!("{DB_FILE}-wal"));
        let has_wal = std::fs::metadata(&wal)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let target = if has_wal {
            path.to_string_lossy().into_owned()
        } else {
            let mut url = url::Url::from_file_path(path).map_err(|()| read_only())?;
            url.set_query(Some("immutable=1"));
            url.to_string()
        };
        let connect = || -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(&target, flags)?;
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            // Reads the schema: a file SQLite cannot read fails here, not at the first query.
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?;
            Ok(conn)
        };
        let conn = connect().map_err(|e| match &e {
            // The -shm file is missing and cannot be created: SQLite cannot read the WAL.
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly
                ) =>
            {
                read_only()
            }
            _ => Error::db(path, e),
        })?;
        let found: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map_err(|e| Error::db(path, e))?
            .try_into()
            .unwrap_or(usize::MAX);
        let known = schema::MIGRATIONS.len();
        if found > known {
            return Err(Error::DatabaseTooNew {
                path: path.to_owned(),
                found,
                known,
            });
        }
        if found < known {
            // An older schema must be brought up to date before this Herald can read it.
            return Err(read_only());
        }
        let readers = (0..READERS)
            .map(|_| connect().map(Mutex::new))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| Error::db(path, e))?;
        Ok(Store {
            path: path.to_owned(),
            read_only: true,
            conn: Mutex::new(conn),
            readers,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Whether the store was opened read-only because its folder cannot be written.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction rolls
        // back on drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction: the write lock is taken up front, so two
    /// processes never both read, then both try to write. Commits only if `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.path.parent().unwrap_or(&self.path).to_owned(),
            });
        }
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::db(&self.path, e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| Error::db(&self.path, e))?;
        Ok(out)
    }

    /// A free reader connection, or else the next one in turn.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            match r.try_lock() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        let n = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.readers.get(n % self.readers.len().max(1)) {
            Some(r) => r.lock().unwrap_or_else(|p| p.into_inner()),
            None => self.lock(),
        }
    }

    /// Runs `f` on a consistent snapshot, on a reader connection (never inside a write).
    pub fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.reader();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| Error::db(&self.path, e))?;
        f(&tx)
    }

    /// A watch on commits by any connection, in this process or another: the outbox notices
    /// an invitation that `herald invite create` queued in another process without waiting
    /// for its next timed look. It has a connection of its own, which never writes.
    pub fn watch_commits(&self) -> Result<CommitWatch> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| self.err(e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        let mut watch = CommitWatch { conn, last: 0 };
        watch.last = watch.version();
        Ok(watch)
    }

    /// Writes a consistent copy of the database into `dest`, an empty file (`VACUUM INTO`).
    pub fn vacuum_into(&self, dest: &Path) -> Result<()> {
        let dest = dest.to_str().ok_or_else(|| Error::BackupWrite {
            path: dest.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path is not valid UTF-8",
            ),
        })?;
        self.reader()
            .execute("VACUUM INTO ?1", [dest])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Moves every commit from the write-ahead log into the database file.
    pub fn checkpoint(&self) -> Result<()> {
        self.lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// Wraps a SQLite error with this store's path.
    pub fn err(&self, e: rusqlite::Error) -> Error {
        Error::db(&self.path, e)
    }
}

/// The schema version this Herald writes.
pub fn schema_version() -> usize {
    schema::MIGRATIONS.len()
}

/// See [`Store::watch_commits`].
pub struct CommitWatch {
    conn: Connection,
    last: i64,
}

impl CommitWatch {
    /// Whether anything was committed since the last call. SQLite's `data_version` is read
    /// from shared memory, so asking costs microseconds and no disk access.
    pub fn committed(&mut self) -> bool {
        let now = self.version();
        let changed = now != self.last;
        self.last = now;
        changed
    }

    fn version(&self) -> i64 {
        // If it cannot be read, report no change: the outbox still looks at its usual times.
        self.conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .unwrap_or(self.last)
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL: readers never block the writer. synchronous=NORMAL is durable across a crash or kill
    // of Herald (what the outbox must survive); only an OS crash can lose the last commits.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let known = schema::MIGRATIONS.len();
    let found: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(|e| Error::db(path, e))?
        .try_into()
        .unwrap_or(usize::MAX);
    if found > known {
        return Err(Error::DatabaseTooNew {
            path: path.to_owned(),
            found,
            known,
        });
    }
    schema::migrations().to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => Error::db(path, err),
        other => Error::DatabaseContent {
            path: path.to_owned(),
            detail: format!("its schema could not be brought up to date ({other})"),
        },
    })
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let io = |source| Error::folder_io(dir, dir, source);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(io)?;
    if !dir.is_dir() {
        return Err(Error::DataFolder {
            path: dir.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "it exists but is not a folder",
            ),
        });
    }
    Ok(())
}

/// Creates the empty database file, readable by the owner only from its first byte, so that
/// a read-only folder or a full disk is reported as such rather than as SQLite's "unable to
/// open database file". SQLite takes an empty file as an empty database.
fn create_db_file(dir: &Path, path: &Path) -> Result<()> {
    match create_owner_only(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::folder_io(dir, path, e)),
    }
}

/// Creates an empty file that only its owner may read (0600 on Unix, from its first byte);
/// fails with `AlreadyExists` rather than touch a file that is there.
pub(crate) fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Whether the database file can be opened for writing. Opening for writing changes nothing
/// (no truncation, no timestamp); a read-only mount or another user's file refuses it.
fn file_is_writable(dir: &Path, path: &Path) -> Result<bool> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::folder_io(dir, path, e)),
    }
}

/// The database holds names and addresses: readable by the owner only.
fn restrict_file(dir: &Path, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| Error::folder_io(dir, path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::folder_io(dir, path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, path);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Queries. Each takes the transaction it runs in, so callers compose them atomically.

pub type Sql<T> = rusqlite::Result<T>;

pub fn meta_get(c: &Connection, key: &str) -> Sql<Option<String>> {
    row(c, "SELECT value FROM meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

pub fn meta_set(c: &Connection, key: &str, value: &str) -> Sql<()> {
    exec(
        c,
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map(drop)
}

pub fn settings_get(c: &Connection, section: &str) -> Sql<Option<String>> {
    row(
        c,
        "SELECT value FROM settings WHERE section = ?1",
        [section],
        |r| r.get(0),
    )
    .optional()
}

pub fn settings_set(c: &Connection, section: &str, json: &str) -> Sql<()> {
    exec(
        c,
        "INSERT INTO settings (section, value) VALUES (?1, ?2)
         ON CONFLICT (section) DO UPDATE SET value = excluded.value",
        [section, json],
    )
    .map(drop)
}

pub(crate) const INVITATION_COLUMNS: &str =
    "i.id, i.email, i.name, i.role, i.note, i.status, i.created_at,
    i.expires_at, i.sent_at, i.decided_at, i.attempts, i.last_error, l.key_version, i.opened_at,
    i.scanned_at";

pub(crate) fn invitation_from_row(r: &Row<'_>) -> Sql<Invitation> {
    let status: String = r.get(5)?;
    Ok(Invitation {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        note: r.get(4)?,
        // The CHECK constraint admits only known names.
        status: Status::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("unknown status {status:?}").into(),
            )
        })?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        sent_at: r.get(8)?,
        decided_at: r.get(9)?,
        attempts: r.get(10)?,
        last_error: r.get(11)?,
        key_version: r.get(12)?,
        opened_at: r.get(13)?,
        scanned_at: r.get(14)?,
    })
}

pub fn invitation(c: &Connection, id: i64) -> Sql<Option<Invitation>> {
    row(
        c,
        &format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN links l ON l.id = i.link_id
             WHERE i.id = ?1"
        ),
        [id],
        invitation_from_row,
    )
    .optional()
}

pub fn invitations(c: &Connection, filter: &ListFilter) -> Sql<Vec<Invitation>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN links l ON l.id = i.link_id
         WHERE (?1 IS NULL OR i.status = ?1)
         ORDER BY i.id"
    ))?;
    let rows = stmt.query_map([filter.status.map(Status::as_str)], invitation_from_row)?;
    rows.collect()
}

/// The id of a pending invitation to this address, if any.
pub fn pending_for_email(c: &Connection, email: &str) -> Sql<Option<i64>> {
    row(
        c,
        "SELECT id FROM invitations
         WHERE email = ?1 AND status IN ('queued','sending','sent','failed')
         ORDER BY id LIMIT 1",
        [email],
        |r| r.get(0),
    )
    .optional()
}

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: &'a str,
    pub note: Option<&'a str>,
    pub expires_at: Timestamp,
}

/// Inserts a queued invitation with its first link; returns its id.
pub fn insert_invitation(
    c: &Connection,
    new: &NewInvitation<'_>,
    nonce: &[u8; NONCE_LEN],
    key_version: u32,
    now: Timestamp,
) -> Sql<i64> {
    exec(c,
        "INSERT INTO invitations (email, name, role, note, status, created_at, updated_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, ?6)",
        params![new.email, new.name, new.role, new.note, now, new.expires_at],
    )?;
    let id = c.last_insert_rowid();
    insert_link(c, id, nonce, key_version, now, None)?;
    audit(
        c,
        Some(id),
        now,
        Actor::Owner,
        "created",
        None,
        Some(Status::Queued),
        None,
    )?;
    Ok(id)
}

/// Mints a new link row for an invitation (with a new expiry if given) and makes it current;
/// the caller ends the old one.
pub fn insert_link(
    c: &Connection,
    invitation_id: i64,
    nonce: &[u8; NONCE_LEN],
    key_version: u32,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Sql<i64> {
    if let Some(exp) = expires_at {
        exec(
            c,
            "UPDATE invitations SET expires_at = ?2, updated_at = ?3 WHERE id = ?1",
            params![invitation_id, exp, now],
        )?;
    }
    exec(
        c,
        "INSERT INTO links (invitation_id, nonce, key_version, email, expires_at, created_at)
         SELECT id, ?2, ?3, email, expires_at, ?4 FROM invitations WHERE id = ?1",
        params![invitation_id, nonce.as_slice(), key_version, now],
    )?;
    let link = c.last_insert_rowid();
    exec(
        c,
        "UPDATE invitations SET link_id = ?2 WHERE id = ?1",
        params![invitation_id, link],
    )?;
    Ok(link)
}

/// Ends an invitation's current link, if it is still live.
pub fn end_current_link(
    c: &Connection,
    invitation_id: i64,
    reason: &str,
    now: Timestamp,
) -> Sql<bool> {
    let n = exec(
        c,
        "UPDATE links SET ended_at = ?2, ended_reason = ?3
         WHERE id = (SELECT link_id FROM invitations WHERE id = ?1) AND ended_at IS NULL",
        params![invitation_id, now, reason],
    )?;
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
    pub ended_reason: Option<String>,
    /// Whether this is the invitation's current link.
    pub current: bool,
}

fn link_from_row(r: &Row<'_>) -> Sql<LinkRow> {
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
        current: r.get(7)?,
    })
}

const LINK_COLUMNS: &str = "l.id, l.invitation_id, l.nonce, l.key_version, l.email, l.expires_at,
    l.ended_reason, (i.link_id = l.id)";

pub fn link_by_nonce(c: &Connection, nonce: &[u8; NONCE_LEN]) -> Sql<Option<LinkRow>> {
    row(
        c,
        &format!(
            "SELECT {LINK_COLUMNS} FROM links l JOIN invitations i ON i.id = l.invitation_id
             WHERE l.nonce = ?1"
        ),
        [nonce.as_slice()],
        link_from_row,
    )
    .optional()
}

pub fn current_link(c: &Connection, invitation_id: i64) -> Sql<Option<LinkRow>> {
    row(
        c,
        &format!(
            "SELECT {LINK_COLUMNS} FROM links l JOIN invitations i ON i.link_id = l.id
             WHERE i.id = ?1"
        ),
        [invitation_id],
        link_from_row,
    )
    .optional()
}

/// Writes one line of history.
#[allow(clippy::too_many_arguments)]
pub fn audit(
    c: &Connection,
    invitation_id: Option<i64>,
    at: Timestamp,
    actor: Actor,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    detail: Option<&str>,
) -> Sql<()> {
    exec(
        c,
        "INSERT INTO audit (invitation_id, at, actor, action, from_status, to_status, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            invitation_id,
            at,
            actor.as_str(),
            action,
            from.map(Status::as_str),
            to.map(Status::as_str),
            detail
        ],
    )
    .map(drop)
}

pub fn history(c: &Connection, invitation_id: i64) -> Sql<Vec<AuditEntry>> {
    let mut stmt = c.prepare_cached(
        "SELECT at, actor, action, from_status, to_status, detail FROM audit
         WHERE invitation_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([invitation_id], |r| {
        let from: Option<String> = r.get(3)?;
        let to: Option<String> = r.get(4)?;
        Ok(AuditEntry {
            at: r.get(0)?,
            actor: Actor::parse(&r.get::<_, String>(1)?),
            action: r.get(2)?,
            from_status: from.as_deref().and_then(Status::parse),
            to_status: to.as_deref().and_then(Status::parse),
            detail: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// What a status change records beside the status.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stamp<'a> {
    pub sent_at: bool,
    pub decided_at: bool,
    pub last_error: Option<&'a str>,
}

/// The one way a status changes. Asks the state machine, then updates only if the row still
/// has the status just read (so a concurrent writer's change is never overwritten), and logs
/// the change. Returns the status it came from.
#[allow(clippy::too_many_arguments)]
pub fn transition(
    c: &Connection,
    id: i64,
    to: Status,
    actor: Actor,
    action: &str,
    detail: Option<&str>,
    stamp: Stamp<'_>,
    now: Timestamp,
) -> Result<Status, TransitionError> {
    let from: String = c
        .query_row("SELECT status FROM invitations WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or(TransitionError::NotFound)?;
    let from = Status::parse(&from).ok_or(TransitionError::Illegal(Status::Queued))?;
    if !from.can_become(to) {
        return Err(TransitionError::Illegal(from));
    }
    let n = exec(
        c,
        "UPDATE invitations SET status = ?3, updated_at = ?4,
             sent_at    = CASE WHEN ?5 THEN ?4 ELSE sent_at END,
             decided_at = CASE WHEN ?6 THEN ?4 ELSE decided_at END,
             last_error = CASE WHEN ?7 IS NOT NULL THEN ?7 ELSE last_error END
         WHERE id = ?1 AND status = ?2",
        params![
            id,
            from.as_str(),
            to.as_str(),
            now,
            stamp.sent_at,
            stamp.decided_at,
            stamp.last_error
        ],
    )?;
    if n != 1 {
        return Err(TransitionError::Illegal(from));
    }
    audit(
        c,
        Some(id),
        now,
        actor,
        action,
        Some(from),
        Some(to),
        detail,
    )?;
    Ok(from)
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("no such invitation")]
    NotFound,
    #[error("illegal transition from {0}")]
    Illegal(Status),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// Ids of pending invitations whose expiry has passed (not `sending`: the worker finishes
/// recording its outcome first).
pub fn due_for_expiry(c: &Connection, now: Timestamp) -> Sql<Vec<i64>> {
    // Named, because without statistics SQLite prefers the status index and reads every
    // pending invitation; this runs before every outbox claim.
    let mut stmt = c.prepare_cached(
        "SELECT id FROM invitations INDEXED BY invitations_pending_by_expiry
         WHERE status IN ('queued','sent','failed') AND expires_at <= ?1",
    )?;
    let rows = stmt.query_map([now], |r| r.get(0))?;
    rows.collect()
}

// --- key versions ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersionRow {
    pub version: u32,
    pub key_id: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    /// Pending invitations whose current, live link is signed with this version.
    pub live_links: usize,
}

pub fn key_versions(c: &Connection) -> Sql<Vec<KeyVersionRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT k.version, k.key_id, k.created_at, k.retired_at,
            (SELECT count(*) FROM invitations i JOIN links l ON l.id = i.link_id
              WHERE l.key_version = k.version AND l.ended_at IS NULL
                AND i.status IN ('queued','sending','sent','failed'))
         FROM key_versions k ORDER BY k.version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(KeyVersionRow {
            version: r.get(0)?,
            key_id: r.get(1)?,
            created_at: r.get(2)?,
            retired_at: r.get(3)?,
            live_links: r.get::<_, i64>(4)?.try_into().unwrap_or(usize::MAX),
        })
    })?;
    rows.collect()
}

/// The newest version that is not retired.
pub fn current_key_version(c: &Connection) -> Sql<Option<(u32, String)>> {
    row(
        c,
        "SELECT version, key_id FROM key_versions WHERE retired_at IS NULL
         ORDER BY version DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// What checking or minting a link needs of its key version: its keyring name and whether it
/// was retired. One row by primary key, unlike [`key_version`], which counts live links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub key_id: String,
    pub retired: bool,
}

pub fn key_ref(c: &Connection, version: u32) -> Sql<Option<KeyRef>> {
    c.prepare_cached("SELECT key_id, retired_at IS NOT NULL FROM key_versions WHERE version = ?1")?
        .query_row([version], |r| {
            Ok(KeyRef {
                key_id: r.get(0)?,
                retired: r.get(1)?,
            })
        })
        .optional()
}

pub fn key_version(c: &Connection, version: u32) -> Sql<Option<KeyVersionRow>> {
    Ok(key_versions(c)?.into_iter().find(|k| k.version == version))
}

pub fn insert_key_version(c: &Connection, version: u32, key_id: &str, now: Timestamp) -> Sql<()> {
    exec(
        c,
        "INSERT INTO key_versions (version, key_id, created_at) VALUES (?1, ?2, ?3)",
        params![version, key_id, now],
    )
    .map(drop)
}

pub fn next_key_version(c: &Connection) -> Sql<u32> {
    row(
        c,
        "SELECT coalesce(max(version), 0) + 1 FROM key_versions",
        [],
        |r| r.get(0),
    )
}

pub fn retire_key_version(c: &Connection, version: u32, now: Timestamp) -> Sql<()> {
    exec(
        c,
        "UPDATE key_versions SET retired_at = ?2 WHERE version = ?1",
        params![version, now],
    )
    .map(drop)
}

/// Invitations with a live link signed by `version`.
pub fn invitations_with_live_links(c: &Connection, version: u32) -> Sql<Vec<i64>> {
    let mut stmt = c.prepare_cached(
        "SELECT l.invitation_id FROM links l JOIN invitations i ON i.link_id = l.id
         WHERE l.key_version = ?1 AND l.ended_at IS NULL",
    )?;
    let rows = stmt.query_map([version], |r| r.get(0))?;
    rows.collect()
}

/// Pending invitations whose current link no longer works: ended by a key retirement, or
/// signed by one of `versions` (keys missing from the keyring).
pub fn pending_needing_reissue(c: &Connection, versions: &[u32]) -> Sql<Vec<i64>> {
    // Numbers only, so building the list into the SQL cannot inject anything.
    let list = versions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut stmt = c.prepare(&format!(
        "SELECT i.id FROM invitations i JOIN links l ON l.id = i.link_id
         WHERE i.status IN ('queued','sending','sent','failed')
           AND (l.ended_reason = 'key-retired' OR l.key_version IN ({list}))
         ORDER BY i.id"
    ))?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// `query_row` through the statement cache: the outbox and the site run the same few
/// statements thousands of times, and parsing them each time was a large part of the cost.
pub fn row<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&Row<'_>) -> Sql<T>,
) -> Sql<T> {
    c.prepare_cached(sql)?.query_row(params, f)
}

/// `execute` through the statement cache.
pub fn exec<P: rusqlite::Params>(c: &Connection, sql: &str, params: P) -> Sql<usize> {
    c.prepare_cached(sql)?.execute(params)
}
