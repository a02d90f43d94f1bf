//! While Herald's window or tray is open, it mails queued invitations and serves the
//! confirmation site in-process, exactly as `herald serve` does, and tells the window (the
//! `live` event) and the desktop (notifications) what happens. If `herald serve` already runs
//! on the same data folder, the outbox lease keeps the two from mailing the same invitation,
//! and the port being taken leaves the site to it.

use std::sync::Arc;

use herald_core::mail::OutboxEvent;
use herald_core::{Herald, SiteEvent};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use super::commands::{lock, Backend};
use super::contract::{LiveEvent, OutboxState, SiteState};
use super::LIVE_EVENT;

/// Starts the outbox and the site once the data folder is set up; does nothing before.
pub fn start(app: &AppHandle) {
    let state = app.state::<Backend>();
    let Some(herald) = state.herald() else {
        return;
    };
    if *lock(&state.outbox) != OutboxState::NotStarted {
        return;
    }
    *lock(&state.outbox) = OutboxState::Active;
    let wake = state.wake.clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // Lives as long as the app: the outbox stops with the process.
        let (_keep, stop) = tokio::sync::watch::channel(false);
        let outbox_app = app.clone();
        let outbox = herald_core::mail::run_outbox(herald.clone(), wake, stop, move |e| {
            log_outbox(&e);
            let state = outbox_app.state::<Backend>();
            match e {
                OutboxEvent::Standby => *lock(&state.outbox) = OutboxState::Standby,
                OutboxEvent::Active { .. } => *lock(&state.outbox) = OutboxState::Active,
                _ => {}
            }
            let _ = outbox_app.emit(LIVE_EVENT, LiveEvent::from(e));
        });
        tokio::join!(outbox, serve_site(app, herald));
    });
}

async fn serve_site(app: AppHandle, herald: Arc<Herald>) {
    let set = |site: SiteState| {
        if let SiteState::NotServing { message } = &site {
            tracing::warn!("confirmation site: not serving: {message}");
        }
        *lock(&app.state::<Backend>().site) = site.clone();
        let _ = app.emit(LIVE_EVENT, LiveEvent::Site { site });
    };
    let addr = match site_address(&herald) {
        Ok(a) => a,
        Err(message) => {
            set(SiteState::NotServing { message });
            return;
        }
    };
    let listener = match herald_server::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            set(SiteState::NotServing {
                message: super::hints::sentence(&e.to_string(), e.hint()),
            });
            return;
        }
    };
    set(SiteState::Serving {
        address: format!("http://{addr}"),
    });
    let events_app = app.clone();
    let events_herald = herald.clone();
    let events: herald_server::Events = Arc::new(move |e: SiteEvent| {
        notify(&events_app, &events_herald, &e);
        let _ = events_app.emit(LIVE_EVENT, LiveEvent::from(e));
    });
    // The proxies or tunnel in front of the site, from Settings (read at start, like the
    // address): without them every invitee arriving through a tunnel shares one rate limit.
    let config = herald_server::SiteConfig {
        trusted_proxies: herald
            .site()
            .map(|s| s.trusted_proxy_ips())
            .unwrap_or_default(),
    };
    if let Err(e) =
        herald_server::run(listener, herald, config, events, std::future::pending()).await
    {
        set(SiteState::NotServing {
            message: format!("the confirmation site stopped: {e}"),
        });
    }
}

/// The window's log gets what needs the owner's attention (see `gui::log`): the outbox's
/// failures and waits. Each mail sent is the window's to show, not the log's.
fn log_outbox(e: &OutboxEvent) {
    match e {
        OutboxEvent::Failed {
            id, reason, hint, ..
        } => tracing::warn!(
            "outbox: #{id} failed: {}",
            super::hints::sentence(reason, *hint)
        ),
        OutboxEvent::Retrying { id, reason, .. } => {
            tracing::info!("outbox: #{id} will be retried: {reason}")
        }
        OutboxEvent::Stalled { message, hint } => {
            tracing::warn!(
                "outbox: waiting: {}",
                super::hints::sentence(message, *hint)
            )
        }
        OutboxEvent::Standby => {
            tracing::info!("outbox: another Herald mails from this data folder; standing by")
        }
        _ => {}
    }
}

/// Where the window serves the site: the core's rule (a public URL on this machine names the
/// address, anything else goes to the bind address of the settings).
fn site_address(herald: &Herald) -> Result<std::net::SocketAddr, String> {
    let at = || -> herald_core::Result<std::net::SocketAddr> {
        let public_url = herald.general()?.public_url;
        Ok(herald.site()?.listen_address(&public_url)?)
    };
    at().map_err(|e| super::hints::sentence(&e.to_string(), e.hint()))
}

/// A desktop notification for what the owner waits for: an answer, or a request for a new
/// link. Openings are not worth interrupting anyone for.
fn notify(app: &AppHandle, herald: &Arc<Herald>, e: &SiteEvent) {
    let id = match e {
        SiteEvent::Accepted { id }
        | SiteEvent::Declined { id, .. }
        | SiteEvent::AskedAgain { id } => *id,
        SiteEvent::Opened { .. } | SiteEvent::OptedOut { .. } => return,
    };
    let (app, herald, e) = (app.clone(), herald.clone(), e.clone());
    // The lookup reads SQLite: off the site's async threads.
    tauri::async_runtime::spawn_blocking(move || {
        let Ok(inv) = herald.invitation(id) else {
            return;
        };
        let who = inv.name.clone().unwrap_or_else(|| inv.email.clone());
        let team = herald.general().map(|g| g.team).unwrap_or_default();
        let (title, body) = match e {
            SiteEvent::Accepted { .. } => (
                format!("{who} accepted"),
                format!("{} joins {team} as {}.", inv.email, inv.role),
            ),
            SiteEvent::Declined { never_again, .. } => (
                format!("{who} declined"),
                if never_again {
                    format!("{} asked never to be invited to {team} again.", inv.email)
                } else {
                    format!("{} declined the invitation to {team}.", inv.email)
                },
            ),
            _ => (
                format!("{who} asks for a new invitation"),
                "Their link has ended. Renew the invitation to mail a fresh one.".to_owned(),
            ),
        };
        // No notification service (a bare session, a test display) is no reason to fail.
        let _ = app.notification().builder().title(title).body(body).show();
    });
}
