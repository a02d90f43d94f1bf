//! Herald's errors. Every variant reads as a sentence that tells the user what went wrong, in
//! words that fit every face; where the way forward is a command, a setting or a button, the
//! error carries a [`Hint`] that each face words itself (see `hint.rs`).

use std::path::{Path, PathBuf};

use crate::hint::Hint;
use crate::model::Status;
use crate::pairing::PairingError;
use crate::secrets::KeyringError;
use crate::validate::ValidationError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a face should treat an error: the CLI maps these to exit codes, the window to styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The request itself cannot be carried out as given (bad input, unknown id, wrong state).
    /// Nothing was changed.
    Request,
    /// Something around Herald failed (keyring, disk, database). Nothing was changed.
    Environment,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] ValidationError),

    #[error(transparent)]
    List(#[from] crate::recipients::ListError),

    #[error("Herald is not set up in {}", dir.display())]
    NotInitialised { dir: PathBuf },

    #[error("there is no invitation #{0}")]
    NoSuchInvitation(i64),

    #[error("invitation #{id} is {from}: it cannot be {}{}", to.verb(), hint(*from, *to))]
    IllegalTransition { id: i64, from: Status, to: Status },

    #[error("{email} already has a pending invitation (#{id})")]
    AlreadyInvited { email: String, id: i64 },

    #[error("{email} asked never to be invited again, and Herald keeps that promise; nobody can override it")]
    OptedOut { email: String },

    #[error("{email} has already been mailed {count} time(s) in the last {period}, the most allowed; try again after {until}")]
    MailLimit {
        email: String,
        count: u32,
        period: &'static str,
        until: String,
    },

    #[error("invitation #{id} is {status}; resend works on sent, failed or expired invitations")]
    NothingToResend { id: i64, status: Status },

    #[error("invitation #{id} has no working link (it was revoked, renewed or its key retired)")]
    LinkEnded { id: i64 },

    #[error(transparent)]
    Keyring(#[from] KeyringError),

    #[error(transparent)]
    Pairing(#[from] PairingError),

    #[error(transparent)]
    Move(#[from] crate::moving::MoveError),

    #[error(
        "the signing key version {version} is missing from the keyring{}",
        pending_note(*pending)
    )]
    KeyMissing { version: u32, pending: usize },

    #[error(
        "the keyring holds a different signing key version {version} than this data folder was made with (another install or a restored backup?)"
    )]
    KeyMismatch { version: u32 },

    #[error("there is no key version {0}")]
    NoSuchKeyVersion(u32),

    #[error("key version {0} is the current signing key, which cannot be retired")]
    RetireCurrentKey(u32),

    #[error("key version {0} is already retired")]
    KeyAlreadyRetired(u32),

    #[error("cannot use the data folder {}: {source}", path.display())]
    DataFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the disk holding {} is full: free some space and try again", path.display())]
    DiskFull { path: PathBuf },

    #[error("Herald cannot write to {}: the folder or its disk is read-only (or belongs to another user); make it writable, or run Herald as its owner, and try again", path.display())]
    ReadOnly { path: PathBuf },

    #[error("no data folder could be found for this user (no home directory)")]
    NoDefaultDataFolder,

    #[error("the database {} is busy or locked by another program; try again in a moment", path.display())]
    DatabaseBusy { path: PathBuf },

    #[error("the database {} was written by a newer Herald (schema {found}, this Herald knows up to {known}); update Herald", path.display())]
    DatabaseTooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },

    #[error("the database {} cannot be used: {source}", path.display())]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("the database {} cannot be used: {detail}", path.display())]
    DatabaseContent { path: PathBuf, detail: String },

    #[error("the operating system's random number generator failed: {0}")]
    Random(String),

    #[error(
        "the invitation mail could not be written ({0}); this is a bug in Herald, please report it"
    )]
    Template(String),

    #[error("{} already exists; a backup never overwrites a file: choose a new name", path.display())]
    BackupExists { path: PathBuf },

    #[error("cannot write the backup {}: {source}", path.display())]
    BackupWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is not a Herald backup: {detail}", path.display())]
    NotABackup { path: PathBuf, detail: String },

    #[error("{} is a backup of another Herald install, whose signing keys are in another keyring; restore it into an empty data folder (its links work only where its keys are)", path.display())]
    BackupOfAnotherInstall { path: PathBuf },

    #[error("Herald is running on {}, and a restore needs it stopped", dir.display())]
    HeraldRunning { dir: PathBuf },
}

fn pending_note(pending: usize) -> String {
    match pending {
        0 => String::new(),
        1 => " and 1 pending invitation needs it".to_owned(),
        n => format!(" and {n} pending invitations need it"),
    }
}

fn hint(from: Status, to: Status) -> &'static str {
    use Status::*;
    match (from, to) {
        (Accepted | Declined, _) => " (the invitee has already decided)",
        (Revoked, _) => " (revoked invitations stay revoked; invite the address again instead)",
        (Sending, _) => " (it is being mailed right now; try again in a moment)",
        (Expired, Revoked) => " (it has already expired)",
        _ => "",
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid(_)
            | Error::List(_)
            | Error::NotInitialised { .. }
            | Error::NoSuchInvitation(_)
            | Error::IllegalTransition { .. }
            | Error::AlreadyInvited { .. }
            | Error::OptedOut { .. }
            | Error::MailLimit { .. }
            | Error::NothingToResend { .. }
            | Error::LinkEnded { .. }
            | Error::NoSuchKeyVersion(_)
            | Error::RetireCurrentKey(_)
            | Error::KeyAlreadyRetired(_)
            | Error::BackupExists { .. }
            | Error::NotABackup { .. }
            | Error::BackupOfAnotherInstall { .. }
            | Error::HeraldRunning { .. } => ErrorKind::Request,
            Error::Pairing(e) => e.kind(),
            Error::Move(e) => e.kind(),
            Error::Keyring(_)
            | Error::KeyMissing { .. }
            | Error::KeyMismatch { .. }
            | Error::DataFolder { .. }
            | Error::DiskFull { .. }
            | Error::ReadOnly { .. }
            | Error::NoDefaultDataFolder
            | Error::DatabaseBusy { .. }
            | Error::DatabaseTooNew { .. }
            | Error::Database { .. }
            | Error::DatabaseContent { .. }
            | Error::Random(_)
            | Error::Template(_)
            | Error::BackupWrite { .. } => ErrorKind::Environment,
        }
    }

    /// The way forward, for each face to word; `None` when the message says all there is.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            Error::Invalid(e) => e.hint(),
            Error::Keyring(e) => e.hint(),
            Error::Pairing(e) => e.hint(),
            Error::Move(e) => e.hint(),
            Error::NotInitialised { .. } => Some(Hint::RunInit),
            Error::NoSuchInvitation(_) => Some(Hint::ListInvitations),
            Error::AlreadyInvited { id, .. } => Some(Hint::Resend { id: *id }),
            Error::MailLimit { .. } => Some(Hint::ChangeLimits),
            Error::LinkEnded { id } => Some(Hint::Renew { id: *id }),
            Error::KeyMissing { .. } | Error::KeyMismatch { .. } => Some(Hint::KeyReissue),
            Error::NoSuchKeyVersion(_) => Some(Hint::KeyStatus),
            Error::RetireCurrentKey(_) => Some(Hint::KeyRotate),
            Error::NoDefaultDataFolder => Some(Hint::GiveDataDir),
            Error::HeraldRunning { .. } => Some(Hint::QuitHerald),
            _ => None,
        }
    }

    /// Wraps a SQLite error with the file it concerns, and singles out what the user can fix
    /// without knowing SQLite: "busy" (waiting helps), a full disk and a read-only folder.
    pub(crate) fn db(path: &Path, source: rusqlite::Error) -> Error {
        if let rusqlite::Error::SqliteFailure(e, _) = &source {
            // The folder, not the file: that is what the owner frees space on or makes writable.
            let folder = || path.parent().unwrap_or(path).to_owned();
            match e.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    return Error::DatabaseBusy {
                        path: path.to_owned(),
                    }
                }
                rusqlite::ErrorCode::DiskFull => return Error::DiskFull { path: folder() },
                // Growing the -shm file (a write of one byte per page) fails this way when the
                // disk is full: SQLite reports it as an I/O error, not as SQLITE_FULL.
                rusqlite::ErrorCode::SystemIoFailure
                    if e.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE =>
                {
                    return Error::DiskFull { path: folder() }
                }
                rusqlite::ErrorCode::ReadOnly => return Error::ReadOnly { path: folder() },
                _ => {}
            }
        }
        Error::Database {
            path: path.to_owned(),
            source,
        }
    }

    /// A failed write of a file in the data folder `dir`: a full disk and a read-only folder
    /// get their own messages, anything else names the file and the system's words.
    pub(crate) fn folder_io(dir: &Path, file: &Path, source: std::io::Error) -> Error {
        use std::io::ErrorKind as K;
        match source.kind() {
            K::StorageFull | K::QuotaExceeded => Error::DiskFull {
                path: dir.to_owned(),
            },
            K::ReadOnlyFilesystem | K::PermissionDenied => Error::ReadOnly {
                path: dir.to_owned(),
            },
            _ => Error::DataFolder {
                path: file.to_owned(),
                source,
            },
        }
    }
}
