//! Every owner operation, declared once. The declaration below generates:
//!
//! - [`Request`], one variant per operation, which is what crosses the window's bridge and the
//!   owner API (`{"op": "resend", "input": {"id": 3}}`);
//! - [`Operations`], the trait the in-process implementation ([`crate::Local`]) must implement
//!   in full: an operation declared here and not implemented there does not compile;
//! - the typed methods of [`crate::Client`], which runs each operation in-process or over the
//!   owner API, so that the CLI and the window do not care which;
//! - the owner API's decoding of a request from its path and body;
//! - the TypeScript map of every operation's input and answer, for the window.
//!
//! `write` operations change the data folder: after one succeeds in-process, the outbox is
//! woken and the faces are told that what they show is stale.

use serde::{Deserialize, Serialize};

use herald_core::mail::TestMail;
use herald_core::{
    Event, Invitation, KeyStatus, Limits, ListFilter, ListPage, ListQuery, MailDraft, MailPreview,
    NewInvitations, OptOutEntry, Overview, OwnerInfo, RecipientsPreview, ReissueReport,
    RetireReport, Site,
};

use crate::error::{ApiError, Result};
use crate::types::*;

/// The protocol the owner API speaks. A client and a server agree on it before anything else
/// (the `Herald-Protocol` header); raise it when an operation changes in a way an older peer
/// would misread.
pub const PROTOCOL: u32 = 1;

macro_rules! writes {
    (read) => {
        false
    };
    (write) => {
        true
    };
}

macro_rules! operations {
    ($( $(#[$doc:meta])* $access:ident $variant:ident $name:ident ( $in:ty ) -> $out:ty ; )*) => {
        /// One owner operation and its input.
        #[derive(Debug, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(tag = "op", content = "input", rename_all = "snake_case")]
        pub enum Request {
            $( $(#[$doc])* $variant($in), )*
        }

        /// What the in-process implementation provides: one method per operation.
        pub trait Operations {
            $( $(#[$doc])* fn $name(&self, input: $in) -> Result<$out>; )*
        }

        impl Request {
            /// Every operation's name, as the owner API's paths and the window name them.
            pub const NAMES: &'static [&'static str] = &[$( stringify!($name) ),*];

            pub fn name(&self) -> &'static str {
                match self {
                    $( Request::$variant(_) => stringify!($name), )*
                }
            }

            /// Whether it changes the data folder.
            pub fn writes(&self) -> bool {
                match self {
                    $( Request::$variant(_) => writes!($access), )*
                }
            }

            /// Runs it and gives the answer as JSON: for the faces that speak JSON (the
            /// window's bridge, the owner API).
            pub fn run_json(self, ops: &impl Operations) -> Result<serde_json::Value> {
                match self {
                    $( Request::$variant(input) => json(ops.$name(input)?), )*
                }
            }

            /// A request from an operation's name and its JSON input (the owner API's path
            /// and body).
            pub fn decode(name: &str, input: serde_json::Value) -> Result<Request> {
                match name {
                    $( stringify!($name) => serde_json::from_value(input)
                        .map(Request::$variant)
                        .map_err(|e| ApiError::bad_input(name, &e)), )*
                    _ => Err(ApiError::unknown_operation(name)),
                }
            }

            /// Its input alone, as JSON.
            pub fn input_json(&self) -> Result<serde_json::Value> {
                match self {
                    $( Request::$variant(input) => json(input), )*
                }
            }
        }

        impl crate::Client {
            $(
                $(#[$doc])*
                pub async fn $name(&self, input: $in) -> Result<$out> {
                    match self {
                        crate::Client::Local(local) => {
                            local.run(writes!($access), move |ops| ops.$name(input)).await
                        }
                        crate::Client::Remote(remote) => remote.call(stringify!($name), &input).await,
                    }
                }
            )*
        }

        /// Every operation's input and answer, for TypeScript: `Operations["resend"]["input"]`
        /// is what `resend` takes. Never built; only its type is exported.
        #[cfg(feature = "ts")]
        #[derive(ts_rs::TS)]
        #[allow(dead_code)]
        #[ts(rename = "Operations")]
        pub struct OperationTypes {
            $( $name: Op<$in, $out>, )*
        }
    };
}

/// One operation's input and answer, for TypeScript.
#[cfg(feature = "ts")]
#[derive(ts_rs::TS)]
#[allow(dead_code)]
pub struct Op<I, O> {
    input: I,
    output: O,
}

fn json(value: impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| ApiError::environment(format!("an answer could not be written: {e}")))
}

operations! {
    /// The general, SMTP and port settings, for the settings screens.
    read Settings settings(()) -> Settings;
    /// Saves the SMTP settings (and the password into the keyring of the Herald that mails).
    write SetSmtp set_smtp(SmtpInput) -> SmtpView;
    /// Mails a test message through the SMTP settings, from the Herald that mails.
    read SendTestMail send_test_mail(TestMailTo) -> TestMail;
    /// Makes the first signing key if there is none, and reads the keys' status.
    write EnsureKey ensure_key(()) -> KeyStatus;
    /// What each address of a pasted list would become.
    read CheckRecipients check_recipients(RecipientsText) -> RecipientsPreview;
    /// The invitation mail as an invitee would receive it (with a stand-in link).
    read PreviewMail preview_mail(MailDraft) -> MailPreview;
    /// Queues new invitations; the outbox mails them.
    write CreateInvitations create_invitations(NewInvitations) -> Vec<Invitation>;
    /// One page of invitations, searched, filtered and sorted.
    read ListInvitations list_invitations(ListQuery) -> ListPage;
    /// Every invitation, or those in one status.
    read Invitations invitations(ListFilter) -> Vec<Invitation>;
    /// One invitation, what can be done with it, and its history.
    read InvitationDetail invitation_detail(InvitationId) -> InvitationDetail;
    /// Mails the same link again.
    write Resend resend(InvitationId) -> Invitation;
    /// A new link (the old one ends), mailed.
    write Renew renew(RenewInput) -> Invitation;
    /// Withdraws an invitation; its link ends.
    write Revoke revoke(InvitationId) -> Invitation;
    /// The funnel and the last days, in the owner's time zone.
    read Overview overview(OverviewQuery) -> Overview;
    /// The addresses that asked never to be invited again.
    read OptOuts opt_outs(()) -> Vec<OptOutEntry>;
    /// Everyone who accepted, as CSV.
    read MembersCsv members_csv(()) -> String;
    read Limits limits(()) -> Limits;
    write SetLimits set_limits(Limits) -> Limits;
    /// Where the confirmation site listens and which proxies stand in front of it.
    read SiteSettings site_settings(()) -> Site;
    write SetSite set_site(SiteInput) -> Site;
    read KeyStatus key_status(()) -> KeyStatus;
    /// A new current signing key; older links keep working.
    write RotateKey rotate_key(()) -> KeyStatus;
    /// Ends a key version and every link it signed.
    write RetireKey retire_key(KeyVersion) -> RetireReport;
    /// New links for the pending invitations whose key is missing or different.
    write ReissueLinks reissue_links(()) -> ReissueReport;
    /// What happened after an event id, oldest first (the event stream's catch-up).
    read Events events(EventsAfter) -> Vec<Event>;
    /// The owners of this Herald, paired or waiting (never a secret).
    read Owners owners(()) -> Vec<OwnerInfo>;
    /// A new owner and its one-time pairing code.
    write AddOwner add_owner(OwnerName) -> NewOwnerCode;
    /// Cuts an owner off at once, open event streams included.
    write RemoveOwner remove_owner(OwnerId) -> ();
    /// The newest event's id: where a stream that wants only what comes next starts.
    read LastEventId last_event_id(()) -> i64;
}
