//! The SMTP connection, with lettre: STARTTLS required, implicit TLS, or plaintext (which the
//! settings allow only to this machine or by explicit choice); AUTH with the password from the
//! keyring; a pooled transport reused across a batch; timeouts so a silent server cannot hold
//! the outbox.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use zeroize::Zeroizing;

use crate::outbox::Delivery;
use crate::settings::{Smtp, TlsMode};

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(
        "SMTP is not set up yet: run `herald smtp set --host HOST [--user USER --password-stdin]`"
    )]
    NotConfigured,
    #[error("the SMTP settings cannot be used: {0}")]
    Settings(String),
    #[error("the invitation mail could not be written: {0}")]
    Template(String),
    #[error("{0:?} cannot be used as a mail address")]
    Address(String),
    #[error("the invitation mail could not be assembled: {0}")]
    Build(String),
}

/// A configured connection to the owner's mail server. Clones share one connection pool.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: Smtp,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Mailer {
    /// Must be called, and the mailer dropped, inside a Tokio runtime: the connection pool
    /// spawns its housekeeping there.
    pub fn new(settings: &Smtp, password: Option<Zeroizing<String>>) -> Result<Mailer, MailError> {
        let tls = match settings.tls {
            TlsMode::Starttls => Tls::Required(tls_parameters(settings)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(settings)?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let (Some(user), Some(password)) = (&settings.user, password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
        }
        Ok(Mailer {
            transport: builder.build(),
            settings: settings.clone(),
        })
    }

    pub fn settings(&self) -> &Smtp {
        &self.settings
    }

    /// Sends one message and says what the server made of it, in the server's own words.
    pub async fn send(&self, message: &Message) -> Delivery {
        match self.transport.send(message.clone()).await {
            Ok(_) => Delivery::Sent {
                message_id: message
                    .headers()
                    .get_raw("Message-ID")
                    .unwrap_or_default()
                    .to_owned(),
            },
            // 5xx (including 535, a wrong password): the server will not change its mind.
            Err(e) if e.is_permanent() => Delivery::Failed {
                reason: one_line(&e.to_string()),
            },
            // No STARTTLS on offer, or a certificate that does not verify: the settings or the
            // server must change first, and retrying would only hide that.
            // lettre reports a certificate that does not verify as a connection error; its
            // text is the only way to tell it from a network failure.
            Err(e) if e.is_client() || e.is_tls() || e.to_string().contains("certificate") => {
                Delivery::Failed {
                    reason: one_line(&format!(
                        "{e} (check `herald smtp set`: --tls, the port, --ca-file)"
                    )),
                }
            }
            // 4xx, timeouts, refused or dropped connections. A connection lost after the data
            // was sent may still have delivered: a retry can then mean one duplicate.
            Err(e) => Delivery::Retry {
                reason: one_line(&e.to_string()),
            },
        }
    }
}

/// Certificates are always verified against the host name; a CA file only adds a root.
fn tls_parameters(settings: &Smtp) -> Result<TlsParameters, MailError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| MailError::Settings(format!("cannot read the CA file {path}: {e}")))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            MailError::Settings(format!("the CA file {path} is not a PEM certificate: {e}"))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| MailError::Settings(e.to_string()))
}

/// Checks a CA file when it is configured, so a wrong path fails `smtp set`, not a send.
/// Returns its absolute path, which is what the settings keep.
pub fn check_ca_file(path: &std::path::Path) -> Result<String, crate::validate::ValidationError> {
    let shown = path.display().to_string();
    let err = |reason: String| crate::validate::ValidationError::CaFile {
        path: shown.clone(),
        reason,
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    let pem = std::fs::read(&absolute).map_err(|e| err(e.to_string()))?;
    Certificate::from_pem(&pem).map_err(|_| err("it holds no PEM certificate".to_owned()))?;
    Ok(absolute.display().to_string())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
