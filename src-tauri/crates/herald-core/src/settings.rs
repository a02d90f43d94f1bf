//! The owner's settings, kept in the store as JSON by section. Secrets are not settings: the
//! SMTP password goes to the keyring.

use serde::{Deserialize, Serialize};

use crate::validate::DEFAULT_EXPIRY;

/// Who invites, from where, and where invitees go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct General {
    pub team: String,
    pub owner_name: String,
    /// The sender address of every invitation.
    pub from: String,
    /// The confirmation site's address as invitees reach it; links are built from it.
    pub public_url: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default = "default_expiry_secs")]
    pub default_expiry_secs: u64,
}

fn default_expiry_secs() -> u64 {
    DEFAULT_EXPIRY.as_secs()
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (never skipped).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only to this machine, or with an explicit insecure choice.
    None,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    /// Set only when the owner explicitly chose plaintext to a host off this machine.
    #[serde(default)]
    pub allow_insecure: bool,
    /// An extra root certificate (PEM file) to trust, for a server with a private CA. The
    /// usual public roots are always trusted; this never turns verification off.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Where bounces go (the envelope sender, `MAIL FROM`), when not to the sender address:
    /// a mailbox for delivery reports that nobody reads as their own.
    #[serde(default)]
    pub bounce_address: Option<String>,
}

/// Where the confirmation site listens, when nothing else says (`herald serve --bind`, or a
/// public URL on this machine, which names the address itself).
pub const DEFAULT_BIND: &str = "127.0.0.1:8750";

/// The confirmation site's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Site {
    /// `IP:port` to listen on; a reverse proxy or tunnel forwards invitees here.
    pub bind: String,
    /// Addresses of the reverse proxies or tunnels in front of the site, whose
    /// `X-Forwarded-For` names the real invitee. Without them every invitee arriving through
    /// a tunnel would share the tunnel's one rate limit.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

impl Default for Site {
    fn default() -> Site {
        Site {
            bind: DEFAULT_BIND.to_owned(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Site {
    /// The trusted proxies as addresses (each was checked when saved).
    pub fn trusted_proxy_ips(&self) -> Vec<std::net::IpAddr> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// How often one address may be mailed: politeness, and protection against a mistake or a
/// stolen session turning Herald into a spam cannon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Limits {
    pub per_day: u32,
    pub per_month: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_day: 3,
            per_month: 5,
        }
    }
}
