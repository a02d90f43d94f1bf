//! Links: minting one for the mailer, and checking one that an invitee brings back.
//!
//! A link is found by its nonce and trusted only once its MAC verifies against the claims the
//! store holds for that nonce. Until then nothing about the invitation is revealed: a forged,
//! truncated, retired-key or unknown token all read the same, "not valid".

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::model::{Invitation, Status};
use crate::settings::General;
use crate::store::links::LinkRow;
use crate::store::{self, invitations, keys, Tx};
use crate::token::{self, Claims, Code, HmacKey, Purpose, Token};

/// Why a link ended: what the store records beside the time it ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, strum::IntoStaticStr, strum::EnumString,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum EndReason {
    /// The owner renewed it: a newer mail carries the working link.
    Renewed,
    /// Re-signed after a key was lost: a newer mail carries the working link.
    Reissued,
    /// The owner withdrew the invitation, or the invitee opted out.
    Revoked,
    /// Its signing key was retired (and deleted): it can no longer be checked at all.
    KeyRetired,
}

impl EndReason {
    /// What the invitee is told about a link that ended this way.
    fn check(self, invitation: Invitation) -> LinkCheck {
        match self {
            EndReason::Renewed => LinkCheck::Ended(Superseded::Renewed, invitation),
            EndReason::Reissued => LinkCheck::Ended(Superseded::Reissued, invitation),
            EndReason::Revoked => LinkCheck::Revoked(invitation),
            // A retired key's links cannot be vouched for: "not valid", as a fresh visit says.
            EndReason::KeyRetired => LinkCheck::Invalid,
        }
    }
}

/// Why a link was replaced by a newer one, as the invitee is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Superseded {
    /// The owner renewed it.
    Renewed,
    /// It was re-signed after a key was lost.
    Reissued,
}

/// What a token is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCheck {
    /// Authentic and usable: the invitee may accept or decline.
    Live(Invitation),
    /// Authentic, but the invitee has already answered.
    Decided(Invitation),
    /// Authentic, but its time is up.
    Expired(Invitation),
    /// Authentic, but the owner withdrew the invitation.
    Revoked(Invitation),
    /// Authentic, but replaced by a newer link.
    Ended(Superseded, Invitation),
    /// Not a link Herald made, or one whose key was retired: nothing more is said.
    Invalid,
}

/// A link's check and, for an authentic token, the id of its link row.
pub(crate) type Checked = (LinkCheck, Option<i64>);

/// What the mailer needs to write an invitation. Redacted in `Debug`; never stored.
#[derive(Debug, Clone)]
pub struct MintedLink {
    pub invitation_id: i64,
    pub token: Token,
    pub code: Code,
    /// For the one-click unsubscribe link (RFC 8058): a different purpose, so it can never
    /// accept an invitation.
    pub unsubscribe: Token,
}

pub(crate) fn claims(link: &LinkRow) -> Claims<'_> {
    Claims {
        key_version: link.key_version,
        invitation_id: link.invitation_id,
        email: &link.email,
        expires_at: link.expires_at,
        nonce: &link.nonce,
    }
}

/// A fixed key for the MAC computed when no link matches, so that an unknown nonce costs about
/// the same time as a known one with a wrong MAC.
pub(crate) fn decoy_key() -> &'static HmacKey {
    static KEY: OnceLock<HmacKey> = OnceLock::new();
    KEY.get_or_init(|| HmacKey::from_bytes(&[0x5a; token::KEY_LEN]))
}

impl Herald {
    /// The token and typed code for an invitation's current link, for the mailer only. Fails
    /// if the link has ended or its key is gone.
    pub fn mint_link(&self, id: i64) -> Result<MintedLink> {
        let (link, key) = self.store.read(|tx| {
            let link = store::links::current(tx, id)?.ok_or(Error::NoSuchInvitation(id))?;
            if link.ended_reason.is_some() {
                return Err(Error::LinkEnded { id });
            }
            let row = keys::key_ref(tx, link.key_version)?
                .ok_or(Error::NoSuchKeyVersion(link.key_version))?;
            match self.load_key(link.key_version, &row.key_id)? {
                Some(key) => Ok((link, key)),
                None => Err(self.key_missing(tx, link.key_version)),
            }
        })?;
        let c = claims(&link);
        Ok(MintedLink {
            invitation_id: id,
            token: token::mint(&key, Purpose::Invitation, &c),
            code: token::code(&key, &c),
            unsubscribe: token::mint(&key, Purpose::Unsubscribe, &c),
        })
    }

    /// Checks a token from an invitee. Errors only when Herald itself cannot check (the
    /// keyring or the store fails); every kind of bad token is `Invalid`.
    pub fn check_link(&self, token_text: &str) -> Result<LinkCheck> {
        Ok(self.check_link_row(token_text)?.0)
    }

    /// [`Herald::check_link`], with the id of the link row an authentic token names, so an
    /// answer can make sure, inside its own transaction, that the link is still the current one.
    pub(crate) fn check_link_row(&self, token_text: &str) -> Result<(LinkCheck, Option<i64>)> {
        let ((), checked) = self.check_link_keyed(token_text, true, |_| Ok(()))?;
        // With the keyring allowed, a check always comes to an answer.
        Ok(checked.unwrap_or((LinkCheck::Invalid, None)))
    }

    /// [`Herald::check_link`] without the keyring, and with the settings every page shows,
    /// read in the same snapshot. The link is `None` when its key has not been read from the
    /// keyring yet (a call that can block on D-Bus or a password prompt), so the caller asks
    /// [`Herald::check_link`] from a thread that may block. Everything else is one read of the
    /// store's snapshot and a MAC: the confirmation site answers that from the thread that
    /// received the request.
    pub fn check_link_cached(&self, token_text: &str) -> Result<(General, Option<LinkCheck>)> {
        let (general, checked) =
            self.check_link_keyed(token_text, false, |tx| self.general_in(tx))?;
        Ok((general, checked.map(|(check, _)| check)))
    }

    /// Checks a link; `extra` reads what else the caller needs from the same snapshot. The
    /// check is `None` when the key is not in the cache and `keyring` is false.
    pub(crate) fn check_link_keyed<X>(
        &self,
        token_text: &str,
        keyring: bool,
        extra: impl FnOnce(&Tx<'_>) -> Result<X>,
    ) -> Result<(X, Option<Checked>)> {
        let parsed = token::parse(token_text).ok();
        let (x, found) = self.store.read(|tx| {
            let x = extra(tx)?;
            let Some(parsed) = &parsed else {
                return Ok((x, None));
            };
            let Some(link) = store::links::by_nonce(tx, &parsed.nonce)? else {
                return Ok((x, None));
            };
            let key_row = keys::key_ref(tx, link.key_version)?;
            let invitation = invitations::get(tx, link.invitation_id)?;
            Ok((x, Some((link, key_row, invitation))))
        })?;
        let Some(parsed) = parsed else {
            return Ok((x, Some((LinkCheck::Invalid, None))));
        };
        Ok((x, self.judge_link(&parsed, found, keyring)?))
    }

    /// What a parsed token is worth, given the rows its nonce found.
    fn judge_link(
        &self,
        parsed: &token::Parsed,
        found: Option<(LinkRow, Option<keys::KeyRef>, Option<Invitation>)>,
        keyring: bool,
    ) -> Result<Option<Checked>> {
        let now = self.clock.now();
        let Some((link, Some(key_row), Some(invitation))) = found else {
            let decoy = Claims {
                key_version: parsed.key_version,
                invitation_id: 0,
                email: "",
                expires_at: 0,
                nonce: &parsed.nonce,
            };
            let _ = token::verify(decoy_key(), Purpose::Invitation, &decoy, parsed);
            return Ok(Some((LinkCheck::Invalid, None)));
        };
        // A retired key was deleted: such a link cannot be authenticated any more.
        if key_row.retired || parsed.key_version != link.key_version {
            return Ok(Some((LinkCheck::Invalid, None)));
        }
        let cached = self.key_cache().get(&link.key_version).cloned();
        let key = match cached {
            Some(key) => key,
            None if !keyring => return Ok(None),
            None => match self.load_key(link.key_version, &key_row.key_id)? {
                Some(key) => key,
                None => {
                    return Err(self
                        .store
                        .read(|tx| Ok(self.key_missing(tx, link.key_version)))?)
                }
            },
        };
        if !token::verify(&key, Purpose::Invitation, &claims(&link), parsed) {
            return Ok(Some((LinkCheck::Invalid, None)));
        }
        // The address is part of what the link vouches for: if the invitation's address has
        // changed since, the old link is no longer for it.
        if invitation.email != link.email {
            return Ok(Some((LinkCheck::Invalid, None)));
        }
        let check = match link.ended_reason {
            // (Key-retired with a live key row cannot happen; it says nothing, as if it did.)
            Some(reason) => reason.check(invitation),
            None => match invitation.status {
                Status::Accepted | Status::Declined => LinkCheck::Decided(invitation),
                Status::Revoked => LinkCheck::Revoked(invitation),
                Status::Expired => LinkCheck::Expired(invitation),
                _ if now >= link.expires_at => LinkCheck::Expired(invitation),
                _ => LinkCheck::Live(invitation),
            },
        };
        Ok(Some((check, Some(link.id))))
    }
}
