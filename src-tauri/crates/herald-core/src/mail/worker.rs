//! The worker that drains the outbox, inside the window and inside `herald serve`. One mail at
//! a time over a pooled connection; it sleeps until the next invitation is due, or until woken
//! (a new invitation, changed settings) or told to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::{compose, new_message_id, MailError, Mailer};
use crate::herald::Herald;
use crate::outbox::Delivery;
use crate::settings::Smtp;

/// The longest nap: settings or the keyring may change behind the worker's back.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// Mails sent side by side. A crash can repeat each mail in flight once, so this is also the
/// most duplicates a crash can cause.
pub const IN_FLIGHT: usize = 4;
/// The pause after a problem that is not one invitation's (no settings, a locked keyring).
const PROBLEM_PAUSE: Duration = Duration::from_secs(30);

/// What the worker reports as it goes, for a terminal line or the window's live status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxEvent {
    /// Invitations left in `sending` by a crash were queued again.
    Reclaimed {
        ids: Vec<i64>,
    },
    Sent {
        id: i64,
        email: String,
    },
    Retrying {
        id: i64,
        email: String,
        reason: String,
    },
    Failed {
        id: i64,
        email: String,
        reason: String,
    },
    /// Something stops all mailing until it is fixed; the message says what to do.
    Stalled {
        message: String,
    },
}

/// Runs until `shutdown` turns true. `wake` cuts a nap short.
pub async fn run_outbox(
    herald: Arc<Herald>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    events: impl Fn(OutboxEvent) + Send + Sync,
) {
    let h = herald.clone();
    match blocking(move || h.reclaim_interrupted()).await {
        Ok(ids) if !ids.is_empty() => events(OutboxEvent::Reclaimed { ids }),
        Ok(_) => {}
        Err(message) => events(OutboxEvent::Stalled { message }),
    }
    let mut mailer: Option<Mailer> = None;
    let mut last_stall: Option<String> = None;
    let stall = |message: String, last: &mut Option<String>| {
        // Say it once, not every half minute.
        if last.as_ref() != Some(&message) {
            events(OutboxEvent::Stalled {
                message: message.clone(),
            });
            *last = Some(message);
        }
    };
    while !*shutdown.borrow() {
        let pause = match step(&herald, &mut mailer, &events).await {
            Ok(Some(pause)) => {
                last_stall = None;
                pause
            }
            Ok(None) => {
                last_stall = None;
                continue;
            }
            Err(message) => {
                stall(message, &mut last_stall);
                PROBLEM_PAUSE
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wake.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Mails one invitation if one is due: `Ok(None)` to go on at once, `Ok(Some(pause))` to nap.
async fn step(
    herald: &Arc<Herald>,
    mailer: &mut Option<Mailer>,
    events: &(impl Fn(OutboxEvent) + Send + Sync),
) -> Result<Option<Duration>, String> {
    let h = herald.clone();
    let Some(settings) = blocking(move || h.smtp()).await? else {
        return Err(MailError::NotConfigured.to_string());
    };
    ensure_mailer(herald, mailer, &settings).await?;
    let Some(mailer) = mailer.clone() else {
        return Err(MailError::NotConfigured.to_string());
    };
    // Claim up to IN_FLIGHT invitations; each is committed as `sending` before its mail leaves.
    let mut claims = Vec::new();
    while claims.len() < IN_FLIGHT {
        let h = herald.clone();
        match blocking(move || h.claim_next()).await? {
            Some(c) => claims.push(c),
            None => break,
        }
    }
    if claims.is_empty() {
        let h = herald.clone();
        let due = blocking(move || h.next_due_in()).await?;
        let pause = due.map_or(MAX_IDLE, |s| {
            Duration::from_secs(s.max(1) as u64).min(MAX_IDLE)
        });
        return Ok(Some(pause));
    }
    let h = herald.clone();
    let general = Arc::new(blocking(move || h.general()).await?);
    // Send them side by side over the pooled connections; record each as it finishes.
    let mut sending = tokio::task::JoinSet::new();
    for claim in claims {
        let (mailer, general) = (mailer.clone(), general.clone());
        sending.spawn(async move {
            let message_id = new_message_id(&general.from);
            let outcome = match compose(&general, &claim.invitation, &claim.link, &message_id) {
                Ok(message) => mailer.send(&message).await,
                Err(e) => Delivery::Failed {
                    reason: e.to_string(),
                },
            };
            (claim, outcome)
        });
    }
    while let Some(done) = sending.join_next().await {
        let (claim, outcome) = done.map_err(|e| format!("internal error in the outbox: {e}"))?;
        let h = herald.clone();
        let (c, o) = (claim.clone(), outcome.clone());
        blocking(move || h.record_delivery(&c, &o)).await?;
        let (id, email) = (claim.invitation.id, claim.invitation.email.clone());
        events(match outcome {
            Delivery::Sent { .. } => OutboxEvent::Sent { id, email },
            Delivery::Retry { reason } => OutboxEvent::Retrying { id, email, reason },
            Delivery::Failed { reason } => OutboxEvent::Failed { id, email, reason },
        });
    }
    Ok(None)
}

/// (Re)builds the connection when the settings changed; the password is read from the keyring
/// each time, so a changed password takes effect without a restart.
async fn ensure_mailer(
    herald: &Arc<Herald>,
    mailer: &mut Option<Mailer>,
    settings: &Smtp,
) -> Result<(), String> {
    if mailer.as_ref().is_some_and(|m| m.settings() == settings) {
        return Ok(());
    }
    let h = herald.clone();
    let password =
        blocking(move || h.keyring().smtp_password().map_err(crate::Error::from)).await?;
    *mailer = Some(Mailer::new(settings, password).map_err(|e| e.to_string())?);
    Ok(())
}

/// Core calls touch SQLite and the keyring: off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("internal error in the outbox: {e}")),
    }
}
