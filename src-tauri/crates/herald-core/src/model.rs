//! What an invitation is, as every face sees it. Nothing here can carry a token or a code.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
pub use crate::state::{OwnerAction, Status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The owner who invited, when it was not the data folder's own owner (an owner acting
    /// through the owner API): the name the mail and the page give.
    #[serde(default)]
    pub invited_by: Option<String>,
}

/// Who caused a change, for the audit log.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Actor {
    Owner,
    Invitee,
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an audit line records. The names are what the store keeps (`wrong-code`, ...); the
/// window words each one itself, and TypeScript checks that it words them all.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum AuditAction {
    /// The owner made the invitation (it is queued).
    Created,
    /// The outbox claimed it and is handing it to the mail server.
    Sending,
    /// The mail server took the mail.
    Sent,
    /// The server refused for now; the outbox tries again later.
    Retry,
    /// The server refused for good, or the retries ran out.
    Failed,
    /// Claimed, but its link could not be made (keyring): put back untouched.
    NotSent,
    /// Herald stopped while mailing it; mailed again.
    Interrupted,
    /// A mail outcome arrived after the invitation had been decided or revoked.
    MailedLate,
    /// Its link changed while mailing; the new link is mailed.
    LinkChanged,
    /// The owner asked to mail the same link again.
    Resend,
    /// The owner made a new link.
    Renewed,
    /// The owner withdrew it.
    Revoked,
    /// Its time ran out.
    Expired,
    /// A person first opened the link.
    Opened,
    /// Something that looks like a mail scanner first fetched the link.
    Scanned,
    Accepted,
    Declined,
    /// A wrong code was typed (or a code for an address with no usable code).
    WrongCode,
    /// From an ended link, the invitee asked for a new invitation.
    AskedAgain,
    /// The invitee asked never to be invited again.
    OptedOut,
    /// Its link ended because the link's key was retired.
    LinkEnded,
    /// Its link was re-signed under the current key.
    Reissued,
    /// A signing key version was made.
    KeyCreated,
    /// A signing key version was retired.
    KeyRetired,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of an invitation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: Actor,
    pub action: AuditAction,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub detail: Option<String>,
    /// The owner who acted, for an owner's action through the owner API; `None` for the data
    /// folder's own owner on this computer, and for the invitee's and Herald's own lines.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Filter for listing invitations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListFilter {
    pub status: Option<Status>,
}
