//! The outbox worker on its own runtime, as the window and `herald serve` run it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_core::mail::{run_outbox, OutboxEvent};
use herald_core::Herald;
use tokio::sync::{watch, Notify};

/// A running worker; stopped when dropped. `events` is everything it reported.
pub struct Worker {
    stop: watch::Sender<bool>,
    pub wake: Arc<Notify>,
    rt: Option<tokio::runtime::Runtime>,
    pub events: Arc<Mutex<Vec<OutboxEvent>>>,
}

impl Worker {
    pub fn start(h: &Arc<Herald>) -> Worker {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (stop, rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        rt.spawn(run_outbox(h.clone(), wake.clone(), rx, move |e| {
            sink.lock().unwrap().push(e)
        }));
        Worker {
            stop,
            wake,
            rt: Some(rt),
            events,
        }
    }

    /// The events `pick` keeps, once there are at least `n` of them (or after 5 s, whatever
    /// there is). A mail's event follows its commit, so it can come a moment after the store
    /// shows the outcome a test waited for.
    pub fn events_when<T>(&self, n: usize, pick: impl Fn(&OutboxEvent) -> Option<T>) -> Vec<T> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got: Vec<T> = self
                .events
                .lock()
                .unwrap()
                .iter()
                .filter_map(&pick)
                .collect();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}
