//! Moving a Herald to another computer (a laptop's Herald to an always-on server): `export`
//! writes one file that carries the database and everything the install keeps in the keyring
//! (the signing keys, the SMTP password, the owner API's key, the pairing key); `import` sets
//! a new data folder up from it, so links mailed before the move keep working after it.
//!
//! The file is the `age` format, encrypted with a passphrase (scrypt), as a whole: the keys
//! need it most, but the database is personal data too (every invitee's address), so nothing
//! in the file is readable without the passphrase. Inside is a tar archive of two entries: a
//! manifest (what the file is, and the keyring entries) and the database, a `VACUUM INTO`
//! snapshot as `herald backup` writes it.
//!
//! An import gives the install a new id, so its keyring entries are written under names no
//! other install on that computer has: importing can never overwrite another Herald's keys,
//! even on the computer it came from. It changes nothing anywhere unless it succeeds.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::clock::Timestamp;
use crate::error::{Error, ErrorKind, Result};
use crate::herald::{new_install_id, Herald, OpenOptions};
use crate::pairing::PairingKey;
use crate::secrets::{Entry, Keyring};
use crate::store::{self, keys, meta, owners, Store, DB_FILE};
use crate::token::HmacKey;

/// What the first entry of every export says it is.
const FORMAT: &str = "herald-export";
/// The layout this Herald writes; it reads this one and every earlier one.
const FORMAT_VERSION: u32 = 1;
const MANIFEST_ENTRY: &str = "herald-export.json";
const DATABASE_ENTRY: &str = "herald.db";
/// A manifest holds a few keys; anything much larger is not one.
const MANIFEST_MAX: u64 = 1 << 20;
/// The passphrase is all that protects the signing keys in the file, which can be attacked
/// offline: scrypt slows each guess, length makes the guesses many.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// The folder, inside the data folder, where an import is put together before it is moved
/// into place (a rename within one folder is atomic).
const STAGING: &str = "import-in-progress";

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("{} already exists; an export never overwrites a file: choose a new name", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write the export {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("there is no file {}", path.display())]
    NoSuchFile { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a Herald export: {detail}", path.display())]
    NotAnExport { path: PathBuf, detail: String },
    #[error("the passphrase does not open {}: it takes the passphrase it was exported with", path.display())]
    WrongPassphrase { path: PathBuf },
    #[error("{} was exported by a newer Herald (export format {found}, this Herald reads up to {known}); update Herald here first", path.display())]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("{} already holds a Herald: an import sets up a data folder that has none yet", dir.display())]
    FolderInUse { dir: PathBuf },
    #[error("the passphrase is too short: it alone protects the signing keys in the file, so give at least {MIN_PASSPHRASE_CHARS} characters (a few words work well)")]
    WeakPassphrase,
    #[error("the export could not be encrypted: {0}")]
    Encrypt(String),
}

impl MoveError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            MoveError::Exists { .. }
            | MoveError::NoSuchFile { .. }
            | MoveError::NotAnExport { .. }
            | MoveError::WrongPassphrase { .. }
            | MoveError::TooNew { .. }
            | MoveError::FolderInUse { .. }
            | MoveError::WeakPassphrase => ErrorKind::Request,
            MoveError::Write { .. } | MoveError::Read { .. } | MoveError::Encrypt(_) => {
                ErrorKind::Environment
            }
        }
    }

    pub fn hint(&self) -> Option<crate::Hint> {
        match self {
            MoveError::FolderInUse { .. } => Some(crate::Hint::GiveDataDir),
            _ => None,
        }
    }
}

/// What an export carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub invitations: i64,
    /// The signing key versions in the file.
    pub key_versions: Vec<u32>,
    /// Versions still in use that the keyring no longer holds (or holds a different key
    /// for): their links did not work before the export either; `key reissue` renews them.
    pub missing_keys: Vec<u32>,
    pub smtp_password: bool,
    pub owners: usize,
}

/// What an import set up.
#[derive(Debug)]
pub struct Imported {
    pub herald: Herald,
    pub invitations: i64,
    pub exported_at: Timestamp,
    pub key_versions: Vec<u32>,
    pub smtp_password: bool,
    pub owners: usize,
    /// The SMTP settings name a CA file this computer does not have.
    pub missing_ca_file: Option<PathBuf>,
}

/// The first entry of an export. Its secrets are wiped from memory when it is dropped.
#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    exported_at: Timestamp,
    /// The Herald that wrote it, for people reading a support request.
    herald: String,
    invitations: i64,
    secrets: Vec<Secret>,
}

#[derive(Serialize, Deserialize)]
struct Secret {
    #[serde(flatten)]
    entry: Entry,
    text: String,
}

impl Drop for Manifest {
    fn drop(&mut self) {
        for s in &mut self.secrets {
            s.text.zeroize();
        }
    }
}

/// Removes a file or folder of Herald's own making when the operation that made it ends,
/// whichever way it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn check_passphrase(passphrase: &SecretString) -> Result<()> {
    if passphrase.expose_secret().trim().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(MoveError::WeakPassphrase.into());
    }
    Ok(())
}

impl Herald {
    /// Writes everything this Herald needs elsewhere to `dest` (which must not exist yet),
    /// encrypted with `passphrase`. Herald may keep running meanwhile: the database is
    /// copied as one consistent snapshot.
    pub fn export(&self, dest: &Path, passphrase: &SecretString) -> Result<Exported> {
        check_passphrase(passphrase)?;
        store::create_owner_only(dest).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => MoveError::Exists {
                path: dest.to_owned(),
            },
            _ => MoveError::Write {
                path: dest.to_owned(),
                source: e,
            },
        })?;
        let written = self.write_export(dest, passphrase);
        if written.is_err() {
            // No empty or partial file left behind.
            let _ = std::fs::remove_file(dest);
        }
        written
    }

    fn write_export(&self, dest: &Path, passphrase: &SecretString) -> Result<Exported> {
        // The snapshot sits beside the database it copies, which holds the same data.
        let snapshot = self.data_dir.join(format!("{DB_FILE}.exporting"));
        let _ = std::fs::remove_file(&snapshot);
        store::create_owner_only(&snapshot)
            .map_err(|e| Error::folder_io(&self.data_dir, &snapshot, e))?;
        let _snapshot = Scratch(snapshot.clone());
        self.store.vacuum_into(&snapshot)?;
        let facts = meta::inspect_backup(&snapshot)?;

        let versions = self.store.read(keys::all)?;
        let owners = self.store.read(owners::active)?.len();
        let mut secrets = Vec::new();
        let (mut key_versions, mut missing_keys) = (Vec::new(), Vec::new());
        for row in versions.iter().filter(|k| k.retired_at.is_none()) {
            match self.keyring.get_key(row.version)? {
                Some(key) if key.key_id() == row.key_id => {
                    key_versions.push(row.version);
                    secrets.push(Secret {
                        entry: Entry::HmacKey {
                            version: row.version,
                        },
                        text: key.to_keyring_text().to_string(),
                    });
                }
                _ => missing_keys.push(row.version),
            }
        }
        let mut smtp_password = false;
        for entry in [
            Entry::SmtpPassword,
            Entry::OwnerApiTlsKey,
            Entry::PairingKey,
        ] {
            if let Some(text) = self.keyring.read_entry(&entry)? {
                smtp_password |= entry == Entry::SmtpPassword;
                secrets.push(Secret {
                    entry,
                    text: text.expose_secret().to_owned(),
                });
            }
        }
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            exported_at: self.clock.now(),
            herald: env!("CARGO_PKG_VERSION").to_owned(),
            invitations: facts.invitations,
            secrets,
        };
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&manifest).map_err(|e| MoveError::Encrypt(e.to_string()))?,
        );

        let write_err = |source: io::Error| MoveError::Write {
            path: dest.to_owned(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dest)
            .map_err(write_err)?;
        let encryptor = age::Encryptor::with_user_passphrase(passphrase.clone());
        let mut sealed = encryptor
            .wrap_output(BufWriter::new(file))
            .map_err(write_err)?;
        {
            let mut archive = tar::Builder::new(&mut sealed);
            // No user names, ids or times of this computer in the archive.
            archive.mode(tar::HeaderMode::Deterministic);
            let mut header = tar::Header::new_gnu();
            header.set_size(json.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(u64::try_from(manifest.exported_at).unwrap_or(0));
            header.set_cksum();
            archive
                .append_data(&mut header, MANIFEST_ENTRY, json.as_slice())
                .map_err(write_err)?;
            let mut db = File::open(&snapshot)
                .map_err(|e| Error::folder_io(&self.data_dir, &snapshot, e))?;
            archive
                .append_file(DATABASE_ENTRY, &mut db)
                .map_err(write_err)?;
            archive.finish().map_err(write_err)?;
        }
        let file = sealed
            .finish()
            .map_err(write_err)?
            .into_inner()
            .map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        Ok(Exported {
            invitations: facts.invitations,
            key_versions,
            missing_keys,
            smtp_password,
            owners,
        })
    }

    /// Sets up the data folder of `opts`, which must not hold a Herald yet, from the export
    /// `file`. Checks everything (the passphrase, the file, the database, every key against
    /// the fingerprint its database recorded) before anything is put in place; on any failure
    /// the folder and the keyring are as they were.
    pub fn import(opts: OpenOptions, file: &Path, passphrase: &SecretString) -> Result<Imported> {
        let dir = opts.data_dir.clone();
        if dir.join(DB_FILE).exists() {
            return Err(MoveError::FolderInUse { dir }.into());
        }
        let not_an_export = |detail: &str| MoveError::NotAnExport {
            path: file.to_owned(),
            detail: detail.to_owned(),
        };
        let reader = File::open(file).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => MoveError::NoSuchFile {
                path: file.to_owned(),
            },
            _ => MoveError::Read {
                path: file.to_owned(),
                source: e,
            },
        })?;
        if reader.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(not_an_export("it is a folder").into());
        }
        let decryptor = age::Decryptor::new(BufReader::new(reader))
            .map_err(|_| not_an_export("it is not an encrypted Herald export (age format)"))?;
        if !decryptor.is_scrypt() {
            return Err(not_an_export("it is encrypted to a key, not with a passphrase").into());
        }
        let identity = age::scrypt::Identity::new(passphrase.clone());
        let plain = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                    MoveError::WrongPassphrase {
                        path: file.to_owned(),
                    }
                }
                age::DecryptError::ExcessiveWork { .. } => {
                    not_an_export("it asks for far more work to open than an export takes")
                }
                other => not_an_export(&format!("its header is damaged ({other})")),
            })?;

        // Put together in a folder of its own, then moved into place in one rename.
        store::create_private_dir(&dir)?;
        let staging = dir.join(STAGING);
        let _ = std::fs::remove_dir_all(&staging);
        store::create_private_dir(&staging)?;
        let _staging = Scratch(staging.clone());
        let manifest = unpack(plain, &staging.join(DB_FILE), file)?;
        if manifest.format != FORMAT {
            return Err(not_an_export("it holds something else").into());
        }
        if manifest.version > FORMAT_VERSION {
            return Err(MoveError::TooNew {
                path: file.to_owned(),
                found: manifest.version,
                known: FORMAT_VERSION,
            }
            .into());
        }
        let facts = meta::inspect_backup(&staging.join(DB_FILE)).map_err(|e| match e {
            Error::NotABackup { detail, .. } => {
                not_an_export(&format!("its database: {detail}")).into()
            }
            other => other,
        })?;

        let store = Store::open(&staging, false)?;
        let install_id = new_install_id()?;
        store.write(|tx| meta::set_install_id(tx, &install_id))?;
        let versions = store.read(keys::all)?;
        let owners = store.read(owners::active)?.len();
        let keyring = Keyring::new(
            opts.keyring.clone(),
            opts.keyring_service.clone(),
            install_id,
        );

        // Every entry is checked before the first is written.
        let mut key_versions = Vec::new();
        let mut smtp_password = false;
        for s in &manifest.secrets {
            let valid = match &s.entry {
                Entry::HmacKey { version } => {
                    key_versions.push(*version);
                    HmacKey::from_keyring_text(&s.text).is_some_and(|k| {
                        versions
                            .iter()
                            .any(|r| r.version == *version && r.key_id == k.key_id())
                    })
                }
                Entry::SmtpPassword => {
                    smtp_password = true;
                    !s.text.is_empty()
                }
                Entry::OwnerApiTlsKey => {
                    crate::owner_tls::ServerIdentity::from_pkcs8_pem(&s.text).is_ok()
                }
                Entry::PairingKey => PairingKey::from_keyring_text(&s.text).is_some(),
            };
            if !valid {
                return Err(not_an_export(&format!(
                    "its {} does not belong with its database",
                    s.entry.describe()
                ))
                .into());
            }
        }
        let mut written = Vec::new();
        let stored = manifest.secrets.iter().try_for_each(|s| {
            keyring.write_entry(&s.entry, &s.text)?;
            written.push(&s.entry);
            Ok::<_, Error>(())
        });
        let placed = stored.and_then(|()| {
            // Every commit into the one file, so that the file alone is the database.
            store.checkpoint()?;
            drop(store);
            std::fs::rename(staging.join(DB_FILE), dir.join(DB_FILE))
                .map_err(|e| Error::folder_io(&dir, &dir.join(DB_FILE), e))
        });
        if let Err(e) = placed {
            for entry in written {
                let _ = keyring.delete_entry(entry);
            }
            return Err(e);
        }
        let herald = Herald::open(opts)?;
        let missing_ca_file = herald
            .smtp()?
            .and_then(|s| s.ca_file)
            .map(PathBuf::from)
            .filter(|p| !p.is_file());
        key_versions.sort_unstable();
        Ok(Imported {
            herald,
            invitations: facts.invitations,
            exported_at: manifest.exported_at,
            key_versions,
            smtp_password,
            owners,
            missing_ca_file,
        })
    }
}

/// Reads the archive: the manifest first, then the database into `db`. A cut-short or
/// altered file fails here: every chunk of an age file is authenticated.
fn unpack(plain: impl Read, db: &Path, file: &Path) -> Result<Manifest> {
    let not_an_export = |detail: String| MoveError::NotAnExport {
        path: file.to_owned(),
        detail,
    };
    let damaged = |e: io::Error| not_an_export(format!("it is damaged or cut short ({e})"));
    let writing = |e: io::Error| Error::folder_io(db.parent().unwrap_or(db), db, e);
    let mut archive = tar::Archive::new(plain);
    let mut manifest: Option<Manifest> = None;
    let mut has_db = false;
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        match name.as_str() {
            MANIFEST_ENTRY if manifest.is_none() => {
                if entry.size() > MANIFEST_MAX {
                    return Err(not_an_export("its manifest is too large".to_owned()).into());
                }
                let mut json = zeroize::Zeroizing::new(Vec::new());
                entry.read_to_end(&mut json).map_err(damaged)?;
                manifest =
                    Some(serde_json::from_slice(&json).map_err(|e| {
                        not_an_export(format!("its manifest cannot be read ({e})"))
                    })?);
            }
            DATABASE_ENTRY if manifest.is_some() && !has_db => {
                store::create_owner_only(db).map_err(writing)?;
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .open(db)
                    .map_err(writing)?;
                io::copy(&mut entry, &mut out).map_err(|e| match e.kind() {
                    // Reading the archive failed, not writing the copy.
                    io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => damaged(e).into(),
                    _ => writing(e),
                })?;
                out.sync_all().map_err(writing)?;
                has_db = true;
            }
            other => {
                return Err(not_an_export(format!("it holds an unexpected entry {other:?}")).into())
            }
        }
    }
    // Drain the stream to its end, so that its final authentication tag is checked too.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(damaged)?;
    match manifest {
        Some(m) if has_db => Ok(m),
        _ => Err(not_an_export("it is incomplete".to_owned()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passphrases_are_refused() {
        for p in ["", "           ", "hunter2", "eleven char"] {
            let e = check_passphrase(&SecretString::from(p)).unwrap_err();
            assert!(matches!(e, Error::Move(MoveError::WeakPassphrase)), "{p}");
        }
        check_passphrase(&SecretString::from("correct horse battery")).unwrap();
        // Characters, not bytes: twelve letters of any script will do.
        check_passphrase(&SecretString::from("éééééééééééé")).unwrap();
    }
}
