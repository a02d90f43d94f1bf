//! The confirmation site: what `herald serve` runs on an always-on host, and what the window
//! runs in-process. Invitees open their link, accept or decline, type a code instead, or
//! unsubscribe; the owner's reachability test hits `/healthz`.
//!
//! Handlers only translate HTTP to `herald_core` calls; those are synchronous (SQLite, the
//! keyring), so they run on tokio's blocking pool and never stall the event loop. GET and
//! HEAD never change an invitation: mail scanners and link previews open links.
//! Nothing here logs a request's path, so no token or code reaches a log.
//!
//! `herald serve` also offers the owner API on a listener of its own ([`run_owner_api`], in
//! `owner.rs`): this crate gives it its transport (TLS, the limits), not its operations. Both
//! listeners share one hardened connection loop (`conn.rs`).

mod conn;
mod hardening;
mod owner;
mod pages;
mod service;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use herald_core::{
    Answer, Answered, Asked, CodeCheck, General, Herald, LinkCheck, SiteEvent, Visit,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use conn::{HEADER_READ_TIMEOUT, MAX_HEADER_BYTES};
pub use hardening::{client_ip, rate_key, SiteConfig};
use hardening::{Guard, Limits};
pub use owner::{
    owner_bind_allowed, owner_bind_apart, run_owner_api, OwnerBindError, DEFAULT_OWNER_BIND,
    OWNER_BURST, OWNER_MAX_BODY, OWNER_PER_MINUTE,
};
use pages::Page;
pub use service::{stopped, OutboxEvents, Service};

/// The largest form body accepted; every real form is far smaller.
const MAX_BODY: usize = 4 * 1024;
/// The longest a request may take, slow clients included.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Tokens are 71 characters; anything much longer is not one and is not looked at.
const MAX_TOKEN: usize = 128;

/// Where the site's events go: the window's live status, or a terminal line.
pub type Events = Arc<dyn Fn(SiteEvent) + Send + Sync>;

#[derive(Clone)]
struct App {
    herald: Arc<Herald>,
    events: Events,
    health: Arc<HealthState>,
}

/// What `/healthz` says, kept up to date off the request path: a flood of health checks
/// reads nothing and costs no more than the rate limit lets through.
struct HealthState {
    /// Which Herald answers: the window checks it against its own (see `Herald::instance_tag`).
    instance: String,
    store_ok: std::sync::atomic::AtomicBool,
}

/// How often the health answer is brought up to date.
const HEALTH_EVERY: Duration = Duration::from_secs(5);

/// Loopback by default: exposing the site is a decision the owner makes with `--bind`.
pub use herald_core::DEFAULT_BIND;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: the port is already in use (is another Herald running?); stop that program or choose another port")]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: permission denied (ports below 1024 need special rights); choose a port above 1024")]
    PermissionDenied { addr: SocketAddr },
    #[error("cannot listen on {addr}: this machine has no such address; use 127.0.0.1, 0.0.0.0 or one of its own addresses")]
    AddrNotAvailable { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] io::Error),
}

impl ServeError {
    /// The way forward, for the owner's face to word (the command line's `--bind`, the
    /// window's Settings).
    pub fn hint(&self) -> Option<herald_core::Hint> {
        match self {
            ServeError::AddrInUse { .. }
            | ServeError::PermissionDenied { .. }
            | ServeError::AddrNotAvailable { .. } => Some(herald_core::Hint::ChangeBind),
            ServeError::Bind { .. } | ServeError::Io(_) => None,
        }
    }
}

/// Binds the listening socket, with an error that says what to do for the usual failures.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| match source.kind() {
            io::ErrorKind::AddrInUse => ServeError::AddrInUse { addr },
            io::ErrorKind::PermissionDenied => ServeError::PermissionDenied { addr },
            io::ErrorKind::AddrNotAvailable => ServeError::AddrNotAvailable { addr },
            _ => ServeError::Bind { addr, source },
        })
}

pub fn router(herald: Arc<Herald>, config: SiteConfig, events: Events) -> Router {
    let limits = Arc::new(Limits::new());
    hardening::forget_quiet_clients(&limits, Limits::forget_quiet);
    let guard = Guard {
        config: Arc::new(config),
        limits: limits.clone(),
    };
    let health = Arc::new(HealthState {
        instance: herald.instance_tag(),
        store_ok: std::sync::atomic::AtomicBool::new(herald.general().is_ok()),
    });
    keep_health(&health, &herald);
    let app = App {
        herald,
        events,
        health,
    };
    Router::new()
        .route("/i/{token}", get(link_page).post(link_answer))
        .route("/i/{token}/ask", axum::routing::post(link_ask))
        .route("/code", get(code_page).post(code_answer))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route(HEALTH_PATH, get(healthz))
        .fallback(not_found)
        .with_state(app)
        .layer(middleware::from_fn_with_state(guard, hardening::guard))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(hardening::security_headers))
}

/// Every few seconds, checks that the store answers; stops when the router is dropped.
fn keep_health(health: &Arc<HealthState>, herald: &Arc<Herald>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (weak, herald) = (Arc::downgrade(health), Arc::downgrade(herald));
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(HEALTH_EVERY).await;
            let (Some(health), Some(herald)) = (weak.upgrade(), herald.upgrade()) else {
                break;
            };
            let ok = tokio::task::spawn_blocking(move || herald.general().is_ok())
                .await
                .unwrap_or(false);
            health
                .store_ok
                .store(ok, std::sync::atomic::Ordering::Relaxed);
        }
    });
}

/// Serves the confirmation site until `shutdown` completes, then lets requests in flight finish
/// (for at most a few seconds). The connection loop (header-read timeout, head size cap) is
/// shared with the owner API (see `conn.rs`); the request itself is bounded by the router's
/// [`REQUEST_TIMEOUT`] and [`MAX_BODY`].
pub async fn run(
    listener: TcpListener,
    herald: Arc<Herald>,
    config: SiteConfig,
    events: Events,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = router(herald, config, events);
    conn::serve(listener, None, app, shutdown, "confirmation site").await
}

/// Runs a core call on the blocking pool. `None` when Herald itself failed (the store or
/// the keyring): the caller answers with a plain "try later" page, never the details.
async fn core<T: Send + 'static>(
    herald: &Arc<Herald>,
    f: impl FnOnce(&Herald) -> herald_core::Result<T> + Send + 'static,
) -> Option<T> {
    let h = herald.clone();
    match tokio::task::spawn_blocking(move || f(&h)).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            // The owner's log gets the reason; the invitee does not.
            tracing::error!("confirmation site: {e}");
            None
        }
        Err(_) => None,
    }
}

/// Runs a core call on the thread that received the request: for the link page and the
/// answer's check, which read the store's WAL snapshot (never waiting on the writer) and check
/// a MAC, tens of microseconds. Handing those to the blocking pool cost more than the work
/// itself: two thread wake-ups per request, a third of the link page's CPU in a profile
/// (docs/BENCHMARKS.md). Anything that may wait (a write, the keyring) still goes through
/// [`core`]. Errors as [`core`].
fn inline<T>(herald: &Herald, f: impl FnOnce(&Herald) -> herald_core::Result<T>) -> Option<T> {
    match f(herald) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!("confirmation site: {e}");
            None
        }
    }
}

/// What a token route's check on the runtime thread came to.
enum Checked<T> {
    /// Checked, with the settings the page shows.
    Here(General, T),
    /// For the blocking pool: a token too long to be one, or a key still in the keyring.
    OnPool,
    /// Herald itself failed: the "try later" page.
    Failed,
}

/// A token route's check, on the thread that received the request (see [`inline`]).
fn check_here<T>(
    app: &App,
    token: &str,
    check: impl FnOnce(&Herald, &str) -> herald_core::Result<(General, Option<T>)>,
) -> Checked<T> {
    if !plausible(token) {
        return Checked::OnPool;
    }
    match inline(&app.herald, |h| check(h, token)) {
        Some((g, Some(checked))) => Checked::Here(g, checked),
        Some((_, None)) => Checked::OnPool,
        None => Checked::Failed,
    }
}

fn unavailable() -> Response {
    Page::refused_request(
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong",
        "This page cannot be shown right now. Please try again in a little while.",
    )
    .into_response()
}

fn emit(app: &App, event: Option<SiteEvent>) {
    if let Some(e) = event {
        (app.events)(e);
    }
}

/// The token in a link's path. A path whose percent-encoding does not decode, or decodes to
/// something that is not UTF-8, holds no token either: it reads as the empty token, so it gets
/// the same "not valid" page as every other bad link rather than the framework's own error
/// text (which would differ from that page, and echo the path back).
struct LinkToken(String);

impl<S: Send + Sync> FromRequestParts<S> for LinkToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = Path::<String>::from_request_parts(parts, state)
            .await
            .map_or_else(|_| String::new(), |Path(token)| token);
        Ok(LinkToken(token))
    }
}

fn plausible(token: &str) -> bool {
    token.len() <= MAX_TOKEN
}

async fn general(app: &App) -> Option<General> {
    core(&app.herald, |h| h.general()).await
}

/// A token route's core call, in one trip to the blocking pool together with the settings
/// every page shows. `Err` is the page to answer with instead: "try later" when Herald itself
/// failed, "not valid" for a token too long to be one (never looked up).
async fn for_token<T: Send + 'static>(
    app: &App,
    token: &str,
    f: impl FnOnce(&Herald, &str) -> herald_core::Result<T> + Send + 'static,
) -> Result<(General, T), Response> {
    let token = token.to_owned();
    let Some((g, out)) = core(&app.herald, move |h| {
        let g = h.general()?;
        if !plausible(&token) {
            return Ok((g, None));
        }
        Ok((g, Some(f(h, &token)?)))
    })
    .await
    else {
        return Err(unavailable());
    };
    match out {
        Some(out) => Ok((g, out)),
        None => Err(Page::not_found(Some(&g)).into_response()),
    }
}

async fn not_found(State(app): State<App>) -> Response {
    Page::not_found(general(&app).await.as_ref()).into_response()
}

async fn link_page(
    State(app): State<App>,
    LinkToken(token): LinkToken,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let head = method == Method::HEAD;
    let user_navigation = headers
        .get("sec-fetch-mode")
        .is_some_and(|v| v.as_bytes() == b"navigate")
        && headers
            .get("sec-fetch-user")
            .is_some_and(|v| v.as_bytes() == b"?1");
    // The check only reads, so it runs here; a first look's write goes to the store's writer
    // thread; only a key not yet read from the keyring sends the visit to the blocking pool.
    let visit = Visit {
        head,
        user_agent: agent.as_deref(),
        user_navigation,
    };
    let checked = match check_here(&app, &token, Herald::check_link_cached) {
        Checked::Here(g, checked) => Some((g, checked)),
        Checked::OnPool => None,
        Checked::Failed => return unavailable(),
    };
    let (g, check) = match checked {
        Some((g, check)) => {
            if !app.herald.visit_writes(&check, &visit) {
                (g, check)
            } else {
                // A first look: noted through the store's writer thread.
                match app.herald.note_visit(&token, check, visit).await {
                    Ok((check, event)) => {
                        emit(&app, event);
                        (g, check)
                    }
                    Err(e) => {
                        tracing::error!("confirmation site: {e}");
                        return unavailable();
                    }
                }
            }
        }
        // Not plausible (the pool answers "not valid" without looking), or the link's key is
        // still to be read from the keyring, which may block.
        None => {
            let visited = for_token(&app, &token, move |h, t| {
                let visit = Visit {
                    head,
                    user_agent: agent.as_deref(),
                    user_navigation,
                };
                h.visit_link(t, visit)
            })
            .await;
            let (g, (check, event)) = match visited {
                Ok(v) => v,
                Err(page) => return page,
            };
            emit(&app, event);
            (g, check)
        }
    };
    match &check {
        LinkCheck::Live(i) => Page::invitation(&g, i, format!("/i/{token}"), None),
        other => Page::refused(&g, other, ask_action(other, &token)),
    }
    .into_response()
}

/// Ended invitations offer "ask for a new invitation".
fn ask_action(check: &LinkCheck, token: &str) -> Option<String> {
    matches!(
        check,
        LinkCheck::Expired(_) | LinkCheck::Revoked(_) | LinkCheck::Ended(..)
    )
    .then(|| format!("/i/{token}/ask"))
}

#[derive(Debug, Deserialize)]
struct AnswerFields {
    form: Option<String>,
    answer: Option<String>,
    never_again: Option<String>,
    email: Option<String>,
    code: Option<String>,
}

impl AnswerFields {
    /// The page's own fields, or nothing: a POST that did not come from the form is refused.
    fn answer(&self) -> Option<Answer> {
        if self.form.as_deref() != Some("answer") {
            return None;
        }
        match self.answer.as_deref() {
            Some("accept") => Some(Answer::Accept),
            Some("decline") => Some(Answer::Decline {
                never_again: self.never_again.as_deref() == Some("on"),
            }),
            _ => None,
        }
    }
}

/// A form that could not be read: too large (413), or not this site's form at all (400).
fn unreadable<T>(form: &Result<Form<T>, FormRejection>) -> Response {
    match form {
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Page::refused_request(
                StatusCode::PAYLOAD_TOO_LARGE,
                "This form is too large",
                "Please open the link from your invitation mail again and use the buttons on its page.",
            )
            .into_response()
        }
        _ => bad_form(),
    }
}

fn bad_form() -> Response {
    Page::refused_request(
        StatusCode::BAD_REQUEST,
        "This form could not be read",
        "Please open the link from your invitation mail again and use the buttons on its page.",
    )
    .into_response()
}

async fn link_answer(
    State(app): State<App>,
    LinkToken(token): LinkToken,
    form: Result<Form<AnswerFields>, FormRejection>,
) -> Response {
    let Some(answer) = form.as_ref().ok().and_then(|f| f.answer()) else {
        return unreadable(&form);
    };
    // The check reads (here, as the link page's); the answer writes (on the writer thread).
    let checked = match check_here(&app, &token, Herald::answerable_cached) {
        Checked::Here(g, checked) => Some((g, checked)),
        Checked::OnPool => None,
        Checked::Failed => return unavailable(),
    };
    let (g, (answered, event)) = match checked {
        // The write goes to the store's writer thread: no blocking-pool thread per answer.
        // The page shows the settings read with the check.
        Some((g, Ok(to))) => match app.herald.answer_to(to, answer).await {
            Ok(answered) => (g, answered),
            Err(e) => {
                tracing::error!("confirmation site: {e}");
                return unavailable();
            }
        },
        Some((g, Err(refused))) => (g, (Answered::Refused(*refused), None)),
        // Not plausible, or the key is still in the keyring: the whole answer on the pool.
        None => match for_token(&app, &token, move |h, t| h.answer_link(t, answer)).await {
            Ok(v) => v,
            Err(page) => return page,
        },
    };
    emit(&app, event);
    answered_page(&g, answered, answer, Some(&token))
}

fn answered_page(g: &General, answered: Answered, answer: Answer, token: Option<&str>) -> Response {
    let never_again = matches!(answer, Answer::Decline { never_again: true });
    match answered {
        Answered::Done(i) => Page::answered(g, &i, never_again),
        Answered::Refused(check) => {
            let ask = token.and_then(|t| ask_action(&check, t));
            Page::refused(g, &check, ask)
        }
    }
    .into_response()
}

#[derive(Debug, Deserialize)]
struct AskFields {
    form: Option<String>,
}

async fn link_ask(
    State(app): State<App>,
    LinkToken(token): LinkToken,
    form: Result<Form<AskFields>, FormRejection>,
) -> Response {
    if form.as_ref().ok().and_then(|f| f.0.form.as_deref()) != Some("ask") {
        return unreadable(&form);
    }
    let (g, (asked, event)) = match for_token(&app, &token, |h, t| h.ask_again(t)).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    emit(&app, event);
    match asked {
        Asked::Told(i) => Page::asked(&g, &i, true),
        Asked::AlreadyTold(i) => Page::asked(&g, &i, false),
        Asked::NotApplicable(check) => Page::refused(&g, &check, None),
    }
    .into_response()
}

async fn code_page(State(app): State<App>) -> Response {
    let Some(g) = general(&app).await else {
        return unavailable();
    };
    Page::code_form(&g, None).into_response()
}

const CODE_REFUSED: &str = "That address and code do not match an open invitation. Check both against the mail; after several wrong tries only the link in the mail works.";

async fn code_answer(
    State(app): State<App>,
    form: Result<Form<AnswerFields>, FormRejection>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return unreadable(&form);
    };
    let (Some(email), Some(code)) = (fields.email.clone(), fields.code.clone()) else {
        return bad_form();
    };
    let Some(g) = general(&app).await else {
        return unavailable();
    };
    if email.len() > 320 || code.len() > 32 {
        return Page::code_form(&g, Some(CODE_REFUSED)).into_response();
    }
    match fields.form.as_deref() {
        // The code form: check, then show the invitation with the buttons.
        Some("code") => {
            let (e, c) = (email.clone(), code.clone());
            let Some((check, _)) = core(&app.herald, move |h| h.check_code(&e, &c)).await else {
                return unavailable();
            };
            match check {
                CodeCheck::Valid(check) => match *check {
                    LinkCheck::Live(i) => {
                        Page::invitation(&g, &i, "/code".to_owned(), Some((email, code)))
                    }
                    other => Page::refused(&g, &other, None),
                },
                CodeCheck::Refused => Page::code_form(&g, Some(CODE_REFUSED)),
            }
            .into_response()
        }
        // The buttons on that page: check again, and answer.
        Some("answer") => {
            let Some(answer) = fields.answer() else {
                return bad_form();
            };
            let Some((answered, event)) =
                core(&app.herald, move |h| h.answer_code(&email, &code, answer)).await
            else {
                return unavailable();
            };
            emit(&app, event);
            match answered {
                Some(a) => answered_page(&g, a, answer, None),
                None => Page::code_form(&g, Some(CODE_REFUSED)).into_response(),
            }
        }
        _ => bad_form(),
    }
}

async fn unsubscribe_page(State(app): State<App>, LinkToken(token): LinkToken) -> Response {
    let g = match for_token(&app, &token, |_, _| Ok(())).await {
        Ok((g, ())) => g,
        Err(page) => return page,
    };
    // Only confirms: the change needs the POST (a person's button, or RFC 8058's one click).
    Page::unsubscribe_confirm(&g, format!("/u/{token}")).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct UnsubscribeFields {
    form: Option<String>,
    #[serde(rename = "List-Unsubscribe")]
    list_unsubscribe: Option<String>,
}

impl UnsubscribeFields {
    /// RFC 8058's one click (`List-Unsubscribe=One-Click`), or the confirm page's button.
    fn confirmed(&self) -> bool {
        self.list_unsubscribe.as_deref() == Some("One-Click")
            || self.form.as_deref() == Some("unsubscribe")
    }
}

/// The unsubscribe POST's fields, urlencoded (the page's button, and most mail providers) or
/// `multipart/form-data`, which RFC 8058 says the one-click POST SHOULD be. Both are bounded
/// by the same body limit; `None` for anything that cannot be read.
struct UnsubscribeForm(Option<UnsubscribeFields>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for UnsubscribeForm {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !multipart {
            let form = Form::<UnsubscribeFields>::from_request(request, state).await;
            return Ok(UnsubscribeForm(form.ok().map(|Form(f)| f)));
        }
        let Ok(mut parts) = axum::extract::Multipart::from_request(request, state).await else {
            return Ok(UnsubscribeForm(None));
        };
        let mut fields = UnsubscribeFields::default();
        loop {
            match parts.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().map(str::to_owned);
                    let Ok(value) = field.text().await else {
                        return Ok(UnsubscribeForm(None));
                    };
                    match name.as_deref() {
                        Some("List-Unsubscribe") => fields.list_unsubscribe = Some(value),
                        Some("form") => fields.form = Some(value),
                        _ => {}
                    }
                }
                Ok(None) => return Ok(UnsubscribeForm(Some(fields))),
                Err(_) => return Ok(UnsubscribeForm(None)),
            }
        }
    }
}

async fn unsubscribe(
    State(app): State<App>,
    LinkToken(token): LinkToken,
    UnsubscribeForm(fields): UnsubscribeForm,
) -> Response {
    if !fields.is_some_and(|f| f.confirmed()) {
        return bad_form();
    }
    let (g, result) = match for_token(&app, &token, |h, t| h.unsubscribe(t)).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    match result {
        Some((email, event)) => {
            emit(&app, event);
            Page::unsubscribed(&g, &email).into_response()
        }
        None => Page::not_found(Some(&g)).into_response(),
    }
}

/// Where the site answers health checks.
pub const HEALTH_PATH: &str = "/healthz";
/// [`Health::status`] when the site can serve invitees.
pub const HEALTH_OK: &str = "ok";

/// What [`HEALTH_PATH`] answers, as JSON; the window's reachability check reads it back to tell
/// this Herald from another one or from something else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// [`HEALTH_OK`] when the store answered at the last check, `unavailable` otherwise.
    pub status: String,
    /// Herald's version.
    pub version: String,
    /// Which Herald answers (see `Herald::instance_tag`); empty from a Herald that predates it.
    #[serde(default)]
    pub instance: String,
}

/// 200 when the store answered at the last check, 503 otherwise; says nothing about
/// invitations and reads nothing now.
async fn healthz(State(app): State<App>) -> Response {
    let ok = app
        .health
        .store_ok
        .load(std::sync::atomic::Ordering::Relaxed);
    let (code, status) = if ok {
        (StatusCode::OK, HEALTH_OK)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let body = Health {
        status: status.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        instance: app.health.instance.clone(),
    };
    (code, Json(body)).into_response()
}
