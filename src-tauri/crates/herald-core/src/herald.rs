//! The one API every face uses: open a data folder, set it up, read and change settings. The
//! invitation, key and link operations live beside it (`invitations.rs`, `keys.rs`,
//! `links.rs`) as further `impl Herald` blocks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secrets::{Keyring, OsKeyring, SecretStore};
use crate::settings::{General, Smtp, TlsMode};
use crate::store::settings::{self as settings_table, Section};
use crate::store::{meta, Store, Tx};
use crate::token::HmacKey;
use crate::validate::{self, Email, ValidationError, MAX_NAME_LEN, MAX_TEAM_LEN};

/// Where and how to open Herald.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub data_dir: PathBuf,
    /// Where the signing keys and the SMTP password are kept: the OS keyring, which is what
    /// [`OpenOptions::new`] always picks. Tests (and programs embedding Herald) may pass a
    /// [`crate::secrets::MemoryKeyring`] instead.
    pub keyring: Arc<dyn SecretStore>,
    /// The keyring service name; see [`Keyring::service_from_env`].
    pub keyring_service: String,
    pub clock: Clock,
}

impl OpenOptions {
    /// The given folder, or the OS app-data folder; the OS keyring, under the service name
    /// from the environment.
    pub fn new(data_dir: Option<PathBuf>) -> Result<OpenOptions> {
        let data_dir = match data_dir {
            Some(dir) => dir,
            None => Herald::default_data_dir()?,
        };
        Ok(OpenOptions {
            data_dir,
            keyring: OsKeyring::shared(),
            keyring_service: Keyring::service_from_env(),
            clock: Clock::System,
        })
    }
}

/// What `herald init` asks for. Raw user input: validated before anything is written.
#[derive(Debug, Clone, Default)]
pub struct InitParams {
    pub team: String,
    pub owner_name: String,
    pub from: String,
    pub public_url: String,
    pub reply_to: Option<String>,
    /// Like `7d`; Herald's default when absent.
    pub default_expiry: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    Created,
    Updated,
}

/// What `herald smtp set` asks for. Raw user input; `Debug` shows no password.
#[derive(Debug, Clone)]
pub struct SmtpParams {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    /// `None` keeps the password already in the keyring (if there is a user).
    pub password: Option<SecretString>,
    pub allow_insecure: bool,
    /// A PEM file with an extra root certificate to trust.
    pub ca_file: Option<PathBuf>,
    /// The envelope sender (where bounces go); the sender address when absent.
    pub bounce_address: Option<String>,
}

/// What saving the SMTP settings did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSaved {
    pub settings: Smtp,
    /// The stored password was removed because it belonged to another server or user and no
    /// new one was given: a password is only ever handed to the server it was typed for.
    pub password_dropped: bool,
    /// The server keeps a copy of what it sends in the account's Sent folder.
    pub sent_copy: Option<crate::mail::SentCopy>,
}

/// An open data folder: its store, its keyring entries, and the keys read so far.
pub struct Herald {
    pub(crate) data_dir: PathBuf,
    pub(crate) store: Store,
    pub(crate) keyring: Keyring,
    /// Keys already read from the keyring and checked against their fingerprints; the keyring
    /// is slow (a D-Bus round trip) and verification must be fast.
    keys: Mutex<HashMap<u32, HmacKey>>,
    pub(crate) clock: Clock,
}

impl std::fmt::Debug for Herald {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Herald")
            .field("data_dir", &self.data_dir)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl Herald {
    /// The OS app-data folder: `~/.local/share/herald` on Linux, `~/Library/Application
    /// Support/app.herald.Herald` on macOS, `%APPDATA%\herald\Herald\data` on Windows.
    pub fn default_data_dir() -> Result<PathBuf> {
        directories::ProjectDirs::from("app", "herald", "Herald")
            .map(|d| d.data_dir().to_owned())
            .ok_or(Error::NoDefaultDataFolder)
    }

    /// Opens a data folder that `init` has set up. Writes nothing if it has not been.
    pub fn open(opts: OpenOptions) -> Result<Herald> {
        let store = Store::open(&opts.data_dir, false)?;
        let install_id = store
            .read(meta::install_id)?
            .ok_or_else(|| Error::NotInitialised {
                dir: opts.data_dir.clone(),
            })?;
        Ok(Herald::assemble(opts, store, &install_id))
    }

    /// Sets up a data folder, or updates the settings of one already set up. Everything is
    /// validated first: bad input creates nothing.
    pub fn init(opts: OpenOptions, params: &InitParams) -> Result<(Herald, InitOutcome)> {
        let general = validate_general(params)?;
        let store = Store::open(&opts.data_dir, true)?;
        let (install_id, outcome) = store.write(|tx| {
            let existing = meta::install_id(tx)?;
            let (id, outcome) = match existing {
                Some(id) => (id, InitOutcome::Updated),
                None => {
                    let id = new_install_id()?;
                    meta::set_install_id(tx, &id)?;
                    (id, InitOutcome::Created)
                }
            };
            let json = serde_json::to_string(&general).map_err(json_err)?;
            settings_table::set(tx, Section::General, &json)?;
            Ok((id, outcome))
        })?;
        Ok((Herald::assemble(opts, store, &install_id), outcome))
    }

    fn assemble(opts: OpenOptions, store: Store, install_id: &str) -> Herald {
        Herald {
            data_dir: opts.data_dir,
            store,
            keyring: Keyring::new(opts.keyring, opts.keyring_service, install_id),
            keys: Mutex::new(HashMap::new()),
            clock: opts.clock,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn database_path(&self) -> &Path {
        self.store.path()
    }

    /// See [`Store::watch_commits`].
    pub fn watch_commits(&self) -> Result<crate::store::CommitWatch> {
        self.store.watch_commits()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A public tag for this install, which the confirmation site's `/healthz` shows so the
    /// window can tell that the site at the public URL is its own and not another Herald's.
    /// A hash, so it does not reveal the id that names the keyring entries.
    pub fn instance_tag(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("herald-instance:{}", self.keyring.install_id()));
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// This install's view of the keyring (the service and the install id name its entries).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub(crate) fn key_cache(&self) -> MutexGuard<'_, HashMap<u32, HmacKey>> {
        // The map holds only immutable keys: a panic elsewhere cannot leave it inconsistent.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn general(&self) -> Result<General> {
        self.store.read(|tx| self.general_in(tx))
    }

    /// The general settings as a transaction sees them.
    pub(crate) fn general_in(&self, tx: &Tx<'_>) -> Result<General> {
        let json =
            settings_table::get(tx, Section::General)?.ok_or_else(|| Error::NotInitialised {
                dir: self.data_dir.clone(),
            })?;
        serde_json::from_str(&json).map_err(|e| self.corrupt_setting(Section::General, e))
    }

    /// The SMTP settings, if `smtp set` has been run.
    pub fn smtp(&self) -> Result<Option<Smtp>> {
        let json = self
            .store
            .read(|tx| settings_table::get(tx, Section::Smtp))?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| self.corrupt_setting(Section::Smtp, e)))
            .transpose()
    }

    /// Whether the keyring holds an SMTP password for this install.
    pub fn has_smtp_password(&self) -> Result<bool> {
        Ok(self.keyring.smtp_password()?.is_some())
    }

    /// Stores the SMTP settings; the password goes to the keyring and nowhere else. A stored
    /// password stays only while host, port and user stay the same: it is never handed to a
    /// server other than the one it was given for.
    pub fn set_smtp(&self, params: &SmtpParams) -> Result<SmtpSaved> {
        let host = validate::smtp_host(&params.host)?;
        if params.port == 0 {
            return Err(ValidationError::SmtpPort.into());
        }
        let loopback = validate::is_loopback_host(&host);
        if params.tls == TlsMode::None && !params.allow_insecure && !loopback {
            return Err(ValidationError::InsecureSmtp { host }.into());
        }
        let user = validate::optional_text("SMTP user name", params.user.as_deref(), 254)?;
        if let Some(p) = &params.password {
            if p.expose_secret().is_empty() {
                return Err(ValidationError::EmptyPassword.into());
            }
            if user.is_none() {
                return Err(ValidationError::PasswordWithoutUser.into());
            }
        }
        let ca_file = params
            .ca_file
            .as_deref()
            .map(crate::mail::check_ca_file)
            .transpose()?;
        let bounce_address = params
            .bounce_address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(Email::parse)
            .transpose()?
            .map(Email::into_string);
        let smtp = Smtp {
            ca_file,
            // Recorded only when it matters, so the settings say plainly that the owner chose it.
            allow_insecure: params.allow_insecure && params.tls == TlsMode::None && !loopback,
            host,
            port: params.port,
            tls: params.tls,
            user,
            bounce_address,
        };
        let before = self.smtp()?;
        let same_account = before.as_ref().is_some_and(|b| {
            b.host.eq_ignore_ascii_case(&smtp.host) && b.port == smtp.port && b.user == smtp.user
        });
        // The keyring first: if it refuses, the settings stay as they were.
        let mut password_dropped = false;
        match (&smtp.user, &params.password) {
            (Some(_), Some(p)) => self.keyring.set_smtp_password(p)?,
            (Some(_), None) if same_account => {}
            (Some(_), None) => {
                password_dropped = self.keyring.smtp_password()?.is_some();
                self.keyring.delete_smtp_password()?;
            }
            (None, _) => self.keyring.delete_smtp_password()?,
        }
        let json = serde_json::to_string(&smtp).map_err(json_err)?;
        self.store
            .write(|tx| settings_table::set(tx, Section::Smtp, &json))?;
        let sent_copy = crate::mail::sent_copy(&self.general()?.from, &smtp.host);
        Ok(SmtpSaved {
            settings: smtp,
            password_dropped,
            sent_copy,
        })
    }

    fn corrupt_setting(&self, section: Section, e: serde_json::Error) -> Error {
        Error::DatabaseContent {
            path: self.store.path().to_owned(),
            detail: format!("the {} settings are unreadable ({e})", section.as_str()),
        }
    }
}

fn validate_general(p: &InitParams) -> Result<General> {
    let default_expiry_secs = match &p.default_expiry {
        Some(e) => validate::expiry(e)?.as_secs(),
        None => validate::DEFAULT_EXPIRY.as_secs(),
    };
    Ok(General {
        team: validate::text("team name", &p.team, MAX_TEAM_LEN)?,
        owner_name: validate::text("owner name", &p.owner_name, MAX_NAME_LEN)?,
        from: Email::parse(&p.from)?.into_string(),
        public_url: validate::public_url(&p.public_url)?,
        reply_to: p
            .reply_to
            .as_deref()
            .map(Email::parse)
            .transpose()?
            .map(Email::into_string),
        default_expiry_secs,
    })
}

/// 64 random bits in hex: names this install's keyring entries.
pub(crate) fn new_install_id() -> Result<String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn json_err(e: serde_json::Error) -> Error {
    // Serialising our own plain structs cannot fail; if it ever does, say so rather than panic.
    Error::DatabaseContent {
        path: PathBuf::new(),
        detail: format!("settings could not be encoded ({e})"),
    }
}
