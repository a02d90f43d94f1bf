//! What every response carries and every request must pass: security headers, the client's
//! address (from `X-Forwarded-For` only when the peer is a trusted proxy), per-client rate
//! limits, and the same-origin rule for POSTs. The owner API passes the same rate limit (with
//! buckets of its own) and gets headers fit for JSON; see `owner.rs`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::pages::{style_hash, Page};

/// Requests a client may make: a burst of 60, then one a second. Generous for a person, a
/// wall for a scanner or a flood.
pub(crate) const PAGE_BURST: u32 = 60;
pub(crate) const PAGE_PER_MINUTE: u32 = 60;
/// Typed codes a client may try: a burst of 10, then one every 30 seconds (the per-invitation
/// lockout at five wrong codes stands on its own).
const CODE_BURST: u32 = 10;
const CODE_PER_MINUTE: u32 = 2;

/// How the site treats its clients.
#[derive(Debug, Clone, Default)]
pub struct SiteConfig {
    /// Peers whose `X-Forwarded-For` names the real client (a reverse proxy or tunnel on
    /// this machine, say). Anyone else's header is ignored: it could say anything.
    pub trusted_proxies: Vec<IpAddr>,
}

pub(crate) fn quota(burst: u32, per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

pub struct Limits {
    pages: DefaultKeyedRateLimiter<IpAddr>,
    codes: DefaultKeyedRateLimiter<IpAddr>,
    /// `/healthz` has a budget of its own, as large as the pages': an uptime monitor behind
    /// the same address as invitees does not use up theirs, and a flood of health checks
    /// still meets a wall.
    health: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new() -> Limits {
        Limits {
            pages: RateLimiter::keyed(quota(PAGE_BURST, PAGE_PER_MINUTE)),
            codes: RateLimiter::keyed(quota(CODE_BURST, CODE_PER_MINUTE)),
            health: RateLimiter::keyed(quota(PAGE_BURST, PAGE_PER_MINUTE)),
        }
    }

    /// Forgets clients that have been quiet long enough to be back at a full burst: the
    /// memory a flood of addresses takes does not stay.
    pub fn forget_quiet(&self) {
        for limiter in [&self.pages, &self.codes, &self.health] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

/// Every minute, forgets the clients of `limits` that have gone quiet; stops when the router
/// holding `limits` is dropped.
pub fn forget_quiet_clients<T: Send + Sync + 'static>(limits: &Arc<T>, forget: fn(&T)) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(limits);
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            match weak.upgrade() {
                Some(limits) => forget(&limits),
                None => break,
            }
        }
    });
}

/// Whether the client counted under `ip` has used up its budget in `limiter`.
pub fn over_limit(limiter: &DefaultKeyedRateLimiter<IpAddr>, ip: IpAddr) -> bool {
    limiter.check_key(&ip).is_err()
}

/// The key a client is counted under. An IPv4 client is its address. An IPv6 client is its
/// /64 network: one subscriber usually gets a whole /64 (2^64 addresses), so counting single
/// addresses would hand an attacker that many fresh buckets. An IPv4 address written in IPv6
/// form (`::ffff:a.b.c.d`) counts as itself.
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from_bits(
                v6.to_bits() & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the last address
/// in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, config: &SiteConfig) -> IpAddr {
    if !config.trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !config.trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

#[derive(Clone)]
pub struct Guard {
    pub config: Arc<SiteConfig>,
    pub limits: Arc<Limits>,
}

/// Rate limits and the POST origin rule, before any handler runs.
pub async fn guard(
    State(guard): State<Guard>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let ip = rate_key(client_ip(peer.ip(), request.headers(), &guard.config));
    let path = request.uri().path();
    let limiter = if path == "/code" && request.method() == Method::POST {
        &guard.limits.codes
    } else if path == crate::HEALTH_PATH {
        &guard.limits.health
    } else {
        &guard.limits.pages
    };
    if over_limit(limiter, ip) {
        let mut r = Page::refused_request(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Please wait a minute and try again.",
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return closing(r);
    }
    let from_proxy = guard.config.trusted_proxies.contains(&peer.ip());
    if request.method() == Method::POST && !same_origin(request.headers(), from_proxy) {
        return closing(
            Page::refused_request(
                StatusCode::FORBIDDEN,
                "This form was sent from another site",
                "Please open the link from your invitation mail and use the buttons on its page.",
            )
            .into_response(),
        );
    }
    next.run(request).await
}

/// A refusal sent before the request's body was read ends its connection, and says so. Hyper
/// cannot reuse a connection with an unread body on it and closes it after the answer; without
/// `Connection: close` the client would not know, and would send its next request into a
/// connection that is already gone. A flooding client also pays for a new connection each time.
pub fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Whether a POST comes from this site's own page. Browsers say so in `Sec-Fetch-Site`, which
/// pages cannot forge; under this site's `Referrer-Policy: no-referrer` they send
/// `Origin: null` even for same-origin forms, so Origin alone cannot decide. Without
/// `Sec-Fetch-Site` (older browsers), a real Origin must be this site as the browser reached it
/// (the Host it sent), and `null` is refused. With neither header the request is not from a
/// browser page at all: mail providers' one-click unsubscribe (RFC 8058) posts from their
/// servers, and every form still needs its own fields. `X-Forwarded-Host` counts only from a
/// trusted proxy, as `X-Forwarded-For` does.
fn same_origin(headers: &HeaderMap, from_proxy: bool) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    let forwarded_host = headers
        .get("x-forwarded-host")
        .filter(|_| from_proxy)
        .and_then(|h| h.to_str().ok());
    let host_of = |o: &str| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
            .map(str::to_owned)
    };
    match host_of(origin) {
        Some(h) => {
            h.eq_ignore_ascii_case(host)
                || forwarded_host.is_some_and(|f| h.eq_ignore_ascii_case(f))
        }
        None => false,
    }
}

/// Headers on every response, errors included.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let csp = format!(
        "default-src 'none'; style-src {}; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        style_hash()
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    response
}
