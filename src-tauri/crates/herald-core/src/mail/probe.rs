//! The test mail of the setup: proves that the SMTP settings and the password in the keyring
//! work, and shows the server's own answer, without inventing an invitation (no link, no code).

use serde::{Deserialize, Serialize};

use super::compose::{new_message_id, test_message};
use super::transport::{MailError, Mailer};
use crate::error::ErrorKind;
use crate::herald::Herald;
use crate::hint::Hint;
use crate::outbox::Delivery;
use crate::validate::Email;

/// What the server said to the test mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestMail {
    /// `host:port`
    pub server: String,
    pub to: String,
    pub message_id: String,
    /// The server's answer, e.g. `250 2.0.0 Ok: queued as 4Fz9`.
    pub reply: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TestMailError {
    #[error(transparent)]
    Core(#[from] crate::Error),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("the SMTP server did not take the test message: {reason}")]
    Refused { reason: String, hint: Option<Hint> },
}

impl TestMailError {
    /// How a face should treat it, as for the errors it wraps; a refusal is the server's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TestMailError::Core(e) => e.kind(),
            TestMailError::Mail(e) => e.kind(),
            TestMailError::Refused { .. } => ErrorKind::Environment,
        }
    }

    /// The way forward, for each face to word.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            TestMailError::Core(e) => e.hint(),
            TestMailError::Mail(e) => e.hint(),
            TestMailError::Refused { hint, .. } => *hint,
        }
    }
}

impl Herald {
    /// Sends one plain test message to `to` with the stored SMTP settings.
    pub async fn send_test_mail(&self, to: &str) -> Result<TestMail, TestMailError> {
        let to = Email::parse(to).map_err(crate::Error::from)?;
        let smtp = self.smtp()?.ok_or(MailError::NotConfigured)?;
        let general = self.general()?;
        let message_id = new_message_id(&general.from);
        let message = test_message(&general, to.as_str(), &message_id)?;
        let password = self.keyring().smtp_password().map_err(crate::Error::from)?;
        let mailer = Mailer::new(&smtp, &general.from, password)?;
        let delivery = mailer.send(&message).await;
        mailer.close_idle().await;
        match delivery {
            Delivery::Sent { message_id, reply } => Ok(TestMail {
                server: format!("{}:{}", smtp.host, smtp.port),
                to: to.into_string(),
                message_id,
                reply,
            }),
            Delivery::Retry { reason } => Err(TestMailError::Refused { reason, hint: None }),
            Delivery::Failed { reason, hint } => Err(TestMailError::Refused { reason, hint }),
        }
    }
}
