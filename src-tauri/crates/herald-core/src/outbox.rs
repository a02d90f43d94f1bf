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

use rusqlite::{params, OptionalExtension};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::hint::Hint;
use crate::links::MintedLink;
use crate::model::{Actor, Invitation, Status};
use crate::store::{self, Stamp};

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
        self.store.read(|tx| {
            store::row(
                tx,
                "SELECT count(*) FROM invitations
                 WHERE status = 'queued' AND coalesce(next_attempt_at, 0) <= ?1",
                [now],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.store.err(e))
        })
    }

    /// Queues again whatever a crash or kill left in `sending`. Needs the lease: only the
    /// worker that holds it can know that nothing in `sending` is being mailed.
    pub fn reclaim_interrupted(&self, _lease: &OutboxLease) -> Result<Vec<i64>> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let ids: Vec<i64> = {
                let mut stmt = tx
                    .prepare("SELECT id FROM invitations WHERE status = 'sending' ORDER BY id")
                    .map_err(|e| self.store.err(e))?;
                let rows = stmt
                    .query_map([], |r| r.get(0))
                    .map_err(|e| self.store.err(e))?;
                rows.collect::<rusqlite::Result<_>>()
                    .map_err(|e| self.store.err(e))?
            };
            for &id in &ids {
                let detail = "Herald stopped while mailing it; it is mailed again";
                self.step(
                    tx,
                    id,
                    Status::Queued,
                    Actor::System,
                    "interrupted",
                    Some(detail),
                    now,
                )?;
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
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let claimed: Vec<(i64, i64)> = self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            let ids: Vec<i64> = {
                // Never-tried invitations (no next attempt: NULL sorts first) in the order
                // they were made, then retries as they fall due. Written so the
                // (status, next_attempt_at) index yields the rows without a sort.
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id FROM invitations
                         WHERE status = 'queued'
                           AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                         ORDER BY next_attempt_at, id LIMIT ?2",
                    )
                    .map_err(|e| self.store.err(e))?;
                let rows = stmt
                    .query_map(params![now, limit], |r| r.get(0))
                    .map_err(|e| self.store.err(e))?;
                rows.collect::<rusqlite::Result<_>>()
                    .map_err(|e| self.store.err(e))?
            };
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                self.step(tx, id, Status::Sending, Actor::System, "sending", None, now)?;
                store::exec(
                    tx,
                    "UPDATE invitations SET attempts = attempts + 1,
                         first_attempt_at = coalesce(first_attempt_at, ?2)
                     WHERE id = ?1",
                    params![id, now],
                )
                .map_err(|e| self.store.err(e))?;
                let link = store::current_link(tx, id)
                    .map_err(|e| self.store.err(e))?
                    .ok_or(Error::NoSuchInvitation(id))?;
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
                for &(id, _) in &claimed {
                    self.step(
                        tx,
                        id,
                        Status::Queued,
                        Actor::System,
                        "not-sent",
                        Some(&e.to_string()),
                        now,
                    )?;
                    store::exec(
                        tx,
                        "UPDATE invitations SET attempts = attempts - 1 WHERE id = ?1",
                        [id],
                    )
                    .map_err(|e| self.store.err(e))?;
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
        tx: &rusqlite::Transaction<'_>,
        claim: &Claim,
        outcome: &Delivery,
        now: Timestamp,
    ) -> Result<Status> {
        let id = claim.invitation.id;
        let row: Option<(String, Option<i64>, u32, Option<Timestamp>)> = store::row(
            tx,
            "SELECT status, link_id, attempts, first_attempt_at FROM invitations WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(|e| self.store.err(e))?;
        let (status, link_id, attempts, first_attempt) = row.ok_or(Error::NoSuchInvitation(id))?;
        let status = Status::parse(&status).unwrap_or(Status::Queued);
        if status != Status::Sending {
            // Decided or revoked while the mail was on its way: the link says so by itself.
            let detail = format!("mail outcome after it was {status}: {}", describe(outcome));
            store::audit(
                tx,
                Some(id),
                now,
                Actor::System,
                "mailed-late",
                None,
                None,
                Some(&detail),
            )
            .map_err(|e| self.store.err(e))?;
            return Ok(status);
        }
        if link_id != Some(claim.link_id) {
            let detail = "its link changed while mailing; the new link is mailed";
            self.step(
                tx,
                id,
                Status::Queued,
                Actor::System,
                "link-changed",
                Some(detail),
                now,
            )?;
            self.reset_retry(tx, id, None)?;
            return Ok(Status::Queued);
        }
        match outcome {
            Delivery::Sent { message_id, reply } => {
                let detail = sent_detail(message_id, reply);
                let stamp = Stamp {
                    sent_at: true,
                    ..Stamp::default()
                };
                self.step_stamped(
                    tx,
                    id,
                    Status::Sent,
                    Actor::System,
                    "sent",
                    Some(&detail),
                    stamp,
                    now,
                )?;
                store::exec(
                    tx,
                    "UPDATE invitations SET message_id = ?2, last_error = NULL,
                         next_attempt_at = NULL, first_attempt_at = NULL
                     WHERE id = ?1",
                    params![id, message_id],
                )
                .map_err(|e| self.store.err(e))?;
                Ok(Status::Sent)
            }
            Delivery::Retry { reason } if (attempts as usize) <= BACKOFF.len() => {
                let wait = jitter(BACKOFF[(attempts as usize).saturating_sub(1)]);
                let detail = format!("{reason} (retry in {})", human_duration(wait));
                let stamp = Stamp {
                    last_error: Some(reason),
                    ..Stamp::default()
                };
                self.step_stamped(
                    tx,
                    id,
                    Status::Queued,
                    Actor::System,
                    "retry",
                    Some(&detail),
                    stamp,
                    now,
                )?;
                self.reset_retry(tx, id, Some(now + wait))?;
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
        let next: Option<i64> = self.store.read(|tx| {
            store::row(
                tx,
                "SELECT min(coalesce(next_attempt_at, 0)) FROM invitations WHERE status = 'queued'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.store.err(e))
        })?;
        Ok(next.map(|t| (t - now).max(0)))
    }

    /// Marks a mailing failed for good, keeping the server's words.
    fn fail_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        id: i64,
        reason: &str,
        now: Timestamp,
    ) -> Result<Status> {
        let stamp = Stamp {
            last_error: Some(reason),
            ..Stamp::default()
        };
        self.step_stamped(
            tx,
            id,
            Status::Failed,
            Actor::System,
            "failed",
            Some(reason),
            stamp,
            now,
        )?;
        self.reset_retry(tx, id, None)?;
        Ok(Status::Failed)
    }

    fn reset_retry(
        &self,
        tx: &rusqlite::Connection,
        id: i64,
        next: Option<Timestamp>,
    ) -> Result<()> {
        store::exec(
            tx,
            "UPDATE invitations SET next_attempt_at = ?2 WHERE id = ?1",
            params![id, next],
        )
        .map(drop)
        .map_err(|e| self.store.err(e))
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
