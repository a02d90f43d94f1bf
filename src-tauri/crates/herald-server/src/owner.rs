//! The owner API's transport (issue #16): its own listener, never the invitees' site port, over
//! TLS with Herald's own certificate (see `herald_core::owner_tls`), behind the same limits as
//! the site: the connection loop's header-read timeout and head size cap, a time limit for each
//! request, a body cap, and a per-client rate limit. What the API does is the router's business;
//! this module only decides who may reach it, and how fast.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::hardening::{self, client_ip, rate_key, SiteConfig};
use crate::ServeError;

/// Where the owner API listens unless told otherwise: loopback, one port above the site's.
pub const DEFAULT_OWNER_BIND: &str = "127.0.0.1:8751";

/// The largest request body the owner API reads. Larger than the site's 4 KiB: one request can
/// carry a whole batch of invitations (up to `herald_core::MAX_BATCH` recipients with names and
/// a note), which stays far below this.
pub const OWNER_MAX_BODY: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OwnerBindError {
    #[error("the owner API cannot listen on {addr} without TLS: owners' credentials would cross the network unencrypted. Keep Herald's own TLS (the default), or listen on a loopback address (127.0.0.1 or ::1) behind a proxy on this machine that terminates TLS")]
    PlaintextNotLoopback { addr: SocketAddr },
    #[error("the owner API cannot listen on {owner}: that is the confirmation site's port ({site}), which invitees reach; give the owner API a port of its own")]
    SitePort { owner: SocketAddr, site: SocketAddr },
}

/// Refuses to serve the owner API in plaintext (`tls_none`) anywhere but a loopback address,
/// where only a proxy on the same machine can reach it.
pub fn owner_bind_allowed(addr: SocketAddr, tls_none: bool) -> Result<(), OwnerBindError> {
    if tls_none && !addr.ip().to_canonical().is_loopback() {
        return Err(OwnerBindError::PlaintextNotLoopback { addr });
    }
    Ok(())
}

/// Refuses an owner API address that shares the site's port on an address the site listens on
/// too (the same address, or either being a wildcard), so the two never meet on one port.
pub fn owner_bind_apart(owner: SocketAddr, site: SocketAddr) -> Result<(), OwnerBindError> {
    let (o, s) = (owner.ip().to_canonical(), site.ip().to_canonical());
    let overlap = o == s || o.is_unspecified() || s.is_unspecified();
    if owner.port() != 0 && owner.port() == site.port() && overlap {
        return Err(OwnerBindError::SitePort { owner, site });
    }
    Ok(())
}

/// Serves the owner API's `router` on `listener` until `shutdown` completes: over TLS with
/// `tls` (see `herald_core::owner_tls::ServerIdentity::server_config`), or in plaintext when it
/// is `None` (check [`owner_bind_allowed`] first). The handlers read the peer's address from
/// `ConnectInfo<SocketAddr>` as the site's do; `config.trusted_proxies` says whose
/// `X-Forwarded-For` names the client the rate limit counts.
pub async fn run_owner_api(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    config: SiteConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = harden(router, config);
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    crate::conn::serve(listener, tls, app, shutdown, "owner API").await
}

/// The owner API's budget per client: the site's page budget (a burst of 60, then one a
/// second), in buckets of its own, so owners and invitees never use up each other's.
struct OwnerLimits {
    requests: DefaultKeyedRateLimiter<IpAddr>,
}

impl OwnerLimits {
    fn forget_quiet(&self) {
        self.requests.retain_recent();
        self.requests.shrink_to_fit();
    }
}

/// Requests one address may make of the owner API: a burst of 300, then ten a second. An
/// owner's window asks more than an invitee's browser does (a page of the table per scroll, the
/// overview, a refetch at each event), so the site's 60-and-one-a-second would stall it;
/// still a wall for a flood, and guessing a credential (256 random bits) or a pairing code (five
/// tries, then locked) gains nothing from more tries.
pub const OWNER_BURST: u32 = 300;
pub const OWNER_PER_MINUTE: u32 = 600;

#[derive(Clone)]
struct OwnerGuard {
    config: Arc<SiteConfig>,
    limits: Arc<OwnerLimits>,
}

/// `router` behind the limits; the outermost layer is listed last.
fn harden(router: Router, config: SiteConfig) -> Router {
    let limits = Arc::new(OwnerLimits {
        requests: RateLimiter::keyed(hardening::quota(OWNER_BURST, OWNER_PER_MINUTE)),
    });
    hardening::forget_quiet_clients(&limits, OwnerLimits::forget_quiet);
    let guard = OwnerGuard {
        config: Arc::new(config),
        limits,
    };
    router
        // A hard cap for every body, whichever way a handler reads it (a `Content-Length`
        // over it gets 413 before anything is read); `DefaultBodyLimit` tells axum's own
        // extractors the same number.
        .layer(DefaultBodyLimit::max(OWNER_MAX_BODY))
        .layer(RequestBodyLimitLayer::new(OWNER_MAX_BODY))
        .layer(middleware::from_fn_with_state(guard, owner_guard))
        // Bounds the wait for a response's head; a streamed body (live events) runs on.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            crate::REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(api_headers))
}

/// What a refusal by the transport says, in JSON like every owner API answer.
#[derive(serde::Serialize)]
struct Refusal {
    error: &'static str,
    message: &'static str,
}

/// The per-client rate limit, before any handler runs or any body is read.
async fn owner_guard(
    State(guard): State<OwnerGuard>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let ip = rate_key(client_ip(peer.ip(), request.headers(), &guard.config));
    if hardening::over_limit(&guard.limits.requests, ip) {
        let refusal = Refusal {
            error: "too_many_requests",
            message: "Too many requests: wait a minute and try again.",
        };
        let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(refusal)).into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return hardening::closing(r);
    }
    next.run(request).await
}

/// Headers on every owner API response: nothing cached (answers name people), nothing
/// sniffed, framed or fetched, should a browser ever be pointed at it.
async fn api_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn plaintext_only_on_loopback() {
        for ok in [
            "127.0.0.1:8751",
            "127.0.0.2:8751",
            "[::1]:8751",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(owner_bind_allowed(at(ok), true).is_ok(), "{ok}");
        }
        for refused in [
            "0.0.0.0:8751",
            "[::]:8751",
            "192.168.1.5:8751",
            "[2001:db8::1]:1",
        ] {
            let e = owner_bind_allowed(at(refused), true).unwrap_err();
            assert!(e.to_string().contains("without TLS"), "{e}");
            assert!(owner_bind_allowed(at(refused), false).is_ok(), "{refused}");
        }
    }

    #[test]
    fn never_on_the_site_port() {
        let site = at("0.0.0.0:8750");
        assert!(owner_bind_apart(at("127.0.0.1:8750"), site).is_err());
        assert!(owner_bind_apart(at("127.0.0.1:8750"), at("127.0.0.1:8750")).is_err());
        assert!(owner_bind_apart(at("0.0.0.0:8750"), at("127.0.0.1:8750")).is_err());
        assert!(owner_bind_apart(at("127.0.0.1:8751"), site).is_ok());
        assert!(owner_bind_apart(at("127.0.0.1:8750"), at("192.168.1.5:8750")).is_ok());
        assert!(owner_bind_apart(at("127.0.0.1:0"), at("127.0.0.1:0")).is_ok());
    }
}
