//! What happened, in order, for owners who watch: every line of the audit log is an event
//! (a mail sent, a link opened, an answer), numbered by its audit id. The log is durable, so a
//! watcher that reconnects, or a server that restarts, resumes from the last id it saw and
//! misses nothing.

use serde::{Deserialize, Serialize};

use crate::herald::Herald;
use crate::model::AuditEntry;
use crate::store::audit;
use crate::Result;

/// The most events one read returns; a watcher far behind reads again.
pub const EVENTS_PER_READ: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Event {
    /// Increasing: resume after the last one seen.
    pub id: i64,
    /// `None` for events about no one invitation (a key made or retired).
    pub invitation_id: Option<i64>,
    pub email: Option<String>,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl Herald {
    /// The events after `after` (0 for all), oldest first, at most [`EVENTS_PER_READ`].
    pub fn events_since(&self, after: i64) -> Result<Vec<Event>> {
        self.store
            .read(|tx| audit::since(tx, after, EVENTS_PER_READ))
    }

    /// The newest event's id: where a watcher that wants only what comes next starts.
    pub fn last_event_id(&self) -> Result<i64> {
        self.store.read(audit::last_id)
    }
}
