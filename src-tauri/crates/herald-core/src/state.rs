//! The invitation state machine: the one place that says which status may follow which.
//!
//! ```text
//! queued ──▶ sending ──▶ sent ──▶ accepted | declined | expired | revoked
//!              │  └────▶ failed
//!              └───────▶ queued (a soft failure: retry later)
//! ```
//!
//! Also: `sent`, `failed` and `expired` go back to `queued` when the owner resends or renews;
//! an invitee may decide from any pending status (a mail can arrive before the outbox records
//! that it was sent); the owner may revoke anything not yet decided.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Sending,
    Sent,
    Failed,
    Accepted,
    Declined,
    Expired,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Queued,
        Status::Sending,
        Status::Sent,
        Status::Failed,
        Status::Accepted,
        Status::Declined,
        Status::Expired,
        Status::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No way out: the invitee decided or the owner withdrew.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Accepted | Status::Declined | Status::Revoked)
    }

    /// Still waiting for the invitee: a link may be live.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::Queued | Status::Sending | Status::Sent | Status::Failed
        )
    }

    /// Whether `self → to` is a legal step.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (Queued, Sending) => true,
            (Sending, Sent | Queued | Failed) => true,
            // Resend or renew puts the mail back in the outbox.
            (Sent | Failed | Expired, Queued) => true,
            (from, Accepted | Declined) => from.is_pending(),
            (from, Revoked) => from.is_pending() || from == Expired,
            // `sending` finishes first: the worker records the outcome, then expiry applies.
            (Queued | Sent | Failed, Expired) => true,
            _ => false,
        }
    }

    /// How a step to this status is described in messages ("it cannot be accepted").
    pub fn verb(self) -> &'static str {
        match self {
            Status::Queued => "queued again",
            Status::Sending => "sent now",
            Status::Sent => "marked sent",
            Status::Failed => "marked failed",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Status, String> {
        Status::parse(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
            let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            format!("{s:?} is not a status; use one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("pending".parse::<Status>().is_err());
    }

    #[test]
    fn the_documented_paths_are_legal() {
        for (from, to) in [
            (Queued, Sending),
            (Sending, Sent),
            (Sending, Queued),
            (Sending, Failed),
            (Sent, Accepted),
            (Sent, Declined),
            (Sent, Expired),
            (Sent, Revoked),
            (Failed, Queued),
            (Expired, Queued),
            (Expired, Revoked),
            (Queued, Accepted),
        ] {
            assert!(from.can_become(to), "{from} -> {to}");
        }
    }

    #[test]
    fn final_states_never_move() {
        for from in [Accepted, Declined, Revoked] {
            for to in Status::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn nothing_skips_the_outbox_or_undoes_a_decision() {
        assert!(!Queued.can_become(Sent));
        assert!(!Queued.can_become(Failed));
        assert!(!Sending.can_become(Expired));
        assert!(!Expired.can_become(Accepted));
        assert!(!Expired.can_become(Sent));
        for s in Status::ALL {
            assert!(!s.can_become(s), "{s} -> {s}");
        }
    }

    #[test]
    fn the_table_is_exactly_as_documented() {
        let legal = Status::ALL
            .iter()
            .flat_map(|&f| Status::ALL.iter().map(move |&t| (f, t)))
            .filter(|(f, t)| f.can_become(*t))
            .count();
        // queued: sending, accepted, declined, revoked, expired (5); sending: sent, queued,
        // failed, accepted, declined, revoked (6); sent: queued, accepted, declined, revoked,
        // expired (5); failed: the same (5); expired: queued, revoked (2).
        assert_eq!(legal, 23);
    }
}
