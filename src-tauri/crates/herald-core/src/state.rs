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

/// An invitation's status. Its name (`queued`, ...) is what the store, the JSON and the
/// command line all use; strum and serde both derive it from the variant, in lower case.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
    strum::VariantArray,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
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

/// What the owner can ask of an invitation from the list or its details.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum OwnerAction {
    /// Mail the same link again (an expired invitation is renewed instead).
    Resend,
    /// A fresh link and expiry.
    Renew,
    /// Withdraw it; the link dies at once.
    Revoke,
}

impl Status {
    pub const ALL: &'static [Status] = <Status as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The status named exactly `s` (as the store writes it).
    pub fn parse(s: &str) -> Option<Status> {
        s.parse().ok()
    }

    /// Whether the owner may ask for `action` now. The one table the window's buttons read
    /// (through [`Status::offers`]); `resend`, `renew` and `revoke` enforce the same rules.
    pub fn offers_action(self, action: OwnerAction) -> bool {
        match action {
            // Sent or failed go back to the outbox with the same link; expired is renewed.
            OwnerAction::Resend => matches!(self, Status::Sent | Status::Failed | Status::Expired),
            // A fresh link; queued stays queued (it was not mailed yet).
            // (Not while sending: the mail in flight carries the link a renewal would end.)
            OwnerAction::Renew => matches!(
                self,
                Status::Queued | Status::Sent | Status::Failed | Status::Expired
            ),
            OwnerAction::Revoke => self.can_become(Status::Revoked),
        }
    }

    /// Every owner action this status offers.
    pub fn offers(self) -> Vec<OwnerAction> {
        <OwnerAction as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .filter(|a| self.offers_action(*a))
            .collect()
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

/// The status named in user input (`Sent`, ` sent `), with the names to choose from on error.
pub fn parse_input(s: &str) -> Result<Status, String> {
    Status::parse(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        format!("{s:?} is not a status; use one of {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    #[test]
    fn names_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(
                super::parse_input(&format!(" {} ", s.as_str().to_uppercase())),
                Ok(s)
            );
        }
        assert!(super::parse_input("pending").is_err());
        assert!(
            Status::parse("Sent").is_none(),
            "the store's names are exact"
        );
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
            for &to in Status::ALL {
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
        for &s in Status::ALL {
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

    #[test]
    fn offers_are_what_the_owner_actions_accept() {
        use super::OwnerAction::*;
        let offered = |s: Status| s.offers();
        assert_eq!(offered(Queued), vec![Renew, Revoke]);
        assert_eq!(offered(Sending), vec![Revoke]);
        assert_eq!(offered(Sent), vec![Resend, Renew, Revoke]);
        assert_eq!(offered(Failed), vec![Resend, Renew, Revoke]);
        assert_eq!(offered(Expired), vec![Resend, Renew, Revoke]);
        for s in [Accepted, Declined, Revoked] {
            assert!(offered(s).is_empty(), "{s}");
        }
    }
}
