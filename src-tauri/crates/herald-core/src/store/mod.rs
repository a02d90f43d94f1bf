//! The store: one SQLite file (WAL, busy timeout, versioned migrations) in the data folder,
//! and the one place where SQL is written. Each table has a module of typed queries
//! (statuses, audit actions, actors and link ends go in and come out as enums, through
//! [`columns`]); the rest of the core composes them inside [`Store::read`] and
//! [`Store::write`] transactions and never sees a row or a column name.
//!
//! Every status change goes through [`invitations::transition`], which asks the state machine
//! first and then updates only if the row still has the status it was read with, so
//! concurrent writers can never overwrite each other's decisions.

pub mod audit;
mod columns;
pub mod counts;
pub mod invitations;
pub mod keys;
pub mod links;
pub mod meta;
pub mod opt_outs;
pub mod outbox;
pub mod owners;
mod schema;
pub mod search;
pub mod settings;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row, TransactionBehavior};

use writer::Writer;

use crate::error::{Error, Result};

pub const DB_FILE: &str = "herald.db";

/// Connections kept for reads beside the one writer: WAL lets them read while it writes, so
/// the confirmation site's page views do not queue behind each other or behind the outbox.
const READERS: usize = 2;

pub struct Store {
    path: PathBuf,
    /// The folder (or its disk) cannot be written: reads work, and every write says so before
    /// it reaches SQLite.
    read_only: bool,
    /// The one connection that writes, shared by concurrent writes through group commit.
    writer: Arc<Writer>,
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
            writer: Arc::new(Writer::new(conn)),
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
            writer: Arc::new(Writer::new(conn)),
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

    /// Runs `f` in a transaction that took the write lock up front (IMMEDIATE), so two
    /// processes never both read, then both try to write. What `f` wrote is committed when this
    /// returns `Ok`; when `f` fails, its changes are undone. Concurrent writes share one commit
    /// (see [`writer`]).
    pub fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.path.parent().unwrap_or(&self.path).to_owned(),
            });
        }
        self.writer.write(&self.path, |conn| {
            f(&Tx {
                conn,
                path: &self.path,
            })
        })
    }

    /// [`Store::write`] for async callers: the write owns what it needs and runs on the
    /// writer's thread, in a batch with whatever else has queued up; the future resolves once
    /// it is committed. Nothing blocks the calling thread.
    pub fn write_owned<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T>> + Send + 'static {
        let path = self.path.clone();
        let answer = if self.read_only {
            Err(Error::ReadOnly {
                path: path.parent().unwrap_or(&path).to_owned(),
            })
        } else {
            let inner = path.clone();
            Ok(self
                .writer
                .submit(&self.path, move |conn| f(&Tx { conn, path: &inner })))
        };
        async move {
            match answer?.await {
                Ok(out) => out,
                // The writer's thread dropped the job without an answer: it is gone.
                Err(_) => Err(Error::db(&path, writer::stopped())),
            }
        }
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
        // Both ways of opening make READERS of them (a constant above 0).
        self.readers[n % READERS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a consistent snapshot, on a reader connection (never inside a write).
    pub fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.reader();
        let snapshot = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| Error::db(&self.path, e))?;
        f(&Tx {
            conn: &snapshot,
            path: &self.path,
        })
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
        self.writer
            .idle(|conn| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
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

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
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
// What the query modules share.

/// One transaction of [`Store::read`] or [`Store::write`]: the queries of the table modules
/// take it, so they always run inside one, and their errors name the database file.
pub struct Tx<'c> {
    conn: &'c Connection,
    path: &'c Path,
}

impl Tx<'_> {
    /// Wraps a SQLite error with the database's path (and sorts out a full disk, a busy or
    /// read-only database from the rest).
    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        Error::db(self.path, e)
    }
}

/// `rusqlite::Result` into Herald's, naming the database: the last step of every query.
trait OrDb<T> {
    fn or_db(self, tx: &Tx<'_>) -> Result<T>;
}

impl<T> OrDb<T> for rusqlite::Result<T> {
    fn or_db(self, tx: &Tx<'_>) -> Result<T> {
        self.map_err(|e| tx.err(e))
    }
}

/// `query_row` through the statement cache: the outbox and the site run the same few
/// statements thousands of times, and parsing them each time was a large part of the cost.
fn row<T, P: rusqlite::Params>(
    tx: &Tx<'_>,
    sql: &str,
    params: P,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.conn.prepare_cached(sql)?.query_row(params, f)
}

/// `execute` through the statement cache.
fn exec<P: rusqlite::Params>(tx: &Tx<'_>, sql: &str, params: P) -> rusqlite::Result<usize> {
    tx.conn.prepare_cached(sql)?.execute(params)
}

/// Every row of a cached statement, through `f`.
fn rows<T, P: rusqlite::Params>(
    tx: &Tx<'_>,
    sql: &str,
    params: P,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = tx.conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, f)?;
    rows.collect()
}
