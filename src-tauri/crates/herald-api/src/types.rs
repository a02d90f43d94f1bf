//! The inputs and answers of the owner operations that are not the core's own types. Nothing
//! here can carry a token, a link or a pairing code; the SMTP password goes one way only (to
//! the server that keeps it in its keyring) and never comes back.

use herald_core::{AuditEntry, General, Invitation, OwnerAction, Smtp, TlsMode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InvitationId {
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RenewInput {
    pub id: i64,
    /// Like `7d`; the data folder's default when absent or empty.
    pub expires: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecipientsText {
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OverviewQuery {
    /// The owner's time zone, so that "today" is the owner's day.
    pub utc_offset_secs: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyVersion {
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SiteInput {
    pub bind: String,
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestMailTo {
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventsAfter {
    /// The last event id seen; 0 for all.
    pub after: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InvitationDetail {
    pub invitation: Invitation,
    /// What the owner may ask of it now, as the core decides; faces offer these and no others.
    pub offers: Vec<OwnerAction>,
    /// Oldest first.
    pub history: Vec<AuditEntry>,
}

/// The SMTP settings as the owner typed them. `password: None` keeps the one already in the
/// keyring; an empty `port` means the security mode's usual port.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmtpInput {
    pub host: String,
    pub port: Option<u16>,
    pub tls: TlsMode,
    pub user: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub password: Option<Password>,
    pub allow_insecure: bool,
    /// Where bounces go, if not to the sender address.
    #[serde(default)]
    pub bounce_address: Option<String>,
}

/// A password on its way to a keyring: wiped when dropped, never in `Debug`. It crosses the
/// owner API once, inside TLS, on its way to the server's keyring.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Password(pub SecretString);

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmtpView {
    #[serde(flatten)]
    pub settings: Smtp,
    pub password_stored: bool,
    /// Saving removed a password that belonged to another server or user.
    pub password_dropped: bool,
    /// The mail service keeps a copy of everything sent in the account's Sent folder: what
    /// that means and what to use instead.
    pub sent_copy: Option<String>,
}

/// The port a mail server usually offers for each security mode (`TlsMode::default_port`):
/// what an empty port field means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmtpPorts {
    pub starttls: u16,
    pub tls: u16,
    pub none: u16,
}

impl SmtpPorts {
    pub fn usual() -> SmtpPorts {
        SmtpPorts {
            starttls: TlsMode::Starttls.default_port(),
            tls: TlsMode::Tls.default_port(),
            none: TlsMode::None.default_port(),
        }
    }
}

/// Everything the settings screens show about a Herald that is set up. The signing key is
/// asked for apart (`key_status`): a locked keyring is an error with a hint of its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    pub general: General,
    pub smtp: Option<SmtpView>,
    pub smtp_ports: SmtpPorts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnerName {
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnerId {
    pub id: i64,
}

/// A new owner's one-time pairing code, for the person who added them to pass on: the only
/// time it is ever shown.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewOwnerCode {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub expires_at: herald_core::Timestamp,
    /// Where the owner's computer reaches this Herald's owner API.
    pub url: String,
}

impl std::fmt::Debug for NewOwnerCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOwnerCode")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
