//! The owner API's handlers: `POST /v1/ops/{operation}` runs one declared operation with the
//! JSON body as its input, `GET /v1/events` streams what happens as Server-Sent Events from
//! the `Last-Event-ID` on, `GET /v1/hello` says which protocol this server speaks. Every
//! request but `hello` (and pairing) carries an owner's credential and the protocol version;
//! anything else is refused before it reaches an operation, and changes nothing. The
//! transport around this router (TLS, the header, body and time limits, rate limits) is
//! herald-server's, the same as the site's.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};

use herald_core::pairing::{PairFinish, PairReply, PairStart, PairingError, Spki};

use crate::error::{ApiError, Reason, Result};
use crate::feed::Feed;
use crate::local::Local;
use crate::ops::{Request, PROTOCOL};
use crate::remote::PROTOCOL_HEADER;

/// How long an idle event stream waits before it checks its owner is still admitted: a
/// removal (a commit) wakes it at once; this is for what no commit announces.
const RECHECK: Duration = Duration::from_secs(5);

struct Api {
    local: Local,
    feed: Feed,
    /// The hash of the TLS key owners' computers reach this API through, which pairing binds
    /// to; `None` without Herald's own TLS (behind a proxy), where pairing is refused.
    spki: Option<Spki>,
}

/// What `GET /v1/hello` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub herald: String,
    pub protocol: u32,
}

/// The owner API's routes. Call inside the server's runtime: the event feed starts here.
pub fn router(local: Local, spki: Option<Spki>) -> Router {
    let feed = Feed::start(local.herald().clone());
    let api = Arc::new(Api { local, feed, spki });
    let owner = Router::new()
        .route("/v1/ops/{operation}", post(operation))
        .route("/v1/events", get(events))
        .route("/v1/pair/start", post(pair_start))
        .route("/v1/pair/finish", post(pair_finish))
        .layer(middleware::from_fn(same_protocol));
    Router::new()
        .route("/v1/hello", get(hello))
        .merge(owner)
        .with_state(api)
}

async fn hello() -> Json<Hello> {
    Json(Hello {
        herald: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL,
    })
}

/// The status an error is answered with; the body is the [`ApiError`] itself.
fn status(e: &ApiError) -> StatusCode {
    match e.reason {
        Some(Reason::NotAuthorized) => StatusCode::UNAUTHORIZED,
        Some(Reason::Version) => StatusCode::BAD_REQUEST,
        Some(Reason::TooMany) => StatusCode::TOO_MANY_REQUESTS,
        _ => match e.kind {
            herald_core::ErrorKind::Request => StatusCode::BAD_REQUEST,
            herald_core::ErrorKind::Environment => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

pub(crate) struct Refusal(ApiError);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = (status(&self.0), Json(&self.0)).into_response();
        r.headers_mut().insert(PROTOCOL_HEADER, PROTOCOL.into());
        r
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal(e)
    }
}

/// A client that speaks another protocol learns so in words, before anything runs.
async fn same_protocol(request: HttpRequest, next: Next) -> Response {
    let theirs = request
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok());
    match theirs {
        Some(v) if v == PROTOCOL => {
            let mut r = next.run(request).await;
            r.headers_mut().insert(PROTOCOL_HEADER, PROTOCOL.into());
            r
        }
        theirs => Refusal(version_mismatch(theirs)).into_response(),
    }
}

pub(crate) fn version_mismatch(client: Option<u32>) -> ApiError {
    let client = client.map_or_else(|| "none".to_owned(), |v| v.to_string());
    ApiError::request(format!(
        "this Herald server (version {}) speaks owner protocol {PROTOCOL} and the client speaks {client}: update the older of the two",
        env!("CARGO_PKG_VERSION")
    ))
    .with_reason(Reason::Version)
}

fn credential(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The owner behind a request's credential, checked on the blocking pool (it reads SQLite).
/// Every refusal is the same 401, whatever was wrong with the credential.
async fn admit(api: &Arc<Api>, headers: &HeaderMap) -> Result<herald_core::Owner> {
    let Some(token) = credential(headers) else {
        return Err(crate::remote::not_authorized());
    };
    api.local
        .run(false, move |l| match l.herald().authenticate(&token) {
            Ok(owner) => Ok(owner),
            Err(herald_core::Error::Pairing(PairingError::NotAuthorized)) => {
                Err(crate::remote::not_authorized())
            }
            Err(e) => Err(e.into()),
        })
        .await
}

/// A JSON body, or the request's error.
fn body_json<T: serde::de::DeserializeOwned>(what: &str, body: &Bytes) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::request(format!("the body of {what} is not valid: {e}")))
}

fn pairing_key(api: &Api) -> Result<Spki> {
    api.spki.ok_or_else(|| {
        ApiError::request(
            "this Herald serves the owner API without its own TLS (behind a proxy), so pairing cannot prove who is at the other end here; pair once through Herald's own TLS",
        )
    })
}

async fn pair_start(
    State(api): State<Arc<Api>>,
    body: Bytes,
) -> std::result::Result<Json<PairReply>, Refusal> {
    let spki = pairing_key(&api)?;
    let start: PairStart = body_json("pair/start", &body)?;
    let reply = api
        .local
        .run(false, move |l| Ok(l.herald().pair_start(&start, &spki)?))
        .await?;
    Ok(Json(reply))
}

async fn pair_finish(
    State(api): State<Arc<Api>>,
    body: Bytes,
) -> std::result::Result<Json<herald_core::Owner>, Refusal> {
    pairing_key(&api)?;
    let finish: PairFinish = body_json("pair/finish", &body)?;
    let owner = api
        .local
        .run(true, move |l| Ok(l.herald().pair_finish(&finish)?))
        .await?;
    Ok(Json(owner))
}

async fn operation(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> std::result::Result<Json<serde_json::Value>, Refusal> {
    let owner = admit(&api, &headers).await?;
    let input: serde_json::Value = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::request(format!("the body of {name} is not JSON: {e}")))?
    };
    let request = Request::decode(&name, input)?;
    let writes = request.writes();
    // What this owner does is done in their name: the history and the mail say who.
    let answer = api
        .local
        .acting_as(&owner.name)
        .run(writes, move |ops| request.run_json(ops))
        .await?;
    Ok(Json(answer))
}

async fn events(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
) -> std::result::Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>, Refusal>
{
    admit(&api, &headers).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let feed = api.feed.subscribe();
    let state = Stream_ {
        api,
        headers,
        feed,
        last: after,
        queue: Default::default(),
        ended: false,
    };
    Ok(Sse::new(stream::unfold(state, Stream_::next)).keep_alive(KeepAlive::default()))
}

struct Stream_ {
    api: Arc<Api>,
    headers: HeaderMap,
    feed: Feed,
    last: i64,
    queue: std::collections::VecDeque<herald_core::Event>,
    ended: bool,
}

impl Stream_ {
    async fn next(mut self) -> Option<(std::result::Result<SseEvent, Infallible>, Stream_)> {
        if self.ended {
            return None;
        }
        loop {
            if let Some(e) = self.queue.pop_front() {
                self.last = e.id;
                let data = serde_json::to_string(&e).unwrap_or_default();
                let event = SseEvent::default()
                    .event("invitation")
                    .id(e.id.to_string())
                    .data(data);
                return Some((Ok(event), self));
            }
            // Still admitted? A removed owner's stream ends here, at the commit that removed it.
            if let Err(e) = admit(&self.api, &self.headers).await {
                if e.reason == Some(Reason::NotAuthorized) {
                    self.ended = true;
                    let data = serde_json::to_string(&e).unwrap_or_default();
                    return Some((Ok(SseEvent::default().event("refused").data(data)), self));
                }
            }
            let from = self.last;
            match self
                .api
                .local
                .run(false, move |l| Ok(l.herald().events_since(from)?))
                .await
            {
                Ok(events) if !events.is_empty() => self.queue.extend(events),
                // A failed read is tried again at the next wake.
                _ => self.feed.changed(RECHECK).await,
            }
        }
    }
}
