//! Desktop notifications for what the owner waits for: an answer, or a request for a new link.
//! Openings are not worth interrupting anyone for. The same words whether the invitee answered
//! this window's site or the paired server's: the details are asked through the owner
//! operations, wherever they run.

use std::sync::Arc;

use herald_api::types::InvitationId;
use herald_api::Client;
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    Declined { never_again: bool },
    AskedAgain,
}

/// Looks the invitation up (off the caller's thread) and shows the notification.
pub fn notify(app: &AppHandle, client: Arc<Client>, answer: Answer, id: i64) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Ok(detail) = client.invitation_detail(InvitationId { id }).await else {
            return;
        };
        let team = client
            .settings(())
            .await
            .map(|s| s.general.team)
            .unwrap_or_default();
        let (title, body) = words(answer, &detail.invitation, &team);
        // No notification service (a bare session, a test display) is no reason to fail.
        let _ = app.notification().builder().title(title).body(body).show();
    });
}

fn words(answer: Answer, inv: &herald_core::Invitation, team: &str) -> (String, String) {
    let who = inv.name.clone().unwrap_or_else(|| inv.email.clone());
    match answer {
        Answer::Accepted => (
            format!("{who} accepted"),
            format!("{} joins {team} as {}.", inv.email, inv.role),
        ),
        Answer::Declined { never_again } => (
            format!("{who} declined"),
            if never_again {
                format!("{} asked never to be invited to {team} again.", inv.email)
            } else {
                format!("{} declined the invitation to {team}.", inv.email)
            },
        ),
        Answer::AskedAgain => (
            format!("{who} asks for a new invitation"),
            "Their link has ended. Renew the invitation to mail a fresh one.".to_owned(),
        ),
    }
}
