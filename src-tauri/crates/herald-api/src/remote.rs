//! The owner operations over the owner API of an always-on Herald: JSON over HTTPS to a
//! server whose key this computer pinned when it paired, with this computer's credential
//! (from its own keyring) on every request. Events arrive as Server-Sent Events, resumed from
//! the last id seen whenever the connection drops, so a watcher misses nothing.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::stream::{self, BoxStream, StreamExt};
use herald_core::Event;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::WatchItem;
use crate::error::{ApiError, Reason, Result};
use crate::ops::PROTOCOL;

/// The header both sides send with the protocol version they speak.
pub const PROTOCOL_HEADER: &str = "herald-protocol";
/// Long enough for a test mail through a slow SMTP server (which has 30 s per step).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(75);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause before the event stream tries a lost server again, growing to the last.
const RETRY: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

#[derive(Clone)]
pub struct Remote {
    base: String,
    http: reqwest::Client,
    credential: SecretString,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// `base` is `https://host:port`; `tls` verifies the server by the key pinned at pairing.
    pub fn new(base: &str, tls: rustls::ClientConfig, credential: SecretString) -> Result<Remote> {
        Ok(Remote {
            base: base.trim_end_matches('/').to_owned(),
            http: http_client(tls)?,
            credential,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub(crate) async fn call<I: Serialize, O: DeserializeOwned>(
        &self,
        name: &str,
        input: &I,
    ) -> Result<O> {
        let input = serde_json::to_value(input)
            .map_err(|e| ApiError::environment(format!("the request could not be written: {e}")))?;
        let answer = self.call_json(name, input).await?;
        serde_json::from_value(answer).map_err(|e| {
            not_herald(
                &self.base,
                &format!("an answer to {name} did not fit ({e})"),
            )
        })
    }

    pub async fn call_json(
        &self,
        name: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let response = self
            .http
            .post(format!("{}/v1/ops/{name}", self.base))
            .header(AUTHORIZATION, self.authorization()?)
            .json(&input)
            .send()
            .await
            .map_err(|e| unreachable(&self.base, &e))?;
        answer(&self.base, response).await
    }

    fn authorization(&self) -> Result<HeaderValue> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", self.credential.expose_secret()))
            .map_err(|_| {
            ApiError::environment("this computer's credential cannot be sent; pair it again")
        })?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// The event stream: every event after `after` (from now when `None`).
    pub(crate) async fn watch(
        &self,
        after: Option<i64>,
    ) -> Result<BoxStream<'static, Result<WatchItem>>> {
        // Where "now" is: the server's newest event. Asked first, so a refused credential or a
        // server that is down is an error now rather than an item later.
        let start = match after {
            Some(a) => a,
            None => self.call::<_, i64>("last_event_id", &()).await?,
        };
        let remote = self.clone();
        let state = Watch {
            remote,
            last: start,
            open: None,
            lost: false,
            tries: 0,
            done: false,
        };
        Ok(stream::unfold(state, Watch::next).boxed())
    }

    async fn open_events(
        &self,
        after: i64,
    ) -> Result<BoxStream<'static, Result<eventsource_stream::Event, String>>> {
        let response = self
            .http
            .get(format!("{}/v1/events", self.base))
            .header(AUTHORIZATION, self.authorization()?)
            .header("last-event-id", after.to_string())
            .send()
            .await
            .map_err(|e| unreachable(&self.base, &e))?;
        if response.status() != StatusCode::OK {
            return Err(error_answer(&self.base, response).await);
        }
        Ok(response
            .bytes_stream()
            .eventsource()
            .map(|r| r.map_err(|e| e.to_string()))
            .boxed())
    }
}

struct Watch {
    remote: Remote,
    last: i64,
    open: Option<BoxStream<'static, Result<eventsource_stream::Event, String>>>,
    lost: bool,
    tries: usize,
    done: bool,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<WatchItem>, Watch)> {
        if self.done {
            return None;
        }
        loop {
            let Some(open) = self.open.as_mut() else {
                if self.lost {
                    tokio::time::sleep(RETRY[self.tries.min(RETRY.len() - 1)]).await;
                    self.tries += 1;
                }
                match self.remote.open_events(self.last).await {
                    Ok(s) => {
                        self.open = Some(s);
                        self.tries = 0;
                        if std::mem::take(&mut self.lost) {
                            return Some((Ok(WatchItem::Back), self));
                        }
                    }
                    // Refused: no retry can help.
                    Err(e)
                        if e.reason == Some(Reason::NotAuthorized)
                            || e.reason == Some(Reason::Version) =>
                    {
                        self.done = true;
                        return Some((Err(e), self));
                    }
                    Err(e) => {
                        if !std::mem::replace(&mut self.lost, true) {
                            return Some((Ok(WatchItem::Lost(e)), self));
                        }
                    }
                }
                continue;
            };
            match open.next().await {
                Some(Ok(message))
                    if message.event == "invitation" || message.event == "message" =>
                {
                    match serde_json::from_str::<Event>(&message.data) {
                        Ok(e) => {
                            self.last = self.last.max(e.id);
                            return Some((Ok(WatchItem::Event(e)), self));
                        }
                        Err(e) => {
                            self.done = true;
                            let err = not_herald(
                                &self.remote.base,
                                &format!("an event did not fit ({e})"),
                            );
                            return Some((Err(err), self));
                        }
                    }
                }
                Some(Ok(message)) if message.event == "refused" => {
                    self.done = true;
                    let err = serde_json::from_str::<ApiError>(&message.data)
                        .unwrap_or_else(|_| not_authorized());
                    return Some((Err(err), self));
                }
                // Keep-alives and what a later version adds.
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.open = None;
                    self.lost = true;
                    let err = ApiError::environment(format!(
                        "the connection to the Herald server at {} was lost ({e})",
                        self.remote.base
                    ))
                    .with_reason(Reason::Unreachable);
                    return Some((Ok(WatchItem::Lost(err)), self));
                }
                None => {
                    self.open = None;
                    self.lost = true;
                    let err = ApiError::environment(format!(
                        "the Herald server at {} closed the event stream",
                        self.remote.base
                    ))
                    .with_reason(Reason::Unreachable);
                    return Some((Ok(WatchItem::Lost(err)), self));
                }
            }
        }
    }
}

pub(crate) fn http_client(tls: rustls::ClientConfig) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL));
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .default_headers(headers)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(REQUEST_TIMEOUT)
        // The owner API never redirects; following one could hand the credential elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| {
            ApiError::environment(format!(
                "could not prepare the connection to the server: {e}"
            ))
        })
}

/// A 2xx answer's JSON, or the error the server sent.
pub(crate) async fn answer(base: &str, response: reqwest::Response) -> Result<serde_json::Value> {
    if response.status().is_success() {
        return response
            .json()
            .await
            .map_err(|e| not_herald(base, &format!("its answer was not JSON ({e})")));
    }
    Err(error_answer(base, response).await)
}

async fn error_answer(base: &str, response: reqwest::Response) -> ApiError {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(e) => e,
        Err(_) if status == StatusCode::UNAUTHORIZED => not_authorized(),
        // The transport's own refusal, before any handler: its body is not an ApiError.
        Err(_) if status == StatusCode::TOO_MANY_REQUESTS => ApiError::environment(format!(
            "the Herald server at {base} asks this computer to slow down (too many requests); try again in a minute"
        ))
        .with_reason(Reason::TooMany),
        Err(_) => not_herald(base, &format!("it answered HTTP {status}")),
    }
}

/// An environment error (exit 1): nothing the owner typed was wrong; this computer's access is
/// gone, and only the server's side can give it back.
pub(crate) fn not_authorized() -> ApiError {
    ApiError::environment(
        "the Herald server refused this computer: its access was removed, or it was never paired",
    )
    .with_reason(Reason::NotAuthorized)
}

pub(crate) fn unreachable(base: &str, e: &reqwest::Error) -> ApiError {
    // reqwest's Display names only the outermost layer ("error sending request"): the cause
    // (refused, timed out, a certificate that is not the paired one) is in the chain.
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    ApiError::environment(format!(
        "the Herald server at {base} could not be reached ({cause})"
    ))
    .with_reason(Reason::Unreachable)
}

pub(crate) fn not_herald(base: &str, what: &str) -> ApiError {
    ApiError::environment(format!(
        "something at {base} answered, but not as a Herald server does: {what}"
    ))
    .with_reason(Reason::NotHerald)
}
