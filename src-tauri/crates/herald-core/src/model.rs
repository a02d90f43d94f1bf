//! What an invitation is, as every face sees it. Nothing here can carry a token or a code.

use serde::Serialize;

use crate::clock::Timestamp;
pub use crate::state::Status;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Invitation {
    pub id: i64,
    /// Normalised: domain in lower-case ASCII (punycode), local part lower-cased.
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub note: Option<String>,
    pub status: Status,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The signing key version of the current link; lets `key status` count what a retirement
    /// would end. Not a secret.
    pub key_version: u32,
    /// When a person first opened the link (not a decision: opening changes nothing).
    pub opened_at: Option<Timestamp>,
    /// When something that looks like a mail scanner first fetched the link.
    pub scanned_at: Option<Timestamp>,
}

/// Who caused a change, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Owner,
    Invitee,
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Owner => "owner",
            Actor::Invitee => "invitee",
            Actor::System => "system",
        }
    }

    pub(crate) fn parse(s: &str) -> Actor {
        match s {
            "owner" => Actor::Owner,
            "invitee" => Actor::Invitee,
            _ => Actor::System,
        }
    }
}

/// One line of an invitation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: Actor,
    /// What happened, e.g. `created`, `resend`, `renewed`, `revoked`, `expired`.
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub detail: Option<String>,
}

/// Filter for listing invitations.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
}
