//! The invitee's side, as the confirmation site asks it of the core: opening a link (which
//! never decides anything), answering it, the typed-code path, one-click unsubscribe, and
//! asking for a new invitation. Every answer is one conditional update in one transaction, so
//! twenty simultaneous accepts make exactly one transition.

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::links::{claims, decoy_key, EndReason, LinkCheck, Superseded};
use crate::model::{Actor, AuditAction, Invitation, Status};
use crate::policy::OptOutSource;
use crate::settings::General;
use crate::store::invitations::{FirstLook, Stamp, Transition};
use crate::store::{audit, invitations, keys, links, Tx};
use crate::token::{self, Claims, Purpose};
use crate::validate::Email;

/// Wrong typed codes an invitation tolerates; then only its link works.
pub const CODE_ATTEMPTS: u32 = 5;
/// An opening this soon after the mail was sent is a machine's: people take longer.
pub const SCANNER_WINDOW_SECS: i64 = 10;
/// The least time between two "please invite me again" notices for one invitation.
pub const ASK_AGAIN_EVERY_SECS: i64 = 24 * 3600;

/// User agents of link scanners and prefetchers (lower-case substrings). Incomplete by
/// nature; HEAD requests and the timing rule catch most of the rest.
const SCANNER_AGENTS: [&str; 12] = [
    "bot",
    "crawler",
    "spider",
    "preview",
    "scanner",
    "safelinks",
    "proofpoint",
    "mimecast",
    "barracuda",
    "google-safety",
    "curl/",
    "python-requests",
];

/// How a link was fetched, for telling a person from a scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct Visit<'a> {
    /// A HEAD request: only machines send those for a link in a mail.
    pub head: bool,
    pub user_agent: Option<&'a str>,
    /// The browser said a person navigated here (`Sec-Fetch-Mode: navigate` with
    /// `Sec-Fetch-User: ?1`, which pages cannot forge and scanners rarely imitate).
    pub user_navigation: bool,
}

impl Visit<'_> {
    fn looks_automated(&self, invitation: &Invitation, now: Timestamp) -> bool {
        let agent = self.user_agent.unwrap_or("").to_ascii_lowercase();
        let fast = invitation
            .sent_at
            .is_some_and(|sent| now - sent < SCANNER_WINDOW_SECS);
        // Timing alone does not make a scanner: a person who was waiting for the mail opens it
        // within seconds, and their browser says it was them.
        self.head
            || agent.is_empty()
            || SCANNER_AGENTS.iter().any(|s| agent.contains(s))
            || (fast && !self.user_navigation)
    }
}

/// Whether a visit is the first look of its kind at a link: `Some((invitation, automated))`
/// for the first by a scanner (`true`) or by a person (`false`), `None` when it was seen
/// before or the link is not one whose invitation stands (nothing is noted for those).
fn first_look(check: &LinkCheck, visit: &Visit<'_>, now: Timestamp) -> Option<(i64, bool)> {
    let (LinkCheck::Live(invitation) | LinkCheck::Decided(invitation)) = check else {
        return None;
    };
    let automated = visit.looks_automated(invitation, now);
    let already = if automated {
        invitation.scanned_at.is_some()
    } else {
        invitation.opened_at.is_some()
    };
    (!already).then_some((invitation.id, automated))
}

/// The write that notes a first look (once: false if another request noted it first), with
/// its audit row. Owns what it needs, for either way into the store's writer.
fn note_first_look(
    id: i64,
    automated: bool,
    visit: &Visit<'_>,
    now: Timestamp,
) -> impl FnOnce(&Tx<'_>) -> Result<bool> + Send + 'static {
    let (look, action) = if automated {
        (FirstLook::Scanned, AuditAction::Scanned)
    } else {
        (FirstLook::Opened, AuditAction::Opened)
    };
    let detail = visit.user_agent.map(|a| one_line(a, 200));
    move |tx| {
        let first = invitations::record_first_look(tx, id, look, now)?;
        if first {
            audit::note(tx, Some(id), Actor::Invitee, action, detail.as_deref(), now)?;
        }
        Ok(first)
    }
}

/// The invitee's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline {
        /// "Never invite this address again": an opt-out the owner cannot undo.
        never_again: bool,
    },
}

/// A live link, authenticated: what an answer goes through. Only the core makes one, from
/// a token whose MAC it checked, so a face cannot answer an invitation it has no link for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerTo {
    id: i64,
    link_id: i64,
}

/// The live link to answer through, or why a link cannot be answered.
pub type Answerable = Result<AnswerTo, Box<LinkCheck>>;

fn answerable((check, link_id): (LinkCheck, Option<i64>)) -> Answerable {
    match (&check, link_id) {
        (LinkCheck::Live(invitation), Some(link_id)) => Ok(AnswerTo {
            id: invitation.id,
            link_id,
        }),
        _ => Err(Box::new(check)),
    }
}

/// What became of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Recorded now; the invitation as it stands after.
    Done(Invitation),
    /// Not recorded: the link says why (already decided, expired, revoked, superseded, not
    /// valid).
    Refused(LinkCheck),
}

/// What a typed email address and code are worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: as good as the link.
    Valid(Box<LinkCheck>),
    /// Wrong, unknown address, or the code path is locked. One answer for all three, so the
    /// form does not tell who has been invited.
    Refused,
}

/// What asking for a new invitation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// The owner has been told.
    Told(Invitation),
    /// The owner was told recently; not again yet.
    AlreadyTold(Invitation),
    /// Only an ended invitation can be asked for again.
    NotApplicable(LinkCheck),
}

/// Something the site did that the owner's window shows live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteEvent {
    Opened { id: i64, automated: bool },
    Accepted { id: i64 },
    Declined { id: i64, never_again: bool },
    OptedOut { email: String },
    AskedAgain { id: i64 },
}

impl Herald {
    /// Checks a link that was opened, and notes the first opening by a person and by a scanner
    /// (once each). Never changes the invitation's status: scanners open links.
    pub fn visit_link(
        &self,
        token: &str,
        visit: Visit<'_>,
    ) -> Result<(LinkCheck, Option<SiteEvent>)> {
        let check = self.check_link(token)?;
        let now = self.clock.now();
        let Some((id, automated)) = first_look(&check, &visit, now) else {
            return Ok((check, None));
        };
        let first = self
            .store
            .write(note_first_look(id, automated, &visit, now))?;
        let event = first.then_some(SiteEvent::Opened { id, automated });
        Ok((self.check_link(token)?, event))
    }

    /// [`Herald::visit_link`] for an async caller that has checked the link already with
    /// [`Herald::check_link_cached`]: a first look is noted through the store's writer
    /// thread, so the calling task's thread never blocks on it.
    pub async fn note_visit(
        self: &Arc<Self>,
        token: &str,
        check: LinkCheck,
        visit: Visit<'_>,
    ) -> Result<(LinkCheck, Option<SiteEvent>)> {
        let now = self.clock.now();
        let Some((id, automated)) = first_look(&check, &visit, now) else {
            return Ok((check, None));
        };
        let note = note_first_look(id, automated, &visit, now);
        let first = self.store.write_owned(note).await?;
        let event = first.then_some(SiteEvent::Opened { id, automated });
        // As the link now reads; its key is in the cache, since the caller's check found it.
        let now_reads = self.check_link_cached(token)?.1.unwrap_or(check);
        Ok((now_reads, event))
    }

    /// Whether [`Herald::visit_link`] would write for this visit (a first look by a person
    /// or a scanner) given the link's check: when not, the check alone is the visit's answer,
    /// and the confirmation site needs no write for it.
    pub fn visit_writes(&self, check: &LinkCheck, visit: &Visit<'_>) -> bool {
        first_look(check, visit, self.clock.now()).is_some()
    }

    /// Accepts or declines through the link. Exactly one of any number of simultaneous
    /// answers is recorded; the others are refused as already decided.
    pub fn answer_link(
        &self,
        token: &str,
        answer: Answer,
    ) -> Result<(Answered, Option<SiteEvent>)> {
        let checked = self.check_link_row(token)?;
        match answerable(checked) {
            Ok(to) => self.answer(to.id, to.link_id, answer),
            Err(check) => Ok((Answered::Refused(*check), None)),
        }
    }

    /// The read half of [`Herald::answer_link`], without the keyring and with the settings
    /// (as [`Herald::check_link_cached`]): `None` when the link's key must first be read from
    /// the keyring; else the live link to answer through, or why it cannot be answered.
    pub fn answerable_cached(&self, token: &str) -> Result<(General, Option<Answerable>)> {
        let (general, checked) = self.check_link_keyed(token, false, |tx| self.general_in(tx))?;
        Ok((general, checked.map(answerable)))
    }

    /// The write half of [`Herald::answer_link`], for an async caller: records the answer
    /// unless, by now, the link has ended or another answer came first (both checked again
    /// inside the write). The write goes to the store's writer thread (see
    /// `store::writer`), so the calling task's thread never blocks on it.
    pub async fn answer_to(
        self: &Arc<Self>,
        to: AnswerTo,
        answer: Answer,
    ) -> Result<(Answered, Option<SiteEvent>)> {
        let now = self.clock.now();
        let h = self.clone();
        let recorded = self
            .store
            .write_owned(move |tx| h.record_answer(tx, to.id, to.link_id, answer, now))
            .await?;
        self.answered(recorded, to.id, to.link_id, answer, now)
    }

    /// Checks a typed address and code. A wrong code counts against the link it was tried
    /// for; at [`CODE_ATTEMPTS`] that link's code path locks (the link itself keeps working, and
    /// a renewed link brings a new code with a count of its own).
    ///
    /// The check and the count are one write transaction, so simultaneous tries are counted
    /// one after another and never more than [`CODE_ATTEMPTS`] wrong codes are looked at. A try
    /// for an address with no usable code (none invited, the path locked, the link ended) runs
    /// through the same kind of transaction, with a decoy MAC and an audit row of its own, so
    /// it costs what a wrong code for a known address costs: timing does not tell them apart.
    pub fn check_code(&self, email: &str, code: &str) -> Result<(CodeCheck, Option<(i64, i64)>)> {
        let Ok(email) = Email::parse(email) else {
            return Ok((CodeCheck::Refused, None));
        };
        // Which link the code would be for, and its key; the keyring is slow, so it is read
        // before the write lock is taken.
        let found = self.store.read(|tx| {
            let Some(id) = invitations::pending_for_email(tx, email.as_str())? else {
                return Ok(None);
            };
            let link = links::current(tx, id)?;
            let key = match &link {
                Some(l) => keys::key_ref(tx, l.key_version)?,
                None => None,
            };
            Ok(Some((id, link, key)))
        })?;
        let target = match found {
            Some((id, Some(link), Some(key_ref)))
                if !key_ref.retired && link.ended_reason.is_none() =>
            {
                let Some(key) = self.load_key(link.key_version, &key_ref.key_id)? else {
                    return Err(self
                        .store
                        .read(|tx| Ok(self.key_missing(tx, link.key_version)))?);
                };
                Some((id, link, key))
            }
            _ => None,
        };
        let now = self.clock.now();
        let right = self.store.write(|tx| {
            let usable = match &target {
                Some((id, link, key)) => links::code_failures(tx, link.id)?
                    .filter(|failures| *failures < CODE_ATTEMPTS)
                    .map(|_| (*id, link, key)),
                None => None,
            };
            let Some((id, link, key)) = usable else {
                let _ = token::verify_code(decoy_key(), &decoy_claims(), code);
                let detail = "a code was typed for an address with no usable code";
                let wrong = AuditAction::WrongCode;
                audit::note(tx, None, Actor::Invitee, wrong, Some(detail), now)?;
                return Ok(None);
            };
            if token::verify_code(key, &claims(link), code) {
                return Ok(Some((id, link.id, link.expires_at)));
            }
            links::count_code_failure(tx, link.id)?;
            audit::note(
                tx,
                Some(id),
                Actor::Invitee,
                AuditAction::WrongCode,
                None,
                now,
            )?;
            Ok(None)
        })?;
        let Some((id, link_id, expires_at)) = right else {
            return Ok((CodeCheck::Refused, None));
        };
        let invitation = self.invitation(id)?;
        let check = match invitation.status {
            Status::Accepted | Status::Declined => LinkCheck::Decided(invitation),
            _ if now >= expires_at => LinkCheck::Expired(invitation),
            _ => LinkCheck::Live(invitation),
        };
        Ok((CodeCheck::Valid(Box::new(check)), Some((id, link_id))))
    }

    /// Accepts or declines with a typed address and code (checked, and counted, again).
    pub fn answer_code(
        &self,
        email: &str,
        code: &str,
        answer: Answer,
    ) -> Result<(Option<Answered>, Option<SiteEvent>)> {
        match self.check_code(email, code)? {
            (CodeCheck::Valid(check), Some((id, link_id)))
                if matches!(*check, LinkCheck::Live(_)) =>
            {
                let (answered, event) = self.answer(id, link_id, answer)?;
                Ok((Some(answered), event))
            }
            (CodeCheck::Valid(check), _) => Ok((Some(Answered::Refused(*check)), None)),
            (CodeCheck::Refused, _) => Ok((None, None)),
        }
    }

    /// The one-click unsubscribe of the mail's List-Unsubscribe header (RFC 8058): the
    /// address is never invited again, and its pending invitations are withdrawn. Works for
    /// as long as the link's key exists, even after the invitation ended. `None` if the token
    /// is not one Herald made.
    pub fn unsubscribe(&self, token_text: &str) -> Result<Option<(String, Option<SiteEvent>)>> {
        let Ok(parsed) = token::parse(token_text) else {
            return Ok(None);
        };
        let found = self.store.read(|tx| {
            let Some(link) = links::by_nonce(tx, &parsed.nonce)? else {
                return Ok(None);
            };
            Ok(keys::key_ref(tx, link.key_version)?.map(|k| (link, k)))
        })?;
        let Some((link, key_ref)) = found else {
            let _ = token::verify(
                decoy_key(),
                Purpose::Unsubscribe,
                &Claims {
                    key_version: parsed.key_version,
                    invitation_id: 0,
                    email: "",
                    expires_at: 0,
                    nonce: &parsed.nonce,
                },
                &parsed,
            );
            return Ok(None);
        };
        if key_ref.retired || parsed.key_version != link.key_version {
            return Ok(None);
        }
        let Some(key) = self.load_key(link.key_version, &key_ref.key_id)? else {
            return Ok(None);
        };
        let claims = claims(&link);
        if !token::verify(&key, Purpose::Unsubscribe, &claims, &parsed) {
            return Ok(None);
        }
        let now = self.clock.now();
        let added = self
            .store
            .write(|tx| self.opt_out_in(tx, &link.email, OptOutSource::OneClick, now))?;
        let event = added.then(|| SiteEvent::OptedOut {
            email: link.email.clone(),
        });
        Ok(Some((link.email, event)))
    }

    /// "Ask for a new invitation" from an expired, revoked or superseded link: the owner is
    /// told (audit entry and event), at most once a day per invitation.
    pub fn ask_again(&self, token: &str) -> Result<(Asked, Option<SiteEvent>)> {
        let check = self.check_link(token)?;
        let invitation = match check {
            LinkCheck::Expired(i) | LinkCheck::Revoked(i) | LinkCheck::Ended(_, i) => i,
            other => return Ok((Asked::NotApplicable(other), None)),
        };
        let now = self.clock.now();
        let id = invitation.id;
        let told = self.store.write(|tx| {
            let told = invitations::record_asked_again(tx, id, now, now - ASK_AGAIN_EVERY_SECS)?;
            if told {
                audit::note(
                    tx,
                    Some(id),
                    Actor::Invitee,
                    AuditAction::AskedAgain,
                    None,
                    now,
                )?;
            }
            Ok(told)
        })?;
        Ok(if told {
            (Asked::Told(invitation), Some(SiteEvent::AskedAgain { id }))
        } else {
            (Asked::AlreadyTold(invitation), None)
        })
    }

    /// Records an answer for an invitation whose link `link_id` was just authenticated, if that
    /// link is still the current one and the invitation still pending: one transaction.
    fn answer(
        &self,
        id: i64,
        link_id: i64,
        answer: Answer,
    ) -> Result<(Answered, Option<SiteEvent>)> {
        let now = self.clock.now();
        let recorded = self
            .store
            .write(|tx| self.record_answer(tx, id, link_id, answer, now))?;
        self.answered(recorded, id, link_id, answer, now)
    }

    /// An answer's write: false (and nothing written) when the link is no longer the live,
    /// current one or the invitation is no longer pending.
    fn record_answer(
        &self,
        tx: &Tx<'_>,
        id: i64,
        link_id: i64,
        answer: Answer,
        now: Timestamp,
    ) -> Result<bool> {
        let (to, action) = match answer {
            Answer::Accept => (Status::Accepted, AuditAction::Accepted),
            Answer::Decline { .. } => (Status::Declined, AuditAction::Declined),
        };
        let target = invitations::answer_target(tx, id)?.ok_or(Error::NoSuchInvitation(id))?;
        if target.link_id != Some(link_id) || !target.status.is_pending() {
            return Ok(false);
        }
        // The link was authenticated before this transaction began: make sure that, now, it
        // has not ended, its time is not up and its key has not been retired.
        if !links::is_live(tx, link_id, now)? {
            return Ok(false);
        }
        // Whoever answered had the page open: the funnel never shows more answers than
        // openings, even when the opening itself was taken for a scanner's.
        let stamp = Stamp {
            decided_at: true,
            opened_at: true,
            ..Stamp::default()
        };
        let decide = Transition::new(id, to, Actor::Invitee, action, now).stamp(stamp);
        match self.step(tx, decide) {
            Ok(_) => {}
            // Another answer won the race between the read above and this update.
            Err(Error::IllegalTransition { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
        if let Answer::Decline { never_again: true } = answer {
            self.opt_out_in(tx, &target.email, OptOutSource::NeverAgain, now)?;
        }
        Ok(true)
    }

    /// What an answer's write came to, as the invitee is told.
    fn answered(
        &self,
        recorded: bool,
        id: i64,
        link_id: i64,
        answer: Answer,
        now: Timestamp,
    ) -> Result<(Answered, Option<SiteEvent>)> {
        if !recorded {
            return Ok((Answered::Refused(self.why_refused(id, link_id, now)?), None));
        }
        let event = match answer {
            Answer::Accept => SiteEvent::Accepted { id },
            Answer::Decline { never_again } => SiteEvent::Declined { id, never_again },
        };
        Ok((Answered::Done(self.invitation(id)?), Some(event)))
    }
}

impl Herald {
    /// Why an answer through link `link_id` was not recorded, as the link would now say.
    fn why_refused(&self, id: i64, link_id: i64, now: Timestamp) -> Result<LinkCheck> {
        let link = self.store.read(|tx| links::state(tx, link_id))?;
        let invitation = self.invitation(id)?;
        Ok(match (invitation.status, link) {
            (Status::Accepted | Status::Declined, _) => LinkCheck::Decided(invitation),
            // A retired key's links cannot be vouched for any more: "not valid", as a fresh
            // visit would say.
            (
                _,
                Some(links::LinkState {
                    key_retired: true, ..
                })
                | None,
            ) => LinkCheck::Invalid,
            (Status::Revoked, _) => LinkCheck::Revoked(invitation),
            (
                _,
                Some(links::LinkState {
                    ended: Some(EndReason::Revoked),
                    ..
                }),
            ) => LinkCheck::Revoked(invitation),
            (
                _,
                Some(links::LinkState {
                    ended: Some(EndReason::Reissued),
                    ..
                }),
            ) => LinkCheck::Ended(Superseded::Reissued, invitation),
            (Status::Expired, _) => LinkCheck::Expired(invitation),
            (_, Some(l)) if now >= l.expires_at => LinkCheck::Expired(invitation),
            // Still pending, so its link was replaced meanwhile.
            _ => LinkCheck::Ended(Superseded::Renewed, invitation),
        })
    }
}

/// What a code is checked against when there is nothing real to check it against.
fn decoy_claims() -> Claims<'static> {
    Claims {
        key_version: 0,
        invitation_id: 0,
        email: "",
        expires_at: 0,
        nonce: &[0; token::NONCE_LEN],
    }
}

/// A header value fit for the audit log: one line, bounded.
fn one_line(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    //! The answer's own transaction, raced against what can end a link between the moment
    //! the link was authenticated and the moment the answer is written. The race is made
    //! deterministic by calling the two halves apart, as the site does.

    use super::*;
    use crate::{Clock, InitParams, NewInvitations, OpenOptions};

    const START: i64 = 1_900_000_000;

    fn herald(dir: &std::path::Path, clock: &Clock) -> Herald {
        let opts = OpenOptions {
            data_dir: dir.join("data"),
            keyring: crate::secrets::MemoryKeyring::new().shared(),
            keyring_service: format!(
                "herald-respond-unit-{}-{}",
                std::process::id(),
                dir.file_name().unwrap().to_string_lossy()
            ),
            clock: clock.clone(),
        };
        let params = InitParams {
            team: "Rocket Team".into(),
            owner_name: "Ada Lovelace".into(),
            from: "invites@example.com".into(),
            public_url: "https://invite.example.com".into(),
            ..InitParams::default()
        };
        Herald::init(opts, &params).unwrap().0
    }

    /// An invitation with a live link, and that link authenticated: (id, token, link id).
    fn authenticated(h: &Herald) -> (i64, String, i64) {
        let id = h
            .create_invitations(&NewInvitations {
                recipients: vec!["grace@example.com".into()],
                ..NewInvitations::default()
            })
            .unwrap()[0]
            .id;
        let token = h.mint_link(id).unwrap().token.expose().to_owned();
        let (check, link_id) = h.check_link_row(&token).unwrap();
        assert!(matches!(check, LinkCheck::Live(_)), "{check:?}");
        (id, token, link_id.unwrap())
    }

    #[test]
    fn an_answer_racing_a_key_retirement_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let clock = Clock::manual(START);
        let h = herald(tmp.path(), &clock);
        let (id, _, link_id) = authenticated(&h);
        // Meanwhile, the owner retires the key that signed the link.
        h.rotate_key().unwrap();
        h.retire_key(1).unwrap();
        let (answered, event) = h.answer(id, link_id, Answer::Accept).unwrap();
        assert_eq!(answered, Answered::Refused(LinkCheck::Invalid));
        assert_eq!(event, None);
        assert_ne!(h.invitation(id).unwrap().status, Status::Accepted);
    }

    #[test]
    fn an_answer_racing_the_expiry_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let clock = Clock::manual(START);
        let h = herald(tmp.path(), &clock);
        let (id, _, link_id) = authenticated(&h);
        // Meanwhile, the link's time runs out (nothing has swept it yet).
        let expires_at = h.invitation(id).unwrap().expires_at;
        clock.advance(expires_at - clock.now());
        let (answered, _) = h.answer(id, link_id, Answer::Accept).unwrap();
        assert!(
            matches!(answered, Answered::Refused(LinkCheck::Expired(_))),
            "{answered:?}"
        );
        assert_ne!(h.invitation(id).unwrap().status, Status::Accepted);
    }

    #[test]
    fn an_answer_racing_a_revocation_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let clock = Clock::manual(START);
        let h = herald(tmp.path(), &clock);
        let (id, _, link_id) = authenticated(&h);
        h.revoke(id).unwrap();
        let (answered, _) = h
            .answer(id, link_id, Answer::Decline { never_again: true })
            .unwrap();
        assert!(
            matches!(answered, Answered::Refused(LinkCheck::Revoked(_))),
            "{answered:?}"
        );
        assert!(!h.is_opted_out("grace@example.com").unwrap());
    }
}
