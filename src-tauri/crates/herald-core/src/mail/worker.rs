//! The worker that drains the outbox, inside the window and inside `herald serve`. It takes
//! the data folder's outbox lease (one worker per folder), then keeps up to [`IN_FLIGHT`] mails
//! on their way over reused SMTP sessions; it sleeps until the next invitation is due, or until
//! woken (a new invitation, changed settings) or told to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use super::{compose, new_message_id, MailError, Mailer};
use crate::herald::Herald;
use crate::hint::Hint;
use crate::outbox::{Claim, Delivery, OutboxLease};
use crate::settings::{General, Smtp};
use crate::state::Status;
use crate::store::CommitWatch;

/// The longest nap: settings or the keyring may change behind the worker's back.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// Mails sent side by side, each over its own SMTP session. A crash can repeat each mail in
/// flight once, so this is also the most duplicates a crash can cause. Kept small because
/// many providers refuse more than a few sessions per account.
pub const IN_FLIGHT: usize = 4;
/// The pause after a problem that is not one invitation's (no settings, a locked keyring).
const PROBLEM_PAUSE: Duration = Duration::from_secs(30);
/// How often a worker without the lease asks again whether the holder has gone.
const LEASE_PAUSE: Duration = Duration::from_secs(5);
/// How often a napping worker asks SQLite whether anything was committed (by the CLI in
/// another process, say): a read of shared memory, so another process's invitation goes out
/// within this time rather than at the next timed look.
const COMMIT_POLL: Duration = Duration::from_millis(250);

/// Where the current batch stands: `done` of `total` mails have an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// What the worker reports as it goes, for a terminal line or the window's live status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxEvent {
    /// Another worker holds this data folder's outbox; this one waits to take over.
    Standby,
    /// This worker now mails for the data folder: at start, or (`took_over`) after standing
    /// by while another worker did.
    Active { took_over: bool },
    /// Invitations left in `sending` by a crash were queued again.
    Reclaimed { ids: Vec<i64> },
    Sent {
        id: i64,
        email: String,
        progress: Progress,
    },
    Retrying {
        id: i64,
        email: String,
        reason: String,
        progress: Progress,
    },
    Failed {
        id: i64,
        email: String,
        reason: String,
        /// When the settings, not this mail, are at fault.
        hint: Option<Hint>,
        progress: Progress,
    },
    /// Something stops all mailing until it is fixed: what, and the way forward.
    Stalled { message: String, hint: Option<Hint> },
}

/// Why the worker cannot mail for now: said once, then tried again after a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stall {
    message: String,
    hint: Option<Hint>,
}

impl Stall {
    fn internal(e: impl std::fmt::Display) -> Stall {
        Stall {
            message: format!("internal error in the outbox: {e}"),
            hint: None,
        }
    }

    fn event(&self) -> OutboxEvent {
        OutboxEvent::Stalled {
            message: self.message.clone(),
            hint: self.hint,
        }
    }
}

impl From<crate::Error> for Stall {
    fn from(e: crate::Error) -> Stall {
        Stall {
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

impl From<MailError> for Stall {
    fn from(e: MailError) -> Stall {
        Stall {
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

/// Runs until `shutdown` turns true. `wake` cuts a nap short.
pub async fn run_outbox(
    herald: Arc<Herald>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    events: impl Fn(OutboxEvent) + Send + Sync,
) {
    let mut last_stall: Option<Stall> = None;
    let stall = |problem: Stall, last: &mut Option<Stall>| {
        // Say it once, not every half minute.
        if last.as_ref() != Some(&problem) {
            events(problem.event());
            *last = Some(problem);
        }
    };
    // Held until the worker stops; the OS lets go of it if the process dies.
    let Some(lease) = take_lease(&herald, &mut shutdown, &events).await else {
        return;
    };
    let lease = Arc::new(lease);
    let (h, l) = (herald.clone(), lease.clone());
    match blocking(move || h.reclaim_interrupted(&l)).await {
        Ok(ids) if !ids.is_empty() => events(OutboxEvent::Reclaimed { ids }),
        Ok(_) => {}
        Err(problem) => stall(problem, &mut last_stall),
    }
    // Without a watch the worker still looks at its usual times.
    let h = herald.clone();
    let mut commits = blocking(move || h.watch_commits()).await.ok();
    let mut mailer: Option<Mailer> = None;
    while !*shutdown.borrow() {
        let pause = match drain(&herald, &mut mailer, &events).await {
            Ok(pause) => {
                last_stall = None;
                pause
            }
            Err(problem) => {
                stall(problem, &mut last_stall);
                // What this drain itself committed (claims put back because the keyring is
                // locked, say) must not end the pause: the worker would claim and put back
                // every quarter second, writing the history full. A commit by anyone else
                // from now on still wakes it.
                if let Some(watch) = commits.as_mut() {
                    watch.committed();
                }
                PROBLEM_PAUSE
            }
        };
        // Nothing to send for now: free the server's session slots.
        if let Some(m) = &mailer {
            m.close_idle().await;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wake.notified() => {}
            () = committed(&mut commits) => {}
            _ = shutdown.changed() => {}
        }
    }
    if let Some(m) = &mailer {
        m.close_idle().await;
    }
}

/// Returns once anything has been committed to the store since the last look. Commits of
/// this worker's own count too; they cost one more look at an outbox with nothing due.
async fn committed(watch: &mut Option<CommitWatch>) {
    let Some(watch) = watch else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(COMMIT_POLL).await;
        if watch.committed() {
            return;
        }
    }
}

/// Waits for the lease, saying once that it waits. `None` if told to stop first.
async fn take_lease(
    herald: &Arc<Herald>,
    shutdown: &mut watch::Receiver<bool>,
    events: &(impl Fn(OutboxEvent) + Send + Sync),
) -> Option<OutboxLease> {
    let mut said = None::<Stall>;
    loop {
        let h = herald.clone();
        match blocking(move || h.try_outbox_lease()).await {
            Ok(Some(lease)) => {
                events(OutboxEvent::Active {
                    took_over: said.is_some(),
                });
                return Some(lease);
            }
            Ok(None) if said.is_none() => {
                events(OutboxEvent::Standby);
                said = Some(Stall {
                    message: String::new(),
                    hint: None,
                });
            }
            Ok(None) => {}
            Err(problem) if said.as_ref() != Some(&problem) => {
                events(problem.event());
                said = Some(problem);
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(LEASE_PAUSE) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return None;
        }
    }
}

/// Mails everything that is due, keeping up to [`IN_FLIGHT`] mails on their way; returns how
/// long to nap before the next invitation is due.
async fn drain(
    herald: &Arc<Herald>,
    mailer: &mut Option<Mailer>,
    events: &(impl Fn(OutboxEvent) + Send + Sync),
) -> Result<Duration, Stall> {
    let h = herald.clone();
    let Some(settings) = blocking(move || h.smtp()).await? else {
        return Err(MailError::NotConfigured.into());
    };
    let h = herald.clone();
    let general = Arc::new(blocking(move || h.general()).await?);
    ensure_mailer(herald, mailer, &settings, &general.from).await?;
    let Some(mailer) = mailer.clone() else {
        return Err(MailError::NotConfigured.into());
    };
    let h = herald.clone();
    let mut progress = Progress {
        done: 0,
        total: blocking(move || h.due_count()).await?,
    };
    let mut claimed = 0;
    let mut sending = JoinSet::new();
    let mut problem = None;
    // The first claims; after them, each trip to the pool records the mails that finished and
    // claims as many new ones (a separate trip each made the free sessions wait for both).
    let h = herald.clone();
    let mut claims = blocking(move || Ok(h.claim_due(IN_FLIGHT))).await?;
    loop {
        // Each claim is committed as `sending` before its mail leaves.
        match claims {
            Ok(new) => {
                claimed += new.len();
                if claimed > progress.total {
                    // Invitations queued while the batch runs join it.
                    let h = herald.clone();
                    let due = blocking(move || h.due_count()).await.unwrap_or(0);
                    progress.total = claimed + due;
                }
                for claim in new {
                    sending.spawn(send(mailer.clone(), general.clone(), claim));
                }
            }
            // Mail already on its way is still recorded before the problem is reported.
            Err(e) => {
                problem.get_or_insert(Stall::from(e));
            }
        }
        let Some(first) = sending.join_next().await else {
            break;
        };
        // Record together whatever else has finished meanwhile: one transaction, not one each.
        let mut done = vec![first];
        while let Some(more) = sending.try_join_next() {
            done.push(more);
        }
        let done = done
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(Stall::internal)?;
        let room = if problem.is_none() {
            IN_FLIGHT - sending.len()
        } else {
            0
        };
        let h = herald.clone();
        let (done, recorded, next) = blocking(move || {
            let recorded = h.record_deliveries(&done);
            // Nothing new is claimed after a failed record: the store is in trouble.
            let next = match &recorded {
                Ok(_) if room > 0 => h.claim_due(room),
                _ => Ok(Vec::new()),
            };
            Ok((done, recorded, next))
        })
        .await?;
        claims = next;
        let statuses = match recorded {
            Ok(statuses) => statuses,
            Err(e) => {
                // They stay in `sending` and are mailed again after a restart.
                problem.get_or_insert(e.into());
                continue;
            }
        };
        for ((claim, outcome), status) in done.into_iter().zip(statuses) {
            progress.done += 1;
            let (id, email) = (claim.invitation.id, claim.invitation.email);
            events(match outcome {
                Delivery::Sent { .. } => OutboxEvent::Sent {
                    id,
                    email,
                    progress,
                },
                // The last transient failure the backoff allows: the store has just marked it
                // failed, so say so (reporting "will be retried" here left the owner waiting
                // for a retry that never comes).
                Delivery::Retry { reason } if status == Status::Failed => OutboxEvent::Failed {
                    id,
                    email,
                    reason: format!(
                        "gave up after {} attempts: {reason}",
                        claim.invitation.attempts
                    ),
                    hint: None,
                    progress,
                },
                Delivery::Retry { reason } => OutboxEvent::Retrying {
                    id,
                    email,
                    reason,
                    progress,
                },
                Delivery::Failed { reason, hint } => OutboxEvent::Failed {
                    id,
                    email,
                    reason,
                    hint,
                    progress,
                },
            });
        }
    }
    if let Some(problem) = problem {
        return Err(problem);
    }
    let h = herald.clone();
    let due = blocking(move || h.next_due_in()).await?;
    Ok(due.map_or(MAX_IDLE, |s| {
        Duration::from_secs(s.max(1) as u64).min(MAX_IDLE)
    }))
}

async fn send(mailer: Mailer, general: Arc<General>, claim: Claim) -> (Claim, Delivery) {
    let message_id = new_message_id(&general.from);
    let outcome = match compose(&general, &claim.invitation, &claim.link, &message_id) {
        Ok(message) => mailer.send(&message).await,
        Err(e) => Delivery::Failed {
            reason: e.to_string(),
            hint: None,
        },
    };
    (claim, outcome)
}

/// (Re)builds the mailer when the settings or the sender changed; the password is read from
/// the keyring each time, so a changed password takes effect without a restart.
async fn ensure_mailer(
    herald: &Arc<Herald>,
    mailer: &mut Option<Mailer>,
    settings: &Smtp,
    sender: &str,
) -> Result<(), Stall> {
    if mailer
        .as_ref()
        .is_some_and(|m| m.settings() == settings && m.sender() == sender)
    {
        return Ok(());
    }
    let h = herald.clone();
    let password =
        blocking(move || h.keyring().smtp_password().map_err(crate::Error::from)).await?;
    if let Some(old) = mailer.take() {
        old.close_idle().await;
    }
    *mailer = Some(Mailer::new(settings, sender, password)?);
    Ok(())
}

/// Core calls touch SQLite and the keyring: off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, Stall> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Stall::from),
        Err(e) => Err(Stall::internal(e)),
    }
}
