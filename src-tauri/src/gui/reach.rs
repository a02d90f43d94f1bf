//! The setup's reachability check: asks `{public_url}/healthz` the way an invitee's browser
//! would reach the site, and tells apart "nothing answers", "something else answers",
//! "another Herald answers" and "this Herald answers".

use std::time::Duration;

use herald_server::{Health, HEALTH_OK};

use super::contract::SiteCheck;

/// Long enough for a slow tunnel, short enough for a setup screen.
const TIMEOUT: Duration = Duration::from_secs(6);

pub fn check(url: &str, instance: &str) -> SiteCheck {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .max_redirects(3)
        .build()
        .into();
    let (ok, detail) = match agent.get(url).call() {
        Err(e) => (
            false,
            format!(
                "nothing answered at {url} ({e}). Invitees open links there: check the public address, or make the site reachable (a reverse proxy or tunnel to {}).",
                herald_server::DEFAULT_BIND
            ),
        ),
        Ok(mut response) => {
            let status = response.status().as_u16();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            match serde_json::from_str::<Health>(&body) {
                Ok(h) if h.instance == instance && h.status == HEALTH_OK => (
                    true,
                    format!("Herald {} answers at {url}: invitees can reach the confirmation site.", h.version),
                ),
                Ok(h) if h.instance == instance => (
                    false,
                    format!("this Herald answers at {url} but says it is {}; look at the window's status or `herald serve`'s output", h.status),
                ),
                Ok(_) => (
                    false,
                    format!("a different Herald answers at {url} (another data folder or computer); invitees' links would reach it, not this one. Point the public address at this Herald's site."),
                ),
                Err(_) => (
                    false,
                    format!("something other than Herald answers at {url} (HTTP {status}); point the public address (or your reverse proxy) at Herald's site on {}", herald_server::DEFAULT_BIND),
                ),
            }
        }
    };
    SiteCheck {
        url: url.to_owned(),
        ok,
        detail,
    }
}
