//! The window's own request and answer types: what crosses the IPC bridge besides the core's
//! types. TypeScript definitions of all of them are generated into `ui/src/bindings/` (see
//! `bindings.rs`), so the UI and Rust cannot drift apart unnoticed. Nothing here can carry a
//! token, a code or a link.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use herald_api::types::{SmtpPorts, SmtpView};
use herald_core::mail::OutboxEvent;
use herald_core::{General, KeyStatus, SiteEvent};

#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    /// Where Herald keeps its data; shown, never used by the UI to open files.
    pub data_dir: String,
}

/// Where the first-run setup stands, step by step.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SetupStatus {
    /// `init` has run: team, owner, sender and public URL are set.
    pub general: Option<General>,
    pub smtp: Option<SmtpView>,
    /// The port each security mode uses when the form leaves it empty.
    pub smtp_ports: SmtpPorts,
    /// The current signing key, when the keyring holds it.
    pub key: Option<KeyStatus>,
    /// Why the keyring could not be read, when it could not.
    pub keyring_problem: Option<String>,
    pub site: SiteState,
    /// Whether this window mails queued invitations (or another Herald on the same data
    /// folder does).
    pub outbox: OutboxState,
    /// Set when this computer is paired with an always-on Herald: every screen shows and acts
    /// there, and this computer keeps no invitations of its own.
    pub server: Option<ServerView>,
    /// Why the server could not be asked for the rest, when it could not.
    pub server_problem: Option<String>,
}

/// The always-on Herald this computer is paired with. Never a credential.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ServerView {
    /// `https://host:port`, its owner API.
    pub url: String,
    /// The owner this computer acts as there.
    pub owner_id: i64,
    pub owner_name: String,
    pub paired_at: i64,
    /// The pinned TLS key's fingerprint, to compare with what `herald serve` prints.
    pub fingerprint: String,
}

/// Whether the paired server answers, as the event stream finds out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ServerLink {
    Reachable,
    /// Not answering; the window keeps showing what it said last and keeps trying.
    Unreachable {
        message: String,
    },
    /// The server refuses this computer (its owner was removed): nothing more will come.
    Refused {
        message: String,
    },
}

/// The connect form: the server's owner API and the pairing code its owner was given.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ConnectInput {
    pub url: String,
    pub code: String,
}

/// Whether the window serves the confirmation site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum SiteState {
    /// Nothing to serve before the setup.
    NotStarted,
    Serving {
        address: String,
    },
    /// The address is taken or refused; the message says what to do.
    NotServing {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum OutboxState {
    NotStarted,
    /// This window mails.
    Active,
    /// `herald serve` (or another window) mails from this data folder; this one waits.
    Standby,
}

/// The setup's first step: who invites, from which address, where invitees go.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct GeneralInput {
    pub team: String,
    pub owner_name: String,
    pub from: String,
    pub public_url: String,
    pub reply_to: Option<String>,
    /// Like `7d`.
    pub default_expiry: Option<String>,
}

/// What the reachability check of the public URL found.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SiteCheck {
    /// The address that was asked: `{public_url}/healthz`.
    pub url: String,
    pub ok: bool,
    /// In words: what answered, or what went wrong and what to do.
    pub detail: String,
}

/// A failed command: the message says what went wrong, and the hint, when there is one, what
/// to do about it in the window's terms (a screen, a section, a button). `request` means the
/// input was refused and nothing changed; `environment` means something around Herald
/// failed (keyring, disk, network).
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Request,
    Environment,
}

/// Everything the window learns without asking, on the `live` event: the outbox's progress
/// and the invitees' answers, as they happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LiveEvent {
    Standby,
    Active,
    Reclaimed {
        ids: Vec<i64>,
    },
    Sent {
        id: i64,
        email: String,
        done: u32,
        total: u32,
    },
    Retrying {
        id: i64,
        email: String,
        reason: String,
        done: u32,
        total: u32,
    },
    Failed {
        id: i64,
        email: String,
        reason: String,
        done: u32,
        total: u32,
    },
    Stalled {
        message: String,
    },
    Opened {
        id: i64,
        automated: bool,
    },
    Accepted {
        id: i64,
    },
    Declined {
        id: i64,
        never_again: bool,
    },
    OptedOut {
        email: String,
    },
    AskedAgain {
        id: i64,
    },
    /// Something changed that the window did itself or cannot name (a reload is due).
    Changed,
    Site {
        site: SiteState,
    },
    /// The paired server went away or came back.
    Server {
        link: ServerLink,
    },
    /// On a paired window: the server's outbox mailed an invitation, or tried to. The server's
    /// outbox counts no batches for this window, so the window counts the ones it queued.
    Mailed {
        id: i64,
        email: String,
        outcome: MailOutcome,
    },
}

/// What became of one mail the server's outbox handed to its mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MailOutcome {
    Sent,
    /// Refused for now; the outbox tries again later.
    Retrying,
    Failed,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<OutboxEvent> for LiveEvent {
    fn from(e: OutboxEvent) -> LiveEvent {
        match e {
            OutboxEvent::Standby => LiveEvent::Standby,
            OutboxEvent::Active { .. } => LiveEvent::Active,
            OutboxEvent::Reclaimed { ids } => LiveEvent::Reclaimed { ids },
            OutboxEvent::Sent {
                id,
                email,
                progress,
            } => LiveEvent::Sent {
                id,
                email,
                done: count(progress.done),
                total: count(progress.total),
            },
            OutboxEvent::Retrying {
                id,
                email,
                reason,
                progress,
            } => LiveEvent::Retrying {
                id,
                email,
                reason,
                done: count(progress.done),
                total: count(progress.total),
            },
            OutboxEvent::Failed {
                id,
                email,
                reason,
                hint,
                progress,
            } => LiveEvent::Failed {
                id,
                email,
                reason: super::hints::sentence(&reason, hint),
                done: count(progress.done),
                total: count(progress.total),
            },
            OutboxEvent::Stalled { message, hint } => LiveEvent::Stalled {
                message: super::hints::sentence(&message, hint),
            },
        }
    }
}

impl From<SiteEvent> for LiveEvent {
    fn from(e: SiteEvent) -> LiveEvent {
        match e {
            SiteEvent::Opened { id, automated } => LiveEvent::Opened { id, automated },
            SiteEvent::Accepted { id } => LiveEvent::Accepted { id },
            SiteEvent::Declined { id, never_again } => LiveEvent::Declined { id, never_again },
            SiteEvent::OptedOut { email } => LiveEvent::OptedOut { email },
            SiteEvent::AskedAgain { id } => LiveEvent::AskedAgain { id },
        }
    }
}
