//! Herald's core: invitations, their tokens, the store and the keyring, with no UI and no HTTP.
//!
//! Every face (the command line, the window, the confirmation site) is a thin layer over
//! [`Herald`], so each rule is written once: validation, the state machine, the audit log, and
//! which secrets may leave the core (only the mailer ever receives a token or a code).

mod acting;
mod backup;
pub mod clock;
pub mod error;
pub mod events;
mod herald;
pub mod hint;
mod invitations;
mod keys;
mod links;
mod listing;
pub mod mail;
pub mod model;
mod moving;
mod outbox;
pub mod owner_tls;
mod owners;
pub mod pairing;
mod policy;
mod preview;
pub mod recipients;
mod respond;
pub mod secrets;
pub mod settings;
pub mod state;
pub(crate) mod store;
pub mod token;
pub mod validate;

pub use acting::ActingAs;
pub use backup::{Restored, REPLACED_SUFFIX};
pub use clock::{rfc3339, Clock, Timestamp};
pub use error::{Error, ErrorKind, Result};
pub use moving::{Exported, Imported, MoveError, MIN_PASSPHRASE_CHARS};
/// The database file inside a data folder.
pub const DATABASE_FILE: &str = store::DB_FILE;
pub use events::{Event, EVENTS_PER_READ};
pub use herald::{Herald, InitOutcome, InitParams, OpenOptions, SmtpParams, SmtpSaved};
pub use hint::Hint;
pub use invitations::{NewInvitations, RenewOutcome, DEFAULT_ROLE, MAX_BATCH};
pub use keys::{KeyPresence, KeyStatus, KeyVersionInfo, ReissueReport, RetireReport};
pub use links::{EndReason, LinkCheck, MintedLink, Superseded};
pub use listing::{
    DayTally, ListPage, ListQuery, OptOutEntry, Overview, SortKey, StatusCounts, MAX_PAGE,
    OVERVIEW_DAYS,
};
pub use mail::{sent_copy, SentCopy};
pub use model::{Actor, AuditAction, AuditEntry, Invitation, ListFilter, OwnerAction, Status};
pub use outbox::{human_duration, Claim, Delivery, BACKOFF};
pub use owners::{NewOwner, Owner, OwnerInfo, PairedOwner, SEEN_EVERY_SECS};
pub use pairing::{
    ClientPairing, Credential, PairFinish, PairReply, PairStart, PairingCode, PairingError,
};
pub use policy::{OptOutSource, MAX_PER_MONTH};
pub use preview::{MailDraft, MailPreview, RecipientCheck, RecipientsPreview, Verdict};
pub use respond::{Answer, AnswerTo, Answered, Asked, CodeCheck, SiteEvent, Visit, CODE_ATTEMPTS};
pub use settings::{General, Limits, Site, Smtp, TlsMode, DEFAULT_BIND};
