//! Politeness: addresses that asked never to be invited again, and how often one address may be
//! mailed. Both are checked when a mail is queued (create, resend, renew), inside the same
//! transaction, so the owner learns at once and nothing half-happens.

use rusqlite::{params, Connection, OptionalExtension};

use crate::clock::{rfc3339, Timestamp};
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::model::{Actor, Status};
use crate::settings::{Limits, Site};
use crate::store;
use crate::validate::{Email, ValidationError};

const SECTION_LIMITS: &str = "limits";
const SECTION_SITE: &str = "site";
const DAY: i64 = 86_400;
const MONTH: i64 = 30 * DAY;
/// A ceiling on the settable limits: Herald invites people, it does not send newsletters.
pub const MAX_PER_MONTH: u32 = 100;

/// How an invitee asked not to be invited again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum OptOutSource {
    /// The one-click unsubscribe of the mail (RFC 8058).
    OneClick,
    /// "Never invite me again" on the confirmation page.
    NeverAgain,
}

impl OptOutSource {
    fn as_str(self) -> &'static str {
        match self {
            OptOutSource::OneClick => "one-click",
            OptOutSource::NeverAgain => "never-again",
        }
    }

    /// The store's CHECK constraint admits only the two names.
    pub(crate) fn parse(s: &str) -> OptOutSource {
        match s {
            "one-click" => OptOutSource::OneClick,
            _ => OptOutSource::NeverAgain,
        }
    }
}

impl Herald {
    pub fn limits(&self) -> Result<Limits> {
        self.store.read(|tx| self.limits_in(tx))
    }

    /// The limits as set, or the defaults (which are also what unreadable settings mean).
    fn limits_in(&self, c: &Connection) -> Result<Limits> {
        Ok(store::settings_get(c, SECTION_LIMITS)
            .map_err(|e| self.store.err(e))?
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
        self.save_setting(SECTION_LIMITS, &limits)?;
        Ok(limits)
    }

    /// Stores one section of settings as JSON.
    fn save_setting(&self, section: &str, value: &impl serde::Serialize) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| Error::DatabaseContent {
            path: self.store.path().to_owned(),
            detail: e.to_string(),
        })?;
        self.store
            .write(|tx| store::settings_set(tx, section, &json).map_err(|e| self.store.err(e)))
    }

    /// The confirmation site's settings, or the defaults.
    pub fn site(&self) -> Result<Site> {
        Ok(self
            .store
            .read(|tx| store::settings_get(tx, SECTION_SITE).map_err(|e| self.store.err(e)))?
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
        self.save_setting(SECTION_SITE, &site)?;
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
        tx: &rusqlite::Connection,
        email: &str,
        source: OptOutSource,
        now: crate::clock::Timestamp,
    ) -> Result<bool> {
        let added = store::exec(
            tx,
            "INSERT INTO opt_outs (email, at, source) VALUES (?1, ?2, ?3)
             ON CONFLICT (email) DO NOTHING",
            params![email, now, source.as_str()],
        )
        .map_err(|e| self.store.err(e))?
            == 1;
        while let Some(id) = store::pending_for_email(tx, email).map_err(|e| self.store.err(e))? {
            let detail = "the invitee asked never to be invited again";
            self.step(
                tx,
                id,
                Status::Revoked,
                Actor::Invitee,
                "opted-out",
                Some(detail),
                now,
            )?;
            store::end_current_link(tx, id, "revoked", now).map_err(|e| self.store.err(e))?;
        }
        Ok(added)
    }

    pub fn is_opted_out(&self, email: &str) -> Result<bool> {
        let email = Email::parse(email)?;
        self.store
            .read(|tx| opted_out(tx, email.as_str()).map_err(|e| self.store.err(e)))
    }

    /// Refuses to queue `adding` more mails to `email` if it opted out or the limits would be
    /// passed. Mails already queued count, so a burst cannot slip past the limit.
    pub(crate) fn check_may_mail(
        &self,
        tx: &Connection,
        email: &str,
        adding: u32,
        now: Timestamp,
    ) -> Result<()> {
        if opted_out(tx, email).map_err(|e| self.store.err(e))? {
            return Err(Error::OptedOut {
                email: email.to_owned(),
            });
        }
        let limits = self.limits_in(tx)?;
        let pending: u32 = tx
            .query_row(
                "SELECT count(*) FROM invitations
                 WHERE email = ?1 AND status IN ('queued','sending')",
                [email],
                |r| r.get(0),
            )
            .map_err(|e| self.store.err(e))?;
        for (period, span, limit) in [
            ("day", DAY, limits.per_day),
            ("30 days", MONTH, limits.per_month),
        ] {
            let (sent, oldest): (u32, Option<Timestamp>) = tx
                .query_row(
                    "SELECT count(*), min(a.at) FROM audit a JOIN invitations i ON i.id = a.invitation_id
                     WHERE i.email = ?1 AND a.action = 'sent' AND a.at > ?2",
                    params![email, now - span],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(|e| self.store.err(e))?;
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

fn opted_out(c: &Connection, email: &str) -> rusqlite::Result<bool> {
    c.query_row("SELECT 1 FROM opt_outs WHERE email = ?1", [email], |_| {
        Ok(())
    })
    .optional()
    .map(|r| r.is_some())
}
