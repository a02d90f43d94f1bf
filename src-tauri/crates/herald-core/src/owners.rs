//! Owners' computers that drive an always-on Herald, as the server sees them: adding one (which
//! makes its pairing code), the server's two pairing steps, checking a credential on every
//! request, listing and removing. The protocol itself is in `pairing.rs`.
//!
//! **What the database holds is no use without the code.** A waiting code's SPAKE2 password
//! would let whoever holds it pair as that owner, so its row keeps it only sealed with the
//! pairing key ([`crate::pairing::PairingKey`]), which lives in the OS keyring alone and is made
//! by the first [`Herald::add_owner`]. Between the two steps of an attempt the row keeps the
//! SHA-256 of the client confirmation it expects and of the credential: the confirmation is a
//! MAC under the SPAKE2 session key and the credential 256 bits derived from it, and that key
//! is never stored (nor is SPAKE2's secret scalar), so neither hash can be inverted or
//! recomputed from the database. A copy of the database, or a `herald backup`, taken while a
//! code waits therefore cannot pair, finish an attempt in flight, or yield a credential; nor
//! can it test guesses at the code offline. If the pairing key leaves the keyring while a code
//! waits, that code fails with [`PairingError::PairingKeyLost`], which asks for a new one.
//!
//! The server keeps no pairing state in memory: what an attempt needs between its two steps
//! sits in the pending pairing's row. So a restart, or a second process on the same data
//! folder, does not break a pairing in flight, and the memory of `herald serve` never holds a
//! session key.
//!
//! **Cutting off a removed owner at once.** Removal is a commit; every request calls
//! [`Herald::authenticate`], which reads the owner's row, so the next request is refused. For
//! long-lived responses (event streams), the owner API should watch commits
//! ([`Herald::watch_commits`], which also sees a `herald owner remove` run in another process)
//! and on each one ask [`Herald::is_owner_active`] for every open stream's owner, closing the
//! streams of owners no longer active.

use secrecy::SecretString;
use serde::Serialize;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::pairing::{
    code_expiry, confirm_matches, server_respond, Credential, PairFinish, PairReply, PairStart,
    PairingCode, PairingError, PairingKey, Spki, OWNER_API_PORT, PAIRING_TRIES, SESSION_SECS,
};
use crate::secrets::KeyringError;
use crate::store::owners::{self, OwnerRow};
use crate::store::Tx;
use crate::validate::{self, MAX_NAME_LEN};

/// `last_seen_at` is written at most this often per owner, not on every request.
pub const SEEN_EVERY_SECS: i64 = 60;

/// A new owner and its one-time pairing code: the only time the code exists outside the
/// owner's computer. `Debug` does not show it.
#[derive(Debug, Clone)]
pub struct NewOwner {
    pub id: i64,
    pub name: String,
    /// `7-K3M9Q-T2XHV`.
    pub code: SecretString,
    pub expires_at: Timestamp,
}

/// An owner as the lists show it. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnerInfo {
    pub id: i64,
    pub name: String,
    pub added_at: Timestamp,
    /// A computer has paired as this owner.
    pub paired: bool,
    pub paired_at: Option<Timestamp>,
    /// The last request, to the minute.
    pub last_seen_at: Option<Timestamp>,
    /// When its pairing code stops working, while one is waiting to be used.
    pub pairing_expires_at: Option<Timestamp>,
}

impl From<OwnerRow> for OwnerInfo {
    fn from(r: OwnerRow) -> OwnerInfo {
        OwnerInfo {
            id: r.id,
            name: r.name,
            added_at: r.added_at,
            paired: r.paired_at.is_some(),
            paired_at: r.paired_at,
            last_seen_at: r.last_seen_at,
            pairing_expires_at: r.pairing_expires_at,
        }
    }
}

/// An authenticated owner: who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Owner {
    pub id: i64,
    pub name: String,
}

/// Who has just paired.
pub type PairedOwner = Owner;

impl Herald {
    /// Adds an owner and makes its pairing code, valid for
    /// [`crate::pairing::CODE_VALID_SECS`] and one use. Adding the same name again makes
    /// another owner (a second computer, or a new pairing after a removal).
    pub fn add_owner(&self, name: &str) -> Result<NewOwner> {
        let name = validate::text("owner name", name, MAX_NAME_LEN)?;
        // The keyring first: if it is locked or refuses, nothing is written.
        let key = self.pairing_key_or_new()?;
        let key_id = key.key_id();
        let now = self.clock.now();
        let expires_at = code_expiry(now);
        let (id, code) = self.store.write(|tx| {
            owners::sweep_expired(tx, now)?;
            let id = owners::insert(tx, &name, now)?;
            let code = PairingCode::generate(id).map_err(|e| Error::Random(e.to_string()))?;
            let sealed = key.seal(&code.password(), id, expires_at);
            owners::insert_pairing(tx, id, &sealed[..], &key_id, expires_at)?;
            Ok((id, code))
        })?;
        Ok(NewOwner {
            id,
            name,
            code: code.expose(),
            expires_at,
        })
    }

    /// The owners not removed, oldest first.
    pub fn owners(&self) -> Result<Vec<OwnerInfo>> {
        let now = self.clock.now();
        let rows = self.store.read(owners::active)?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                // An expired code is swept at the next write; do not show it as waiting.
                r.pairing_expires_at = r.pairing_expires_at.filter(|&t| t > now);
                OwnerInfo::from(r)
            })
            .collect())
    }

    /// Removes an owner: its credential stops working with the next request, and its pending
    /// code too. Its name stays for the audit.
    pub fn remove_owner(&self, id: i64) -> Result<()> {
        let now = self.clock.now();
        if self.store.write(|tx| owners::remove(tx, id, now))? {
            Ok(())
        } else {
            Err(PairingError::NoSuchOwner(id).into())
        }
    }

    /// Whether owner `id` exists and has not been removed; see the module documentation.
    pub fn is_owner_active(&self, id: i64) -> Result<bool> {
        Ok(self
            .store
            .read(|tx| owners::get(tx, id))?
            .is_some_and(|o| o.removed_at.is_none()))
    }

    /// Where owners' computers reach the owner API: the public URL's host, on
    /// [`OWNER_API_PORT`].
    pub fn owner_api_url(&self) -> Result<String> {
        let public = self.general()?.public_url;
        let host = url::Url::parse(&public)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        Ok(format!("https://{host}:{OWNER_API_PORT}"))
    }

    /// Pairing, step 2 (the server's first): answers a client's [`PairStart`] for the key
    /// this server's TLS listener presents. Counts a try before answering, as a client with a
    /// wrong code sees the bad confirmation and never comes back for step 4; a code is locked
    /// after [`PAIRING_TRIES`]. A new start replaces an attempt still in progress.
    pub fn pair_start(&self, start: &PairStart, server_spki: &Spki) -> Result<PairReply> {
        // Read before the transaction, which must not wait on a keyring.
        let key = self.pairing_key_if_any()?;
        let now = self.clock.now();
        let id = start.owner_id;
        // The inner Result carries refusals that must still commit (the sweep, the try).
        let outcome = self.store.write(|tx| {
            owners::sweep_expired(tx, now)?;
            let Some(p) = owners::pairing(tx, id)? else {
                return Ok(Err(no_pairing(tx, id)?));
            };
            if p.tries >= PAIRING_TRIES {
                return Ok(Err(PairingError::Locked));
            }
            // Without the key that sealed it, the row tests nothing: not a try.
            let Some(password) = unseal(key.as_ref(), &p) else {
                return Ok(Err(PairingError::PairingKeyLost));
            };
            let s = match server_respond(id, &password[..], &start.message, server_spki) {
                Ok(s) => s,
                // A malformed message tests no password: not a try.
                Err(e) => return Ok(Err(e)),
            };
            owners::start_session(tx, id, now, &s.expected_confirm, &s.credential_verifier)?;
            Ok(Ok(PairReply {
                message: s.reply_message.clone(),
                server_confirm: s.server_confirm.to_vec(),
                code_confirm: s.code_confirm.to_vec(),
                tries_left: PAIRING_TRIES - p.tries - 1,
            }))
        })?;
        outcome.map_err(Error::from)
    }

    /// Pairing, step 4: checks the client's confirmation. On success the owner keeps the
    /// verifier of its credential and the code is gone; a wrong confirmation counts a try.
    pub fn pair_finish(&self, finish: &PairFinish) -> Result<PairedOwner> {
        let key = self.pairing_key_if_any()?;
        let now = self.clock.now();
        let id = finish.owner_id;
        let outcome = self.store.write(|tx| {
            owners::sweep_expired(tx, now)?;
            let Some(p) = owners::pairing(tx, id)? else {
                return Ok(Err(no_pairing(tx, id)?));
            };
            // The key went between the two steps: the code fails as it would at step 2,
            // rather than pairing on the strength of a row whose key is gone.
            if !key.as_ref().is_some_and(|k| sealed_by(k, &p)) {
                return Ok(Err(PairingError::PairingKeyLost));
            }
            let Some(session) = p.session.filter(|s| now - s.started_at <= SESSION_SECS) else {
                return Ok(Err(PairingError::NoSession));
            };
            if !confirm_matches(&finish.client_confirm, &session.confirm) {
                owners::fail_session(tx, id)?;
                let tries_left = PAIRING_TRIES.saturating_sub(p.tries + 1);
                return Ok(Err(PairingError::NotConfirmed { tries_left }));
            }
            owners::complete(tx, id, &session.credential, now)?;
            let name = owners::get(tx, id)?.map(|o| o.name).unwrap_or_default();
            Ok(Ok(Owner { id, name }))
        })?;
        outcome.map_err(Error::from)
    }

    /// Checks an owner's credential as sent with a request (`Bearer herald1.…`, or the bare
    /// text), and notes that the owner was seen. Anything wrong is [`PairingError::
    /// NotAuthorized`], whatever it was.
    pub fn authenticate(&self, presented: &str) -> Result<Owner> {
        let text = presented.trim();
        let text = match text.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("bearer ") => &text[7..],
            _ => text,
        };
        let denied = || Error::from(PairingError::NotAuthorized);
        let credential = Credential::parse(text).ok_or_else(denied)?;
        let owner = self
            .store
            .read(|tx| owners::get(tx, credential.owner_id))?
            .ok_or_else(denied)?;
        let verifier = match (&owner.removed_at, &owner.credential_verifier) {
            (None, Some(v)) => v,
            _ => return Err(denied()),
        };
        if !credential.matches(verifier) {
            return Err(denied());
        }
        let now = self.clock.now();
        if owner
            .last_seen_at
            .is_none_or(|t| now - t >= SEEN_EVERY_SECS)
        {
            // Only a note for the owners list: a busy or read-only database must not turn
            // into refused requests.
            let _ = self.store.write(|tx| owners::touch(tx, owner.id, now));
        }
        Ok(Owner {
            id: owner.id,
            name: owner.name,
        })
    }
}

impl Herald {
    /// The pairing key, made and put in the keyring if there is none (or the entry holds
    /// something else: the codes it sealed could not work anyway).
    fn pairing_key_or_new(&self) -> Result<PairingKey> {
        match self.keyring.pairing_key() {
            Ok(Some(key)) => return Ok(key),
            Ok(None) | Err(KeyringError::Corrupt { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let key = PairingKey::generate().map_err(|e| Error::Random(e.to_string()))?;
        self.keyring.put_pairing_key(&key)?;
        // Read it back: if another process on this folder made one at the same moment, the
        // keyring holds one of the two, and every code must be sealed with that one.
        match self.keyring.pairing_key()? {
            Some(kept) => Ok(kept),
            None => Ok(key),
        }
    }

    /// The pairing key if the keyring holds one; `None` (the waiting codes fail with
    /// [`PairingError::PairingKeyLost`]) if it does not, or holds something else. A locked or
    /// unreachable keyring is its own error, with its usual hints.
    fn pairing_key_if_any(&self) -> Result<Option<PairingKey>> {
        match self.keyring.pairing_key() {
            Ok(key) => Ok(key),
            Err(KeyringError::Corrupt { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether `key` is the one that sealed this pairing's password.
fn sealed_by(key: &PairingKey, p: &owners::PairingRow) -> bool {
    key.key_id()[..] == p.pairing_key_id[..]
}

/// The SPAKE2 password of a waiting code; `None` without the key that sealed it.
fn unseal(
    key: Option<&PairingKey>,
    p: &owners::PairingRow,
) -> Option<zeroize::Zeroizing<[u8; 32]>> {
    let key = key.filter(|k| sealed_by(k, p))?;
    let sealed: &[u8; 32] = p.sealed_password.as_slice().try_into().ok()?;
    Some(key.seal(sealed, p.owner_id, p.expires_at))
}

/// Why there is no pending pairing for `id`: no such owner, already paired, or the code ran
/// out (and was swept).
fn no_pairing(tx: &Tx<'_>, id: i64) -> Result<PairingError> {
    Ok(match owners::get(tx, id)? {
        None => PairingError::UnknownCode,
        Some(o) if o.removed_at.is_some() => PairingError::UnknownCode,
        Some(o) if o.paired_at.is_some() => PairingError::Used,
        Some(_) => PairingError::Expired,
    })
}
