//! The wake-up behind every event stream: one task per process asks SQLite, every few
//! milliseconds, whether anything was committed (by this process or another: the site, the
//! outbox, the CLI), and bumps a counter that every open stream waits on. Asking costs a read
//! of shared memory, so a watcher learns of an answer within [`POLL`] without each stream
//! polling the database.

use std::sync::Arc;
use std::time::Duration;

use herald_core::Herald;
use tokio::sync::watch;

/// How often the task asks. An answer reaches a watcher within this, plus one read.
pub const POLL: Duration = Duration::from_millis(15);

/// A counter of commits seen; clone a receiver to wait for the next.
#[derive(Clone)]
pub struct Feed {
    commits: watch::Receiver<u64>,
}

impl Feed {
    /// Starts the task on the current runtime. It stops when every [`Feed`] is gone.
    pub fn start(herald: Arc<Herald>) -> Feed {
        let (tx, rx) = watch::channel(0u64);
        tokio::spawn(async move {
            let mut commits =
                match tokio::task::spawn_blocking(move || herald.watch_commits()).await {
                    Ok(Ok(w)) => w,
                    // Without a watch, streams still wake at their own pace (see `Feed::changed`).
                    _ => return,
                };
            let mut seen = 0u64;
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if tx.is_closed() {
                    return;
                }
                if commits.committed() {
                    seen += 1;
                    let _ = tx.send(seen);
                }
            }
        });
        Feed { commits: rx }
    }

    /// A receiver of its own, for one stream.
    pub fn subscribe(&self) -> Feed {
        self.clone()
    }

    /// Returns after the next commit, or after `at_most` (so a stream also notices what no
    /// commit announces: a removed owner, a lost watch).
    pub async fn changed(&mut self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.commits.changed()).await;
    }
}
