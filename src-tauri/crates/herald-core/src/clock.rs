//! Time in Herald: whole seconds since the Unix epoch in the store, RFC 3339 at the edges.
//! The clock is injectable so that expiry can be tested without waiting a day.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Seconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// A clock that stands still until moved; for tests.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start: Timestamp) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start)))
    }

    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => OffsetDateTime::now_utc().unix_timestamp(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, seconds: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

/// `2026-11-22T10:00:00Z`. Out-of-range values cannot come from Herald's own clock; they are
/// shown as the raw number rather than panicking.
pub fn rfc3339(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}
