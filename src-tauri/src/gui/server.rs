//! A window paired with an always-on Herald hears what happens there through the owner API's
//! event stream, as `herald watch` does: each answer becomes the same `live` event and the same
//! desktop notification as on one computer, and the stream's losses and returns tell the
//! window that what it shows may be stale. The stream resumes from the last event it saw, so
//! a server restart or a sleeping laptop misses nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use herald_api::{ApiError, Client, WatchItem};
use herald_core::{AuditAction, Event};
use tauri::{AppHandle, Emitter, Manager};

use super::commands::{lock, Paired};
use super::contract::{LiveEvent, MailOutcome, ServerLink};
use super::notify::{notify, Answer};
use super::LIVE_EVENT;

/// The running stream, so that forgetting the server stops it.
#[derive(Default)]
pub struct Watcher(Mutex<Option<tauri::async_runtime::JoinHandle<()>>>);

/// The longest pause between two tries to open the stream when the server is down at start
/// (once open, the stream itself retries every few seconds).
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Starts hearing the paired server's events (and stops any earlier stream).
pub fn watch(app: &AppHandle, paired: Paired) {
    stop(app);
    let task = tauri::async_runtime::spawn(run(app.clone(), paired.client));
    *lock(&app.state::<Watcher>().0) = Some(task);
}

pub fn stop(app: &AppHandle) {
    if let Some(task) = lock(&app.state::<Watcher>().0).take() {
        task.abort();
    }
}

fn link(app: &AppHandle, link: ServerLink) {
    let _ = app.emit(LIVE_EVENT, LiveEvent::Server { link });
}

fn message(e: &ApiError) -> String {
    super::hints::sentence(&e.message, e.hint)
}

async fn run(app: AppHandle, client: Arc<Client>) {
    let mut after: Option<i64> = None;
    let mut pause = Duration::from_secs(1);
    loop {
        let mut stream = match client.watch(after).await {
            Ok(s) => s,
            Err(e) if is_refusal(&e) => {
                link(
                    &app,
                    ServerLink::Refused {
                        message: message(&e),
                    },
                );
                return;
            }
            Err(e) => {
                link(
                    &app,
                    ServerLink::Unreachable {
                        message: message(&e),
                    },
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                continue;
            }
        };
        pause = Duration::from_secs(1);
        link(&app, ServerLink::Reachable);
        // Whatever happened while the stream was not open.
        let _ = app.emit(LIVE_EVENT, LiveEvent::Changed);
        while let Some(item) = stream.next().await {
            match item {
                Ok(WatchItem::Event(e)) => {
                    after = Some(e.id);
                    heard(&app, &client, e);
                }
                Ok(WatchItem::Lost(e)) => link(
                    &app,
                    ServerLink::Unreachable {
                        message: message(&e),
                    },
                ),
                Ok(WatchItem::Back) => {
                    link(&app, ServerLink::Reachable);
                    let _ = app.emit(LIVE_EVENT, LiveEvent::Changed);
                }
                // The stream's last item: the server refuses this computer.
                Err(e) => {
                    link(
                        &app,
                        ServerLink::Refused {
                            message: message(&e),
                        },
                    );
                    return;
                }
            }
        }
    }
}

fn is_refusal(e: &ApiError) -> bool {
    matches!(
        e.reason,
        Some(herald_api::Reason::NotAuthorized | herald_api::Reason::Version)
    )
}

/// One of the server's events, as the window hears a local one.
fn heard(app: &AppHandle, client: &Arc<Client>, e: Event) {
    let (live, answer) = translate(e);
    if let Some((answer, id)) = answer {
        notify(app, client.clone(), answer, id);
    }
    let _ = app.emit(LIVE_EVENT, live);
}

/// The `live` event a server event stands for, and the answer worth a notification, if any.
fn translate(e: Event) -> (LiveEvent, Option<(Answer, i64)>) {
    match (e.entry.action, e.invitation_id) {
        (AuditAction::Accepted, Some(id)) => {
            (LiveEvent::Accepted { id }, Some((Answer::Accepted, id)))
        }
        (AuditAction::Declined, Some(id)) => (
            LiveEvent::Declined {
                id,
                never_again: false,
            },
            Some((Answer::Declined { never_again: false }, id)),
        ),
        (AuditAction::AskedAgain, Some(id)) => {
            (LiveEvent::AskedAgain { id }, Some((Answer::AskedAgain, id)))
        }
        (AuditAction::OptedOut, _) => match e.email {
            Some(email) => (LiveEvent::OptedOut { email }, None),
            None => (LiveEvent::Changed, None),
        },
        (AuditAction::Opened, Some(id)) => (
            LiveEvent::Opened {
                id,
                automated: false,
            },
            None,
        ),
        (AuditAction::Scanned, Some(id)) => (
            LiveEvent::Opened {
                id,
                automated: true,
            },
            None,
        ),
        (action @ (AuditAction::Sent | AuditAction::Retry | AuditAction::Failed), Some(id)) => {
            let outcome = match action {
                AuditAction::Sent => MailOutcome::Sent,
                AuditAction::Retry => MailOutcome::Retrying,
                _ => MailOutcome::Failed,
            };
            let email = e.email.unwrap_or_default();
            (LiveEvent::Mailed { id, email, outcome }, None)
        }
        // The owners' own actions, keys: the lists are stale, nothing more.
        _ => (LiveEvent::Changed, None),
    }
}

#[cfg(test)]
mod tests {
    use herald_core::{Actor, AuditEntry, Status};

    use super::*;

    fn event(action: AuditAction, invitation_id: Option<i64>) -> Event {
        Event {
            id: 7,
            invitation_id,
            email: Some("ada@example.com".to_owned()),
            entry: AuditEntry {
                at: 1,
                actor: Actor::Invitee,
                action,
                from_status: Some(Status::Sent),
                to_status: None,
                detail: None,
                owner: None,
            },
        }
    }

    #[test]
    fn answers_notify_and_the_rest_only_refresh() {
        assert_eq!(
            translate(event(AuditAction::Accepted, Some(3))),
            (LiveEvent::Accepted { id: 3 }, Some((Answer::Accepted, 3)))
        );
        assert_eq!(
            translate(event(AuditAction::AskedAgain, Some(3))).1,
            Some((Answer::AskedAgain, 3))
        );
        assert_eq!(
            translate(event(AuditAction::OptedOut, Some(3))),
            (
                LiveEvent::OptedOut {
                    email: "ada@example.com".to_owned()
                },
                None
            )
        );
        assert_eq!(
            translate(event(AuditAction::Scanned, Some(3))),
            (
                LiveEvent::Opened {
                    id: 3,
                    automated: true
                },
                None
            )
        );
        assert_eq!(
            translate(event(AuditAction::Sent, Some(3))),
            (
                LiveEvent::Mailed {
                    id: 3,
                    email: "ada@example.com".to_owned(),
                    outcome: MailOutcome::Sent
                },
                None
            )
        );
        assert_eq!(
            translate(event(AuditAction::Retry, Some(3))).0,
            LiveEvent::Mailed {
                id: 3,
                email: "ada@example.com".to_owned(),
                outcome: MailOutcome::Retrying
            }
        );
        for quiet in [
            AuditAction::Sending,
            AuditAction::Created,
            AuditAction::Revoked,
        ] {
            assert_eq!(translate(event(quiet, Some(3))), (LiveEvent::Changed, None));
        }
        // An answer about no invitation (there is none) is not one to announce.
        assert_eq!(
            translate(event(AuditAction::Accepted, None)),
            (LiveEvent::Changed, None)
        );
    }
}
