//! The OS keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows.
//! It holds the HMAC key versions, the SMTP password, the owner API's TLS key and the key that
//! seals waiting pairing codes ([`crate::pairing::PairingKey`]), and on an owner's computer
//! the credentials it pairs with always-on Heralds; nothing else, and there is no plaintext
//! fallback: without a keyring Herald refuses to mint links and says how to fix it.
//!
//! Entries are named `<install id>/hmac-key/v<N>`, `<install id>/smtp-password`,
//! `<install id>/owner-api-tls-key` and `<install id>/pairing-key` under one service name, so
//! that two data folders never share or overwrite each other's keys. An owner credential is
//! named `owner-credential/<server>` ([`OwnerCredentials`]): it belongs to this user on this
//! computer and to the server it pairs with, not to any local data folder.
//!
//! [`Keyring`] names the entries and reads the keys; where the entries live is a
//! [`SecretStore`]: the OS keyring ([`OsKeyring`], what [`crate::OpenOptions::new`] always
//! picks) or, for tests and embedding, [`MemoryKeyring`].

mod memory;

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::pairing::{Credential, PairingKey};
use crate::token::HmacKey;

pub use memory::{MemoryKeyring, MemoryKeyringFailure};

pub const DEFAULT_SERVICE: &str = "app.herald.desktop";
/// Overrides the service name, so tests and parallel installs stay apart.
pub const SERVICE_ENV: &str = "HERALD_KEYRING_SERVICE";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("the OS keyring cannot be reached ({detail}). {}", hint_unreachable())]
    Unreachable { detail: String },
    #[error("the OS keyring is locked ({detail}). {}", hint_locked())]
    Locked { detail: String },
    #[error("the OS keyring refused to store or read {what}: {detail}")]
    Refused { what: String, detail: String },
    #[error("the keyring entry {what} does not hold a Herald key (was it edited by hand?)")]
    Corrupt { what: String },
}

fn hint_unreachable() -> &'static str {
    if cfg!(target_os = "macos") {
        "Herald keeps its keys in your login Keychain: run it from a logged-in macOS user session"
    } else if cfg!(windows) {
        "Herald keeps its keys in Windows Credential Manager: run it as a signed-in user with a profile"
    } else {
        "Herald keeps its keys in the Secret Service: start your desktop's keyring (GNOME Keyring, or KeePassXC/KWallet with Secret Service enabled)"
    }
}

fn hint_locked() -> &'static str {
    if cfg!(target_os = "macos") {
        "Unlock the login keychain in Keychain Access, allow Herald when asked, and try again"
    } else if cfg!(windows) {
        "Sign in to Windows with your own account and try again"
    } else {
        "Unlock it (log in to the desktop, or open Passwords and Keys) and try again"
    }
}

/// Where the keyring is the Secret Service, a machine without a desktop session (a server)
/// needs one of its own; the faces that run there say how.
const SECRET_SERVICE: bool = !cfg!(any(target_os = "macos", windows));

impl KeyringError {
    /// The way forward, for each face to word; `None` when the message says all there is.
    pub fn hint(&self) -> Option<crate::Hint> {
        use crate::Hint;
        match self {
            KeyringError::Unreachable { .. } if SECRET_SERVICE => Some(Hint::KeyringOnServer),
            KeyringError::Locked { .. } if SECRET_SERVICE => Some(Hint::UnlockKeyringOnServer),
            KeyringError::Corrupt { .. } => Some(Hint::KeyReissue),
            _ => None,
        }
    }
}

/// Where secrets are kept: three calls on text entries named by service and account, which
/// is all Herald asks of a keyring. [`Keyring`] decides the names and what the text means.
///
/// Implementations report failures as the [`KeyringError`] that says what to do: `Locked`,
/// `Unreachable` (no keyring to talk to), `Refused`, or `Corrupt` for an entry that is not
/// text. A missing entry is not an error: `get` answers `None` and `delete` succeeds.
pub trait SecretStore: std::fmt::Debug + Send + Sync {
    /// The text stored under `account`, or `None` when there is no such entry.
    fn get(&self, service: &str, account: &str) -> Result<Option<SecretString>, KeyringError>;
    /// Stores `secret` under `account`, replacing what was there.
    fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), KeyringError>;
    /// Removes the entry; removing one that does not exist succeeds.
    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError>;
}

/// The OS keyring, through the `keyring` crate: Secret Service, Keychain, Credential Manager.
/// What every Herald outside of tests uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeyring;

impl OsKeyring {
    /// The OS keyring as the store [`crate::OpenOptions`] takes.
    pub fn shared() -> Arc<dyn SecretStore> {
        Arc::new(OsKeyring)
    }

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(service, account).map_err(|e| classify(e, account))
    }
}

impl SecretStore for OsKeyring {
    fn get(&self, service: &str, account: &str) -> Result<Option<SecretString>, KeyringError> {
        match OsKeyring::entry(service, account)?.get_password() {
            Ok(s) => Ok(Some(SecretString::from(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(keyring::Error::BadEncoding(_)) => Err(KeyringError::Corrupt {
                what: account.to_owned(),
            }),
            Err(e) => Err(classify(e, account)),
        }
    }

    fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), KeyringError> {
        OsKeyring::entry(service, account)?
            .set_password(secret)
            .map_err(|e| classify(e, account))
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        match OsKeyring::entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(classify(e, account)),
        }
    }
}

/// One of the entries an install keeps in the keyring, by what it holds: what `herald export`
/// carries to another computer, and the only way code outside this module names an entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub(crate) enum Entry {
    HmacKey { version: u32 },
    SmtpPassword,
    OwnerApiTlsKey,
    PairingKey,
}

impl Entry {
    /// What it is, in a sentence about a file that carries it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Entry::HmacKey { version } => format!("signing key v{version}"),
            Entry::SmtpPassword => "SMTP password".to_owned(),
            Entry::OwnerApiTlsKey => "owner API key".to_owned(),
            Entry::PairingKey => "pairing key".to_owned(),
        }
    }
}

/// One Herald install's view of the keyring.
#[derive(Debug, Clone)]
pub struct Keyring {
    store: Arc<dyn SecretStore>,
    service: String,
    install_id: String,
}

impl Keyring {
    /// The entries of install `install_id` under `service`, kept in `store`.
    pub fn new(
        store: Arc<dyn SecretStore>,
        service: impl Into<String>,
        install_id: impl Into<String>,
    ) -> Keyring {
        Keyring {
            store,
            service: service.into(),
            install_id: install_id.into(),
        }
    }

    /// The service name from `HERALD_KEYRING_SERVICE`, or Herald's own.
    pub fn service_from_env() -> String {
        std::env::var(SERVICE_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
    }

    /// The id that names this install's entries (not a secret).
    pub fn install_id(&self) -> &str {
        &self.install_id
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Where the entries are kept.
    pub fn store(&self) -> &Arc<dyn SecretStore> {
        &self.store
    }

    fn account_for_key(&self, version: u32) -> String {
        format!("{}/hmac-key/v{version}", self.install_id)
    }

    fn account_for_smtp(&self) -> String {
        format!("{}/smtp-password", self.install_id)
    }

    fn account_for_owner_api_tls(&self) -> String {
        format!("{}/owner-api-tls-key", self.install_id)
    }

    fn account_for_pairing_key(&self) -> String {
        format!("{}/pairing-key", self.install_id)
    }

    fn account(&self, entry: &Entry) -> String {
        match entry {
            Entry::HmacKey { version } => self.account_for_key(*version),
            Entry::SmtpPassword => self.account_for_smtp(),
            Entry::OwnerApiTlsKey => self.account_for_owner_api_tls(),
            Entry::PairingKey => self.account_for_pairing_key(),
        }
    }

    /// The text of `entry`, as it is kept (for carrying it elsewhere).
    pub(crate) fn read_entry(&self, entry: &Entry) -> Result<Option<SecretString>, KeyringError> {
        self.read(&self.account(entry))
    }

    pub(crate) fn write_entry(&self, entry: &Entry, text: &str) -> Result<(), KeyringError> {
        self.write(&self.account(entry), text)
    }

    pub(crate) fn delete_entry(&self, entry: &Entry) -> Result<(), KeyringError> {
        self.delete(&self.account(entry))
    }

    fn read(&self, account: &str) -> Result<Option<SecretString>, KeyringError> {
        self.store.get(&self.service, account)
    }

    fn write(&self, account: &str, secret: &str) -> Result<(), KeyringError> {
        self.store.set(&self.service, account, secret)
    }

    fn delete(&self, account: &str) -> Result<(), KeyringError> {
        self.store.delete(&self.service, account)
    }

    pub fn get_key(&self, version: u32) -> Result<Option<HmacKey>, KeyringError> {
        let account = self.account_for_key(version);
        match self.read(&account)? {
            None => Ok(None),
            Some(text) => HmacKey::from_keyring_text(text.expose_secret())
                .map(Some)
                .ok_or(KeyringError::Corrupt { what: account }),
        }
    }

    pub fn put_key(&self, version: u32, key: &HmacKey) -> Result<(), KeyringError> {
        self.write(&self.account_for_key(version), &key.to_keyring_text())
    }

    pub fn delete_key(&self, version: u32) -> Result<(), KeyringError> {
        self.delete(&self.account_for_key(version))
    }

    pub fn smtp_password(&self) -> Result<Option<SecretString>, KeyringError> {
        self.read(&self.account_for_smtp())
    }

    pub fn set_smtp_password(&self, password: &SecretString) -> Result<(), KeyringError> {
        self.write(&self.account_for_smtp(), password.expose_secret())
    }

    pub fn delete_smtp_password(&self) -> Result<(), KeyringError> {
        self.delete(&self.account_for_smtp())
    }

    /// The owner API's TLS private key (PKCS#8 PEM), which owners' computers pin by its public
    /// key; see [`crate::owner_tls::ServerIdentity`], the only reader.
    pub fn owner_api_tls_key(&self) -> Result<Option<SecretString>, KeyringError> {
        self.read(&self.account_for_owner_api_tls())
    }

    pub fn set_owner_api_tls_key(&self, pkcs8_pem: &SecretString) -> Result<(), KeyringError> {
        self.write(&self.account_for_owner_api_tls(), pkcs8_pem.expose_secret())
    }

    /// Forgets the owner API's key: the next start makes a new one, and every owner pairs again.
    pub fn delete_owner_api_tls_key(&self) -> Result<(), KeyringError> {
        self.delete(&self.account_for_owner_api_tls())
    }

    /// The key that seals waiting pairing codes, made by the first `add_owner`.
    pub fn pairing_key(&self) -> Result<Option<PairingKey>, KeyringError> {
        let account = self.account_for_pairing_key();
        match self.read(&account)? {
            None => Ok(None),
            Some(text) => PairingKey::from_keyring_text(text.expose_secret())
                .map(Some)
                .ok_or(KeyringError::Corrupt { what: account }),
        }
    }

    pub fn put_pairing_key(&self, key: &PairingKey) -> Result<(), KeyringError> {
        self.write(&self.account_for_pairing_key(), &key.to_keyring_text())
    }

    /// Removing it makes every waiting code unusable (each fails asking for a new one).
    pub fn delete_pairing_key(&self) -> Result<(), KeyringError> {
        self.delete(&self.account_for_pairing_key())
    }
}

/// On an owner's computer: the credential for each always-on Herald it is paired with, by
/// the server's address. Only the keyring ever holds one.
#[derive(Debug, Clone)]
pub struct OwnerCredentials {
    store: Arc<dyn SecretStore>,
    service: String,
}

impl OwnerCredentials {
    pub fn new(store: Arc<dyn SecretStore>, service: impl Into<String>) -> OwnerCredentials {
        OwnerCredentials {
            store,
            service: service.into(),
        }
    }

    /// `https://Herald.Example:8751/` and `herald.example:8751` name the same entry.
    fn account(server: &str) -> String {
        let s = server.trim();
        let s = s.strip_prefix("https://").unwrap_or(s);
        let s = s.trim_end_matches('/');
        format!("owner-credential/{}", s.to_ascii_lowercase())
    }

    /// The credential for `server`, if this computer has paired with it.
    pub fn get(&self, server: &str) -> Result<Option<Credential>, KeyringError> {
        let account = OwnerCredentials::account(server);
        match self.store.get(&self.service, &account)? {
            None => Ok(None),
            Some(text) => Credential::parse(text.expose_secret())
                .map(Some)
                .ok_or(KeyringError::Corrupt { what: account }),
        }
    }

    pub fn set(&self, server: &str, credential: &Credential) -> Result<(), KeyringError> {
        self.store.set(
            &self.service,
            &OwnerCredentials::account(server),
            credential.expose().expose_secret(),
        )
    }

    pub fn delete(&self, server: &str) -> Result<(), KeyringError> {
        self.store
            .delete(&self.service, &OwnerCredentials::account(server))
    }
}

/// Turns the crate's errors into ones that say what to do. Note: a locked gnome-keyring with
/// no display to prompt on reports `NoStorageAccess` ("no result found"), which is "locked".
fn classify(e: keyring::Error, account: &str) -> KeyringError {
    match e {
        keyring::Error::NoStorageAccess(inner) => KeyringError::Locked {
            detail: one_line(&inner.to_string()),
        },
        keyring::Error::PlatformFailure(inner) => KeyringError::Unreachable {
            detail: one_line(&inner.to_string()),
        },
        other => KeyringError::Refused {
            what: account.to_owned(),
            detail: one_line(&other.to_string()),
        },
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
