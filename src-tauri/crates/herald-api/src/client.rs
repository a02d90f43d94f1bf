//! The faces' one door to the owner operations: [`Client::Local`] runs them in-process over
//! this computer's data folder, [`Client::Remote`] over the owner API of an always-on Herald.
//! The typed methods (one per operation) are generated in `ops.rs`; the CLI and the window
//! call those and do not care which door it is.

use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use herald_core::Event;

use crate::error::{ApiError, Result};
use crate::feed::Feed;
use crate::local::Local;
use crate::ops::Request;
use crate::remote::Remote;

pub enum Client {
    Local(Local),
    Remote(Remote),
}

/// What an event stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    Event(Event),
    /// The server stopped answering; the stream keeps trying and resumes where it was.
    Lost(ApiError),
    /// The server answers again; what happened meanwhile follows.
    Back,
}

/// How long a local stream waits for a commit before it looks anyway.
const LOCAL_IDLE: Duration = Duration::from_secs(5);

impl Client {
    /// Any operation, as the window's bridge passes it: the answer as JSON.
    pub async fn call(&self, request: Request) -> Result<serde_json::Value> {
        match self {
            Client::Local(local) => {
                let writes = request.writes();
                local.run(writes, move |ops| request.run_json(ops)).await
            }
            Client::Remote(remote) => {
                remote
                    .call_json(request.name(), request.input_json()?)
                    .await
            }
        }
    }

    /// Where the operations run, for people: "this computer" or the server's address.
    pub fn place(&self) -> String {
        match self {
            Client::Local(_) => "this computer".to_owned(),
            Client::Remote(r) => r.base().to_owned(),
        }
    }

    /// Every event after `after` (or, with `None`, from now on), as it happens. A local stream
    /// never ends; a remote one ends only when the server refuses this computer (the last item
    /// is then the error), and rides out the server's restarts.
    pub async fn watch(&self, after: Option<i64>) -> Result<BoxStream<'static, Result<WatchItem>>> {
        match self {
            Client::Local(local) => {
                let start = match after {
                    Some(a) => a,
                    None => {
                        local
                            .run(false, |l| Ok(l.herald().last_event_id()?))
                            .await?
                    }
                };
                Ok(local_stream(local.clone(), start))
            }
            Client::Remote(remote) => Ok(remote.watch(after).await?),
        }
    }
}

fn local_stream(local: Local, after: i64) -> BoxStream<'static, Result<WatchItem>> {
    let feed = Feed::start(local.herald().clone());
    let state = (
        local,
        feed,
        after,
        std::collections::VecDeque::<Event>::new(),
    );
    stream::unfold(state, |(local, mut feed, mut last, mut queue)| async move {
        loop {
            if let Some(e) = queue.pop_front() {
                last = e.id;
                return Some((Ok(WatchItem::Event(e)), (local, feed, last, queue)));
            }
            let from = last;
            match local
                .run(false, move |l| Ok(l.herald().events_since(from)?))
                .await
            {
                Ok(events) if !events.is_empty() => queue.extend(events),
                Ok(_) => feed.changed(LOCAL_IDLE).await,
                Err(e) => return Some((Err(e), (local, feed, last, queue))),
            }
        }
    })
    .boxed()
}
