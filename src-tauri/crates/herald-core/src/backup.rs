//! Backups of the data folder's database, and putting one back.
//!
//! A backup is SQLite's `VACUUM INTO`: one consistent file, taken while Herald runs, without
//! the `-wal` and `-shm` files a plain copy can tear. It holds what the database holds (the
//! invitations, the link nonces, the settings) and no secret: the signing keys and the SMTP
//! password stay in the OS keyring, and a link in the backup works only where they are.
//! The file is created for its owner alone (0600 on Unix) and never over an existing one.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::store::{self, meta, DB_FILE};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Where the database it replaced was kept, if there was one.
    pub previous: Option<PathBuf>,
    pub invitations: i64,
}

/// The name the replaced database keeps beside the restored one.
pub const REPLACED_SUFFIX: &str = ".before-restore";

impl Herald {
    /// Writes a consistent copy of the database to `dest`, which must not exist yet. Returns
    /// how many invitations it holds.
    pub fn backup(&self, dest: &Path) -> Result<i64> {
        create_private_file(dest)?;
        let written = self
            .store
            .vacuum_into(dest)
            .and_then(|()| Ok(meta::inspect_backup(dest)?.invitations));
        if written.is_err() {
            // Leave no empty or partial file behind.
            let _ = std::fs::remove_file(dest);
        }
        written
    }

    /// Puts the backup `backup` in place of the database in `data_dir`. Refused while a
    /// window or `herald serve` runs on that folder, for a file that is not a Herald database
    /// this Herald can read, and for a backup of another install (its links would need keys
    /// this keyring does not hold under this install's name) when the folder already has one.
    /// The database it replaces is kept beside it, as `herald.db.before-restore`.
    pub fn restore(opts: crate::OpenOptions, backup: &Path) -> Result<Restored> {
        let meta::BackupFacts {
            invitations,
            install_id: backup_id,
        } = meta::inspect_backup(backup)?;
        let data_dir = opts.data_dir.clone();
        let data_dir = data_dir.as_path();
        let current = data_dir.join(DB_FILE);
        if current.is_file() {
            let herald = Herald::open(opts)?;
            if herald.keyring.install_id() != backup_id {
                return Err(Error::BackupOfAnotherInstall {
                    path: backup.to_owned(),
                });
            }
            // Held until the restore is done: no worker can start meanwhile.
            let Some(_lease) = herald.try_outbox_lease()? else {
                return Err(Error::HeraldRunning {
                    dir: data_dir.to_owned(),
                });
            };
            herald.store.checkpoint()?;
            drop(herald);
            let previous = data_dir.join(format!("{DB_FILE}{REPLACED_SUFFIX}"));
            put_in_place(data_dir, backup, &current, Some(&previous))?;
            return Ok(Restored {
                previous: Some(previous),
                invitations,
            });
        }
        store::Store::open(data_dir, true)?;
        put_in_place(data_dir, backup, &current, None)?;
        Ok(Restored {
            previous: None,
            invitations,
        })
    }
}

/// Copies `backup` next to `current` and renames it into place (a rename is atomic, so the
/// folder never holds half a database), after moving the old database aside.
fn put_in_place(dir: &Path, backup: &Path, current: &Path, previous: Option<&Path>) -> Result<()> {
    let staged = dir.join(format!("{DB_FILE}.restoring"));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::folder_io(dir, &path, source)
    };
    let _ = std::fs::remove_file(&staged);
    create_private_file(&staged)?;
    std::fs::copy(backup, &staged).map_err(io(&staged))?;
    std::fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(io(&staged))?;
    if let Some(previous) = previous {
        std::fs::rename(current, previous).map_err(io(current))?;
    }
    // The old write-ahead log belongs to the old database: with the new file it would be
    // read as corruption, or worse, as changes.
    for suffix in ["-wal", "-shm"] {
        let side = dir.join(format!("{DB_FILE}{suffix}"));
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&side)(e)),
        }
    }
    std::fs::rename(&staged, current).map_err(io(current))?;
    Ok(())
}

/// Creates an empty file that only its owner may read, failing if it exists.
fn create_private_file(path: &Path) -> Result<()> {
    store::create_owner_only(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::BackupExists {
            path: path.to_owned(),
        },
        _ => Error::BackupWrite {
            path: path.to_owned(),
            source: e,
        },
    })
}
