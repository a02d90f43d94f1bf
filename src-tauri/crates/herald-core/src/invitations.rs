//! Creating, listing and changing invitations. Every status change goes through
//! [`store::invitations::transition`]; every operation validates all of its input before it
//! writes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::links::EndReason;
use crate::model::{Actor, AuditAction, AuditEntry, Invitation, ListFilter, OwnerAction, Status};
use crate::store::invitations::{NewInvitation, Transition, TransitionError};
use crate::store::{self, audit, invitations, links, outbox, Tx};
use crate::token;
use crate::validate::{self, Email, ValidationError, MAX_NOTE_LEN, MAX_ROLE_LEN};

/// The most addresses one `invite create` takes: a team tool, not a mass mailer.
pub const MAX_BATCH: usize = 500;
pub const DEFAULT_ROLE: &str = "member";

/// What `invite create` asks for. Raw user input.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewInvitations {
    /// Addresses, each `ada@example.com` or `Ada Lovelace <ada@example.com>`.
    pub recipients: Vec<String>,
    /// A display name; only with a single address.
    pub name: Option<String>,
    pub role: Option<String>,
    pub note: Option<String>,
    /// Like `7d`; the data folder's default when absent.
    pub expires: Option<String>,
}

/// What `renew` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewOutcome {
    pub invitation: Invitation,
    /// The status before the renewal.
    pub was: Status,
}

struct Validated {
    email: Email,
    name: Option<String>,
}

impl Herald {
    /// Validates every address, then creates one queued invitation per distinct address in a
    /// single transaction: either all are created or none (and the error names the first
    /// problem and how many more there are).
    pub fn create_invitations(&self, req: &NewInvitations) -> Result<Vec<Invitation>> {
        self.create_invitations_by(req, None)
    }

    /// [`Herald::create_invitations`], by `by` (an owner acting through the owner API; see
    /// [`Herald::acting_as`]).
    pub(crate) fn create_invitations_by(
        &self,
        req: &NewInvitations,
        by: Option<&str>,
    ) -> Result<Vec<Invitation>> {
        if req.recipients.is_empty() {
            return Err(ValidationError::NoRecipients.into());
        }
        if req.recipients.len() > MAX_BATCH {
            return Err(ValidationError::BatchTooLarge {
                count: req.recipients.len(),
                max: MAX_BATCH,
            }
            .into());
        }
        let recipients = fold_recipients(&req.recipients)?;
        let name = validate::optional_text("name", req.name.as_deref(), validate::MAX_NAME_LEN)?;
        if name.is_some() && recipients.len() > 1 {
            return Err(ValidationError::NameWithManyRecipients {
                count: recipients.len(),
            }
            .into());
        }
        let role = match req.role.as_deref() {
            Some(r) => validate::text("role", r, MAX_ROLE_LEN)?,
            None => DEFAULT_ROLE.to_owned(),
        };
        let note = validate::optional_text("note", req.note.as_deref(), MAX_NOTE_LEN)?;
        let ttl = self.ttl(req.expires.as_deref())?;
        let now = self.clock.now();
        let expires_at = now.saturating_add(ttl);

        let ids = self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            for r in &recipients {
                let pending = invitations::pending_for_email(tx, r.email.as_str())?;
                if let Some(id) = pending {
                    return Err(Error::AlreadyInvited {
                        email: r.email.to_string(),
                        id,
                    });
                }
                self.check_may_mail(tx, r.email.as_str(), 1, now)?;
            }
            let (key_version, _key) = self.current_key_in(tx, now)?;
            let mut ids = Vec::with_capacity(recipients.len());
            for r in &recipients {
                let nonce = token::new_nonce().map_err(|e| Error::Random(e.to_string()))?;
                let new = NewInvitation {
                    email: r.email.as_str(),
                    name: r.name.as_deref().or(name.as_deref()),
                    role: &role,
                    note: note.as_deref(),
                    expires_at,
                    invited_by: by,
                };
                ids.push(invitations::insert(tx, &new, &nonce, key_version, now)?);
            }
            Ok(ids)
        })?;
        ids.into_iter().map(|id| self.invitation(id)).collect()
    }

    /// The lifetime of a new link in seconds: as asked, or the data folder's default.
    pub(crate) fn ttl(&self, expires: Option<&str>) -> Result<i64> {
        let secs = match expires {
            Some(e) => validate::expiry(e)?.as_secs(),
            None => self.general()?.default_expiry_secs,
        };
        Ok(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// Invitations, oldest first. Expiry is applied first, so the list never shows a stale
    /// "sent" for a link that no longer works.
    pub fn invitations(&self, filter: &ListFilter) -> Result<Vec<Invitation>> {
        self.sweep_expired()?;
        self.store.read(|tx| invitations::list(tx, filter))
    }

    pub fn invitation(&self, id: i64) -> Result<Invitation> {
        self.sweep_expired()?;
        self.store.read(|tx| invitations::must_get(tx, id))
    }

    pub fn history(&self, id: i64) -> Result<Vec<AuditEntry>> {
        self.invitation(id)?;
        self.store.read(|tx| audit::history(tx, id))
    }

    /// Mails the same link again: the first mail keeps working (people resend because a mail
    /// went missing). An expired invitation cannot reuse its link, so it is renewed instead.
    pub fn resend(&self, id: i64) -> Result<Invitation> {
        self.resend_by(id, None)
    }

    pub(crate) fn resend_by(&self, id: i64, by: Option<&str>) -> Result<Invitation> {
        let now = self.clock.now();
        let expired = self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            let inv = invitations::must_get(tx, id)?;
            match inv.status {
                Status::Sent | Status::Failed => {
                    self.check_may_mail(tx, &inv.email, 1, now)?;
                    let resend =
                        Transition::new(id, Status::Queued, Actor::Owner, AuditAction::Resend, now);
                    self.step(tx, resend.by(by))?;
                    // The owner asked again: the outbox starts afresh for it.
                    outbox::start_afresh(tx, id)?;
                    Ok(false)
                }
                Status::Expired => Ok(true),
                status => Err(Error::NothingToResend { id, status }),
            }
        })?;
        if expired {
            return self.renew_by(id, None, by).map(|r| r.invitation);
        }
        self.invitation(id)
    }

    /// Mints a fresh link (new nonce, new expiry, the current key) and queues it; the earlier
    /// link dies at once.
    pub fn renew(&self, id: i64, expires: Option<&str>) -> Result<RenewOutcome> {
        self.renew_by(id, expires, None)
    }

    pub(crate) fn renew_by(
        &self,
        id: i64,
        expires: Option<&str>,
        by: Option<&str>,
    ) -> Result<RenewOutcome> {
        let ttl = self.ttl(expires)?;
        let now = self.clock.now();
        let expires_at = now.saturating_add(ttl);
        let was = self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            let inv = invitations::must_get(tx, id)?;
            // Checked before the link is touched. Queued stays queued: it was not mailed yet.
            if !inv.status.offers_action(OwnerAction::Renew) {
                return Err(Error::IllegalTransition {
                    id,
                    from: inv.status,
                    to: Status::Queued,
                });
            }
            // A queued invitation is already counted: renewing it mails nothing extra.
            let adding = u32::from(inv.status != Status::Queued);
            self.check_may_mail(tx, &inv.email, adding, now)?;
            let (key_version, _key) = self.current_key_in(tx, now)?;
            links::end_current(tx, id, EndReason::Renewed, now)?;
            let nonce = token::new_nonce().map_err(|e| Error::Random(e.to_string()))?;
            links::insert(tx, id, &nonce, key_version, now, Some(expires_at))?;
            let detail = format!("new link until {}", crate::clock::rfc3339(expires_at));
            if inv.status == Status::Queued {
                let (actor, action) = (Actor::Owner, AuditAction::Renewed);
                audit::note_by(tx, Some(id), actor, action, Some(&detail), by, now)?;
            } else {
                let renewed =
                    Transition::new(id, Status::Queued, Actor::Owner, AuditAction::Renewed, now);
                self.step(tx, renewed.detail(&detail).by(by))?;
            }
            outbox::start_afresh(tx, id)?;
            Ok(inv.status)
        })?;
        Ok(RenewOutcome {
            invitation: self.invitation(id)?,
            was,
        })
    }

    /// Withdraws an invitation: its link dies at once and says "revoked" to the invitee.
    pub fn revoke(&self, id: i64) -> Result<Invitation> {
        self.revoke_by(id, None)
    }

    pub(crate) fn revoke_by(&self, id: i64, by: Option<&str>) -> Result<Invitation> {
        let now = self.clock.now();
        self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            let revoke =
                Transition::new(id, Status::Revoked, Actor::Owner, AuditAction::Revoked, now);
            self.step(tx, revoke.by(by))?;
            links::end_current(tx, id, EndReason::Revoked, now)?;
            Ok(())
        })?;
        self.invitation(id)
    }

    /// Marks every pending invitation whose time is up as expired. Returns how many.
    pub fn sweep_expired(&self) -> Result<usize> {
        let now = self.clock.now();
        // A read-only folder cannot record expiry; listing it must still work, so it shows
        // the statuses as they were last written.
        if self.store.is_read_only() {
            return Ok(0);
        }
        // Most calls find nothing: look with a read first, so listing rarely takes the write lock.
        let due = self.store.read(|tx| invitations::due_for_expiry(tx, now))?;
        if due.is_empty() {
            return Ok(0);
        }
        self.store.write(|tx| self.sweep_expired_in(tx, now))
    }

    pub(crate) fn sweep_expired_in(&self, tx: &Tx<'_>, now: Timestamp) -> Result<usize> {
        let due = invitations::due_for_expiry(tx, now)?;
        for &id in &due {
            let expire = Transition::new(
                id,
                Status::Expired,
                Actor::System,
                AuditAction::Expired,
                now,
            );
            self.step(tx, expire)?;
        }
        Ok(due.len())
    }

    /// One status change, with the state machine's refusal turned into a user-facing error.
    /// Returns the status it came from.
    pub(crate) fn step(&self, tx: &Tx<'_>, t: Transition<'_>) -> Result<Status> {
        store::invitations::transition(tx, &t).map_err(|e| match e {
            TransitionError::NotFound => Error::NoSuchInvitation(t.id),
            TransitionError::Illegal(from) => Error::IllegalTransition {
                id: t.id,
                from,
                to: t.to,
            },
            TransitionError::Store(e) => e,
        })
    }
}

/// Parses every recipient, folds repeats of one address (keeping the first display name), and
/// refuses the whole batch if any is invalid.
fn fold_recipients(inputs: &[String]) -> Result<Vec<Validated>, ValidationError> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<Validated> = Vec::new();
    let mut errors: Vec<ValidationError> = Vec::new();
    for input in inputs {
        match validate::recipient(input) {
            Ok((name, email)) => match seen.get(email.as_str()) {
                Some(&i) => {
                    if out[i].name.is_none() {
                        out[i].name = name;
                    }
                }
                None => {
                    seen.insert(email.as_str().to_owned(), out.len());
                    out.push(Validated { email, name });
                }
            },
            Err(e) => errors.push(e),
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(out),
        Some(first) if errors.len() == 0 => Err(first),
        Some(first) => Err(ValidationError::BatchRefused {
            first: Box::new(first),
            more: errors.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_fold_and_keep_a_name() {
        let v = fold_recipients(&[
            "Ada@Example.com".into(),
            "Ada Lovelace <ada@example.COM>".into(),
            "grace@example.com".into(),
        ])
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].email.as_str(), "ada@example.com");
        assert_eq!(v[0].name.as_deref(), Some("Ada Lovelace"));
    }

    #[test]
    fn one_bad_address_refuses_the_batch() {
        let e = fold_recipients(&["ok@example.com".into(), "nope".into(), "also bad".into()])
            .err()
            .unwrap();
        assert!(
            matches!(e, ValidationError::BatchRefused { more: 1, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("\"nope\""), "{e}");
    }
}
