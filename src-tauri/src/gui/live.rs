//! While Herald's window or tray is open, it mails queued invitations and serves the
//! confirmation site in-process, through the same `herald_server::Service` that `herald serve`
//! runs, and tells the window (the
//! `live` event) and the desktop (notifications) what happens. If `herald serve` already runs
//! on the same data folder, the outbox lease keeps the two from mailing the same invitation,
//! and the port being taken leaves the site to it.

use std::sync::Arc;

use herald_api::{Client, Local};
use herald_core::mail::OutboxEvent;
use herald_core::{Herald, SiteEvent};
use tauri::{AppHandle, Emitter, Manager};

use super::commands::{lock, Backend};
use super::contract::{LiveEvent, OutboxState, SiteState};
use super::notify::{notify, Answer};
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
        let outbox_app = app.clone();
        let on_outbox: herald_server::OutboxEvents = Arc::new(move |e: OutboxEvent| {
            log_outbox(&e);
            let state = outbox_app.state::<Backend>();
            match e {
                OutboxEvent::Standby => *lock(&state.outbox) = OutboxState::Standby,
                OutboxEvent::Active { .. } => *lock(&state.outbox) = OutboxState::Active,
                _ => {}
            }
            let _ = outbox_app.emit(LIVE_EVENT, LiveEvent::from(e));
        });
        let site_app = app.clone();
        let site_herald = herald.clone();
        let on_site: herald_server::Events = Arc::new(move |e: SiteEvent| {
            notify_local(&site_app, &site_herald, &e);
            let _ = site_app.emit(LIVE_EVENT, LiveEvent::from(e));
        });
        // The proxies or tunnel in front of the site, from Settings (read at start, like the
        // address): without them every invitee arriving through a tunnel shares one rate limit.
        let config = herald_server::Service::config(&herald, &[]).unwrap_or_default();
        let site = listen(&app, &herald).await;
        let serving = site.is_some();
        // Lives as long as the app: the outbox and the site stop with the process.
        let (_keep, stop) = tokio::sync::watch::channel(false);
        let service = herald_server::Service {
            herald,
            site,
            config,
            wake,
            on_outbox,
            on_site,
        };
        if let Err(e) = service.run(stop).await {
            if serving {
                set_site(
                    &app,
                    SiteState::NotServing {
                        message: format!("the confirmation site stopped: {e}"),
                    },
                );
            }
        }
    });
}

fn set_site(app: &AppHandle, site: SiteState) {
    if let SiteState::NotServing { message } = &site {
        tracing::warn!("confirmation site: not serving: {message}");
    }
    *lock(&app.state::<Backend>().site) = site.clone();
    let _ = app.emit(LIVE_EVENT, LiveEvent::Site { site });
}

/// The site's listener at the address the settings give, or `None` (and the window told why):
/// the outbox mails all the same.
async fn listen(app: &AppHandle, herald: &Herald) -> Option<tokio::net::TcpListener> {
    let addr = match site_address(herald) {
        Ok(a) => a,
        Err(message) => {
            set_site(app, SiteState::NotServing { message });
            return None;
        }
    };
    match herald_server::bind(addr).await {
        Ok(listener) => {
            set_site(
                app,
                SiteState::Serving {
                    address: format!("http://{addr}"),
                },
            );
            Some(listener)
        }
        Err(e) => {
            set_site(
                app,
                SiteState::NotServing {
                    message: super::hints::sentence(&e.to_string(), e.hint()),
                },
            );
            None
        }
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

/// A desktop notification for an answer to this window's site.
fn notify_local(app: &AppHandle, herald: &Arc<Herald>, e: &SiteEvent) {
    let (answer, id) = match e {
        SiteEvent::Accepted { id } => (Answer::Accepted, *id),
        SiteEvent::Declined { id, never_again } => (
            Answer::Declined {
                never_again: *never_again,
            },
            *id,
        ),
        SiteEvent::AskedAgain { id } => (Answer::AskedAgain, *id),
        SiteEvent::Opened { .. } | SiteEvent::OptedOut { .. } => return,
    };
    let client = Arc::new(Client::Local(Local::new(herald.clone())));
    notify(app, client, answer, id);
}
