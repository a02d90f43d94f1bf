//! Politeness: addresses that asked never to be invited again, and how often one address may be
//! mailed. Both are checked when a mail is queued (create, resend, renew), inside the same
//! transaction, so the owner learns at once and nothing half-happens.

use crate::clock::{rfc3339, Timestamp};
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::links::EndReason;
use crate::model::{Actor, AuditAction, Status};
use crate::settings::{Limits, Site};
use crate::store::invitations::Transition;
use crate::store::settings::Section;
use crate::store::{audit, invitations, links, opt_outs, settings, Tx};
use crate::validate::{Email, ValidationError};

const DAY: i64 = 86_400;
const MONTH: i64 = 30 * DAY;
/// A ceiling on the settable limits: Herald invites people, it does not send newsletters.
pub const MAX_PER_MONTH: u32 = 100;

/// How an invitee asked not to be invited again.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum OptOutSource {
    /// The one-click unsubscribe of the mail (RFC 8058).
    OneClick,
    /// "Never invite me again" on the confirmation page.
    NeverAgain,
}

impl Herald {
    pub fn limits(&self) -> Result<Limits> {
        self.store.read(|tx| self.limits_in(tx))
    }

    /// The limits as set, or the defaults (which are also what unreadable settings mean).
    fn limits_in(&self, tx: &Tx<'_>) -> Result<Limits> {
        Ok(settings::get(tx, Section::Limits)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    pub fn set_limits(&self, limits: Limits) -> Result<Limits> {
        if limits.per_day == 0
            || limits.per_month < limits.per_day
            || limits.per_month > MAX_PER_MONTH
        {
            return Err(ValidationError::Limits {
                per_day: limits.per_day,
                per_month: limits.per_month,
                max: MAX_PER_MONTH,
            }
            .into());
        }
        self.save_setting(Section::Limits, &limits)?;
        Ok(limits)
    }

    /// Stores one section of settings as JSON.
    fn save_setting(&self, section: Section, value: &impl serde::Serialize) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| Error::DatabaseContent {
            path: self.store.path().to_owned(),
            detail: e.to_string(),
        })?;
        self.store.write(|tx| settings::set(tx, section, &json))
    }

    /// The confirmation site's settings, or the defaults.
    pub fn site(&self) -> Result<Site> {
        Ok(self
            .store
            .read(|tx| settings::get(tx, Section::Site))?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// Sets where the confirmation site listens; checked to be an `IP:port`.
    pub fn set_site_bind(&self, bind: &str) -> Result<Site> {
        let site = self.site()?;
        self.set_site(bind, &site.trusted_proxies)
    }

    /// Sets where the confirmation site listens and which proxies in front of it are trusted
    /// to name the invitee's address. Checked before anything is saved.
    pub fn set_site(&self, bind: &str, trusted_proxies: &[String]) -> Result<Site> {
        let addr: std::net::SocketAddr = bind
            .trim()
            .parse()
            .map_err(|_| ValidationError::BindAddress(bind.trim().to_owned()))?;
        let mut proxies = Vec::<std::net::IpAddr>::new();
        for p in trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        {
            let ip = p
                .trim_matches(['[', ']'])
                .parse()
                .map_err(|_| ValidationError::ProxyAddress(p.to_owned()))?;
            if !proxies.contains(&ip) {
                proxies.push(ip);
            }
        }
        let site = Site {
            bind: addr.to_string(),
            trusted_proxies: proxies.iter().map(ToString::to_string).collect(),
        };
        self.save_setting(Section::Site, &site)?;
        Ok(site)
    }

    /// Records that an address never wants to be invited again, and withdraws its pending
    /// invitations. Returns false if it had already asked. Used by the confirmation site.
    pub fn opt_out(&self, email: &str, source: OptOutSource) -> Result<bool> {
        let email = Email::parse(email)?;
        let now = self.clock.now();
        self.store
            .write(|tx| self.opt_out_in(tx, email.as_str(), source, now))
    }

    /// [`Herald::opt_out`] inside a caller's transaction, for a normalised address.
    pub(crate) fn opt_out_in(
        &self,
        tx: &Tx<'_>,
        email: &str,
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<bool> {
        let added = opt_outs::add(tx, email, source, now)?;
        while let Some(id) = invitations::pending_for_email(tx, email)? {
            let detail = "the invitee asked never to be invited again";
            self.step(
                tx,
                Transition::new(
                    id,
                    Status::Revoked,
                    Actor::Invitee,
                    AuditAction::OptedOut,
                    now,
                )
                .detail(detail),
            )?;
            links::end_current(tx, id, EndReason::Revoked, now)?;
        }
        Ok(added)
    }

    pub fn is_opted_out(&self, email: &str) -> Result<bool> {
        let email = Email::parse(email)?;
        self.store.read(|tx| opt_outs::contains(tx, email.as_str()))
    }

    /// Refuses to queue `adding` more mails to `email` if it opted out or the limits would be
    /// passed. Mails already queued count, so a burst cannot slip past the limit.
    pub(crate) fn check_may_mail(
        &self,
        tx: &Tx<'_>,
        email: &str,
        adding: u32,
        now: Timestamp,
    ) -> Result<()> {
        if opt_outs::contains(tx, email)? {
            return Err(Error::OptedOut {
                email: email.to_owned(),
            });
        }
        let limits = self.limits_in(tx)?;
        let pending = invitations::mails_waiting_for(tx, email)?;
        for (period, span, limit) in [
            ("day", DAY, limits.per_day),
            ("30 days", MONTH, limits.per_month),
        ] {
            let (sent, oldest) = audit::mails_sent_since(tx, email, now - span)?;
            let count = sent + pending;
            if count + adding > limit {
                return Err(Error::MailLimit {
                    email: email.to_owned(),
                    count,
                    period,
                    until: oldest.map_or_else(
                        || "the mails already queued have gone out".to_owned(),
                        |t| rfc3339(t + span),
                    ),
                });
            }
        }
        Ok(())
    }
}
