//! The one error every owner operation returns, wherever it ran: the core's kind, message and
//! hint, carried unchanged over the owner API so that each face words the hint in its own terms
//! (the CLI names a command, the window a screen) exactly as it would for a local error. What
//! only a remote call can meet (no answer, no access, another protocol) has a [`Reason`].

use herald_core::{ErrorKind, Hint};
use serde::{Deserialize, Serialize};

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default)]
    pub hint: Option<Hint>,
    /// Set for what only a remote call can meet.
    #[serde(default)]
    pub reason: Option<Reason>,
}

/// What went wrong between a client and its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The server did not answer (down, asleep, another address).
    Unreachable,
    /// The server answered, but not as a Herald server does.
    NotHerald,
    /// The credential was refused: never paired, or this owner was removed.
    NotAuthorized,
    /// Client and server speak different protocol versions.
    Version,
    /// Too many requests for now.
    TooMany,
}

impl ApiError {
    pub fn request(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorKind::Request,
            message: message.into(),
            hint: None,
            reason: None,
        }
    }

    pub fn environment(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorKind::Environment,
            message: message.into(),
            hint: None,
            reason: None,
        }
    }

    pub fn with_reason(mut self, reason: Reason) -> ApiError {
        self.reason = Some(reason);
        self
    }

    pub fn with_hint(mut self, hint: Hint) -> ApiError {
        self.hint = Some(hint);
        self
    }

    pub fn unknown_operation(name: &str) -> ApiError {
        ApiError::request(format!("there is no owner operation named {name:?}"))
    }

    /// Input that does not fit the operation: a client bug or a hand-made request.
    pub fn bad_input(name: &str, e: &serde_json::Error) -> ApiError {
        ApiError::request(format!("the input of {name} is not valid: {e}"))
    }
}

impl From<herald_core::Error> for ApiError {
    fn from(e: herald_core::Error) -> ApiError {
        ApiError {
            kind: e.kind(),
            message: e.to_string(),
            hint: e.hint(),
            reason: None,
        }
    }
}

impl From<herald_core::mail::TestMailError> for ApiError {
    fn from(e: herald_core::mail::TestMailError) -> ApiError {
        ApiError {
            kind: e.kind(),
            message: e.to_string(),
            hint: e.hint(),
            reason: None,
        }
    }
}
