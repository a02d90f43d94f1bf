//! What runs wherever the data folder lives, whichever face started it: the outbox, and the
//! confirmation site beside it, until told to stop. `herald serve` and the window both start
//! them through [`Service::run`], so the two cannot drift apart in what they run, with which
//! settings, or how they stop. The faces keep only what is theirs: where the events go (a
//! terminal line, the window's live status), and what a site that cannot listen means (the
//! command fails; the window keeps mailing and says why invitees cannot reach it).

use std::sync::Arc;

use herald_core::mail::OutboxEvent;
use herald_core::Herald;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::{Events, ServeError, SiteConfig};

/// Where the outbox's events go.
pub type OutboxEvents = Arc<dyn Fn(OutboxEvent) + Send + Sync>;

pub struct Service {
    pub herald: Arc<Herald>,
    /// The confirmation site's listener; `None` runs the outbox alone.
    pub site: Option<TcpListener>,
    /// The proxies in front of the site, among the rest of its settings.
    pub config: SiteConfig,
    /// Wakes the outbox when an invitation was queued in this process.
    pub wake: Arc<Notify>,
    pub on_outbox: OutboxEvents,
    pub on_site: Events,
}

impl Service {
    /// The site settings of the data folder (the proxies the owner trusts), with `extra`
    /// proxies added: what both faces serve with.
    pub fn config(herald: &Herald, extra: &[std::net::IpAddr]) -> herald_core::Result<SiteConfig> {
        let mut trusted_proxies = herald.site()?.trusted_proxy_ips();
        for ip in extra {
            if !trusted_proxies.contains(ip) {
                trusted_proxies.push(*ip);
            }
        }
        Ok(SiteConfig { trusted_proxies })
    }

    /// Runs both until `stop` turns true (or its sender is dropped), then lets the site finish
    /// the requests it has and the outbox the mail in flight.
    pub async fn run(self, stop: watch::Receiver<bool>) -> Result<(), ServeError> {
        let outbox =
            herald_core::mail::run_outbox(self.herald.clone(), self.wake, stop.clone(), move |e| {
                (self.on_outbox)(e)
            });
        let site = async move {
            match self.site {
                Some(listener) => {
                    crate::run(
                        listener,
                        self.herald,
                        self.config,
                        self.on_site,
                        stopped(stop),
                    )
                    .await
                }
                None => Ok(()),
            }
        };
        let ((), served) = tokio::join!(outbox, site);
        served
    }
}

/// Resolves when `stop` says so, or when no one can say so any more.
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
