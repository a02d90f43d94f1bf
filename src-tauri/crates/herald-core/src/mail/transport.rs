//! The SMTP connection, with lettre: STARTTLS required, implicit TLS, or plaintext (which the
//! settings allow only to this machine or by explicit choice); AUTH with the password from the
//! keyring; a pooled transport reused across a batch; timeouts so a silent server cannot hold
//! the outbox.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
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

/// A configured connection to the owner's mail server.
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
            TlsMode::Starttls => Tls::Required(tls_parameters(&settings.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&settings.host)?),
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
            // 4xx, timeouts, refused or dropped connections. A connection lost after the data
            // was sent may still have delivered: a retry can then mean one duplicate.
            Err(e) => Delivery::Retry {
                reason: one_line(&e.to_string()),
            },
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned()).map_err(|e| MailError::Settings(e.to_string()))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
