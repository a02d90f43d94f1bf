//! The owner's settings, kept in the store as JSON by section. Secrets are not settings: the
//! SMTP password goes to the keyring.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::validate::{ValidationError, DEFAULT_EXPIRY};

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

    /// The port mail servers usually offer this mode on, for when none is given: 587 for
    /// STARTTLS (submission), 465 for TLS from the start (submissions), 25 for plain SMTP.
    pub const fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
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

/// Where the confirmation site listens, when nothing else says (see [`Site::listen_address`]).
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
    /// Where the confirmation site listens, for the window and `herald serve` alike (a face
    /// may still let its user say otherwise, as `herald serve --bind` does). A public URL on
    /// this machine (`http://127.0.0.1:9000`, `http://localhost:9000`) names the address
    /// itself: invitees' browsers go exactly there. Anything else is reached through a reverse
    /// proxy or tunnel that forwards to [`Site::bind`].
    pub fn listen_address(&self, public_url: &str) -> Result<SocketAddr, ValidationError> {
        if let Some(addr) = loopback_address(public_url) {
            return Ok(addr);
        }
        self.bind
            .parse()
            .map_err(|_| ValidationError::BindAddress(self.bind.clone()))
    }

    /// The trusted proxies as addresses (each was checked when saved).
    pub fn trusted_proxy_ips(&self) -> Vec<std::net::IpAddr> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// The address a plain-http public URL on this machine names, if it is one.
fn loopback_address(public_url: &str) -> Option<SocketAddr> {
    let url = url::Url::parse(public_url).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let ip: IpAddr = match url.host()? {
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => Ipv4Addr::LOCALHOST.into(),
        url::Host::Domain(_) => return None,
        url::Host::Ipv4(ip) => ip.into(),
        url::Host::Ipv6(ip) => ip.into(),
    };
    ip.is_loopback()
        .then(|| SocketAddr::new(ip, url.port_or_known_default().unwrap_or(80)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_listens_where_a_public_url_on_this_machine_says() {
        let site = Site {
            bind: "0.0.0.0:9100".to_owned(),
            trusted_proxies: Vec::new(),
        };
        let at = |url: &str| site.listen_address(url).map(|a| a.to_string());
        assert_eq!(at("http://127.0.0.1:9000").unwrap(), "127.0.0.1:9000");
        assert_eq!(at("http://localhost:9001/").unwrap(), "127.0.0.1:9001");
        assert_eq!(at("http://[::1]:9002").unwrap(), "[::1]:9002");
        assert_eq!(at("http://localhost").unwrap(), "127.0.0.1:80");
        // Anything else goes through a proxy or tunnel to the bind address.
        assert_eq!(at("https://invite.example.com").unwrap(), "0.0.0.0:9100");
        assert_eq!(at("https://127.0.0.1:9000").unwrap(), "0.0.0.0:9100");
        assert_eq!(at("http://10.0.0.1:9000").unwrap(), "0.0.0.0:9100");
        let broken = Site {
            bind: "nowhere".to_owned(),
            trusted_proxies: Vec::new(),
        };
        assert_eq!(
            broken.listen_address("https://invite.example.com"),
            Err(ValidationError::BindAddress("nowhere".to_owned()))
        );
        assert!(Site::default().listen_address("https://x.example").is_ok());
    }
}
