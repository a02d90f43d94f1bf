//! The window's own request and answer types: what crosses the IPC bridge besides the core's
//! types. TypeScript definitions of all of them are generated into `ui/src/bindings/` (see
//! `bindings.rs`), so the UI and Rust cannot drift apart unnoticed. Nothing here can carry a
//! token, a code or a link.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use herald_core::mail::OutboxEvent;
use herald_core::{
    AuditEntry, General, Invitation, KeyStatus, OwnerAction, SiteEvent, Smtp, TlsMode,
};

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
}

#[derive(Debug, Clone, Serialize, TS)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
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

/// The SMTP step. `password: None` keeps the one already in the keyring.
#[derive(Debug, Deserialize, TS)]
pub struct SmtpInput {
    pub host: String,
    /// The TLS mode's usual port when absent.
    pub port: Option<u16>,
    pub tls: TlsMode,
    pub user: Option<String>,
    #[ts(type = "string | null")]
    pub password: Option<SecretString>,
    pub allow_insecure: bool,
    /// Where bounces go, if not to the sender address.
    #[serde(default)]
    pub bounce_address: Option<String>,
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

/// New invitations, as the owner typed them.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct InviteInput {
    /// Each `addr` or `Name <addr>`.
    pub recipients: Vec<String>,
    pub role: Option<String>,
    pub note: Option<String>,
    /// Like `7d`.
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct InvitationDetail {
    pub invitation: Invitation,
    /// What the owner may ask of it now, as the core decides; the window enables these
    /// buttons and no others.
    pub offers: Vec<OwnerAction>,
    /// Oldest first.
    pub history: Vec<AuditEntry>,
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
