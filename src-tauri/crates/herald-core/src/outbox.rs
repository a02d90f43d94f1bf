//! The outbox's bookkeeping: which invitation to mail next, and what became of each attempt.
//!
//! An invitation is committed (queued) before any mail leaves. A worker claims one by moving it
//! to `sending` in an IMMEDIATE transaction, so two workers on one data folder never claim the
//! same invitation; it mails it, then records the outcome. A crash between the two leaves it in
//! `sending`, and [`Herald::reclaim_interrupted`] queues it again at the next start: at most one
//! duplicate mail for the invitations in flight, never a lost one.
//!
//! Only one worker mails from a data folder at a time (the window and `herald serve` may both
//! be running on it): the worker holds [`OutboxLease`], an OS file lock that dies with its
//! process. Reclaiming is safe only under the lease, or it would take invitations another
//! worker is mailing right now.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::hint::Hint;
use crate::links::MintedLink;
use crate::model::{Actor, AuditAction, Invitation, Status};
use crate::store::invitations::{Stamp, Transition};
use crate::store::{audit, links, outbox, Tx};

/// Waits before the 1st, 2nd, ... retry of a transient failure, in seconds; each is stretched
/// or shrunk by up to a fifth at random so that many retries do not arrive together. After
/// the last one the invitation is marked failed.
pub const BACKOFF: [i64; 5] = [60, 300, 1800, 7200, 21_600];

/// What the mail server made of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// 2xx: the server took the message. `reply` is its answer, e.g. `250 2.0.0 Ok: queued as
    /// 4Fz9` (the queue id helps the server's admin trace the mail).
    Sent { message_id: String, reply: String },
    /// 4xx, a timeout, a dropped connection: worth trying again later.
    Retry { reason: String },
    /// 5xx: the server refused for good. `hint` when the settings, not the message, are at
    /// fault (no STARTTLS on offer, a certificate that does not verify).
    Failed { reason: String, hint: Option<Hint> },
}

/// An invitation claimed for mailing, with what the mail needs. Holds secrets: never stored.
#[derive(Debug, Clone)]
pub struct Claim {
    pub invitation: Invitation,
    /// The link the mail carries; if the invitation's link changes while mailing, the outcome
    /// is not trusted and the new link is mailed.
    pub link_id: i64,
    pub link: MintedLink,
}

/// The right to mail from this data folder. The OS releases the lock when the holder exits,
/// however it exits, so a crash never leaves the folder unmailable.
#[derive(Debug)]
pub struct OutboxLease {
    _file: std::fs::File,
}

impl Herald {
    /// Takes the outbox lease, or `None` while another worker (another process, or another
    /// `Herald` on the same folder) holds it.
    pub fn try_outbox_lease(&self) -> Result<Option<OutboxLease>> {
        let path = self.data_dir().join("outbox.lock");
        let folder_err = |source| Error::folder_io(self.data_dir(), &path, source);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(folder_err)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(OutboxLease { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(folder_err(e)),
        }
    }

    /// How many queued invitations are due now: the size of the batch the worker is about to
    /// mail, for its progress count.
    pub fn due_count(&self) -> Result<usize> {
        let now = self.clock.now();
        self.store.read(|tx| outbox::due_count(tx, now))
    }

    /// Queues again whatever a crash or kill left in `sending`. Needs the lease: only the
    /// worker that holds it can know that nothing in `sending` is being mailed.
    pub fn reclaim_interrupted(&self, _lease: &OutboxLease) -> Result<Vec<i64>> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let ids = outbox::sending(tx)?;
            for &id in &ids {
                let detail = "Herald stopped while mailing it; it is mailed again";
                let requeue = Transition::new(
                    id,
                    Status::Queued,
                    Actor::System,
                    AuditAction::Interrupted,
                    now,
                );
                self.step(tx, requeue.detail(detail))?;
            }
            Ok(ids)
        })
    }

    /// Claims the invitation that has waited longest and is due, and mints its link.
    pub fn claim_next(&self) -> Result<Option<Claim>> {
        Ok(self.claim_due(1)?.pop())
    }

    /// Claims up to `max` due invitations, longest-waiting first, in one transaction, and mints
    /// their links. If a link cannot be minted (a key is gone, the keyring is locked), every
    /// invitation of the batch is put back untouched and the error returned: it is not theirs.
    pub fn claim_due(&self, max: usize) -> Result<Vec<Claim>> {
        let now = self.clock.now();
        let claimed: Vec<(i64, i64)> = self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            let ids = outbox::due(tx, now, max)?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                let claim = Transition::new(
                    id,
                    Status::Sending,
                    Actor::System,
                    AuditAction::Sending,
                    now,
                );
                self.step(tx, claim)?;
                outbox::count_attempt(tx, id, now)?;
                let link = links::current(tx, id)?.ok_or(Error::NoSuchInvitation(id))?;
                claimed.push((id, link.id));
            }
            Ok(claimed)
        })?;
        let minted = claimed
            .iter()
            .map(|&(id, link_id)| {
                Ok(Claim {
                    link: self.mint_link(id)?,
                    invitation: self.invitation(id)?,
                    link_id,
                })
            })
            .collect::<Result<Vec<_>>>();
        minted.or_else(|e| {
            self.store.write(|tx| {
                let why = e.to_string();
                for &(id, _) in &claimed {
                    let put_back = Transition::new(
                        id,
                        Status::Queued,
                        Actor::System,
                        AuditAction::NotSent,
                        now,
                    );
                    self.step(tx, put_back.detail(&why))?;
                    outbox::uncount_attempt(tx, id)?;
                }
                Ok(())
            })?;
            Err(e)
        })
    }

    /// Records what became of a claimed invitation's mail. Returns its status afterwards.
    pub fn record_delivery(&self, claim: &Claim, outcome: &Delivery) -> Result<Status> {
        let now = self.clock.now();
        self.store
            .write(|tx| self.record_in(tx, claim, outcome, now))
    }

    /// Records several outcomes in one transaction: what the outbox does with the mails that
    /// finished together.
    pub fn record_deliveries(&self, done: &[(Claim, Delivery)]) -> Result<Vec<Status>> {
        let now = self.clock.now();
        self.store.write(|tx| {
            done.iter()
                .map(|(claim, outcome)| self.record_in(tx, claim, outcome, now))
                .collect()
        })
    }

    fn record_in(
        &self,
        tx: &Tx<'_>,
        claim: &Claim,
        outcome: &Delivery,
        now: Timestamp,
    ) -> Result<Status> {
        let id = claim.invitation.id;
        let outbox::Attempts {
            status,
            link_id,
            attempts,
            first_attempt_at: first_attempt,
        } = outbox::attempts(tx, id)?.ok_or(Error::NoSuchInvitation(id))?;
        if status != Status::Sending {
            // Decided or revoked while the mail was on its way: the link says so by itself.
            let detail = format!("mail outcome after it was {status}: {}", describe(outcome));
            let late = AuditAction::MailedLate;
            audit::note(tx, Some(id), Actor::System, late, Some(&detail), now)?;
            return Ok(status);
        }
        let step = |to, action| Transition::new(id, to, Actor::System, action, now);
        if link_id != Some(claim.link_id) {
            let detail = "its link changed while mailing; the new link is mailed";
            self.step(
                tx,
                step(Status::Queued, AuditAction::LinkChanged).detail(detail),
            )?;
            outbox::set_next_attempt(tx, id, None)?;
            return Ok(Status::Queued);
        }
        match outcome {
            Delivery::Sent { message_id, reply } => {
                let detail = sent_detail(message_id, reply);
                let stamp = Stamp {
                    sent_at: true,
                    ..Stamp::default()
                };
                let sent = step(Status::Sent, AuditAction::Sent);
                self.step(tx, sent.detail(&detail).stamp(stamp))?;
                outbox::record_sent(tx, id, message_id)?;
                Ok(Status::Sent)
            }
            Delivery::Retry { reason } if (attempts as usize) <= BACKOFF.len() => {
                let wait = jitter(BACKOFF[(attempts as usize).saturating_sub(1)]);
                let detail = format!("{reason} (retry in {})", human_duration(wait));
                let stamp = Stamp {
                    last_error: Some(reason),
                    ..Stamp::default()
                };
                let retry = step(Status::Queued, AuditAction::Retry);
                self.step(tx, retry.detail(&detail).stamp(stamp))?;
                outbox::set_next_attempt(tx, id, Some(now + wait))?;
                Ok(Status::Queued)
            }
            Delivery::Retry { reason } => {
                let since = first_attempt.map_or(String::new(), |t| {
                    format!(" over {}", human_duration(now - t))
                });
                let error = format!("gave up after {attempts} attempts{since}: {reason}");
                self.fail_in(tx, id, &error, now)
            }
            Delivery::Failed { reason, .. } => self.fail_in(tx, id, reason, now),
        }
    }

    /// Seconds until the next queued invitation is due: 0 if one is due now, `None` if none
    /// is waiting. Lets the worker sleep exactly as long as it may.
    pub fn next_due_in(&self) -> Result<Option<i64>> {
        let now = self.clock.now();
        let next = self.store.read(outbox::next_due_at)?;
        Ok(next.map(|t| (t - now).max(0)))
    }

    /// Marks a mailing failed for good, keeping the server's words.
    fn fail_in(&self, tx: &Tx<'_>, id: i64, reason: &str, now: Timestamp) -> Result<Status> {
        let stamp = Stamp {
            last_error: Some(reason),
            ..Stamp::default()
        };
        let failed = Transition::new(id, Status::Failed, Actor::System, AuditAction::Failed, now);
        self.step(tx, failed.detail(reason).stamp(stamp))?;
        outbox::set_next_attempt(tx, id, None)?;
        Ok(Status::Failed)
    }
}

fn describe(outcome: &Delivery) -> String {
    match outcome {
        Delivery::Sent { message_id, reply } => {
            format!("sent as {}", sent_detail(message_id, reply))
        }
        Delivery::Retry { reason } | Delivery::Failed { reason, .. } => reason.clone(),
    }
}

/// The audit line of a sent mail: its Message-ID, and the server's answer when it gave one.
fn sent_detail(message_id: &str, reply: &str) -> String {
    if reply.is_empty() {
        message_id.to_owned()
    } else {
        format!("{message_id}; the server answered \"{reply}\"")
    }
}

/// `secs` ± up to 20%, from the OS RNG (a failing RNG just means no jitter).
fn jitter(secs: i64) -> i64 {
    let mut b = [0u8; 4];
    let r = getrandom::fill(&mut b).map_or(0.5, |()| {
        f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
    });
    let factor = 0.8 + 0.4 * r;
    ((secs as f64) * factor).round() as i64
}

/// `45s`, `5m`, `2h 30m`.
pub fn human_duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s % 3600 < 60 => format!("{}h", s / 3600),
        s => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..1000 {
            let j = jitter(1000);
            assert!((800..=1200).contains(&j), "{j}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(300), "5m");
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(9000), "2h 30m");
    }
}
