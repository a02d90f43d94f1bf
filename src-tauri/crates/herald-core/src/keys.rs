//! Signing key versions. Keys live only in the OS keyring; the store records each version's
//! public fingerprint, so Herald notices when the keyring lost a key or holds a different one.
//!
//! - The first key is made on first use, from the OS CSPRNG.
//! - `rotate` makes a new current version; older versions keep verifying their links.
//! - `retire N` ends every link signed by N and deletes N from the keyring.
//! - `reissue` renews the pending invitations whose key is gone, under the current key.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::herald::Herald;
use crate::links::EndReason;
use crate::model::{Actor, AuditAction, Status};
use crate::store::invitations::Transition;
use crate::store::{audit, invitations, keys, links, Tx};
use crate::token::{self, HmacKey};

/// Whether the keyring holds a key version as the store remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum KeyPresence {
    Present,
    Missing,
    /// The keyring holds a different key under this version's name.
    Mismatch,
    /// Retired: deliberately deleted from the keyring.
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyVersionInfo {
    pub version: u32,
    /// A public fingerprint, not the key.
    pub key_id: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    pub current: bool,
    /// Pending invitations whose live link this version signs.
    pub live_links: usize,
    pub presence: KeyPresence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyStatus {
    pub keyring_service: String,
    pub versions: Vec<KeyVersionInfo>,
    /// Pending invitations whose link cannot work any more (its key is missing or was retired):
    /// what `reissue` would renew.
    pub needing_reissue: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetireReport {
    pub version: u32,
    /// Invitations whose link this ended.
    pub ended: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReissueReport {
    /// The key version the renewed links are signed with.
    pub current_version: u32,
    /// Whether a new key version had to be made (the current one was gone).
    pub rotated: bool,
    /// Versions found missing from the keyring (or replaced in it), now retired.
    pub retired: Vec<u32>,
    /// Invitations that got a new link and are queued to be mailed again.
    pub renewed: Vec<i64>,
}

impl Herald {
    /// A key version, from the cache or the keyring, checked against its fingerprint; `None`
    /// when the keyring no longer holds it. Touches no store, so it is safe inside a transaction.
    pub(crate) fn load_key(&self, version: u32, expected_id: &str) -> Result<Option<HmacKey>> {
        if let Some(k) = self.key_cache().get(&version) {
            return Ok(Some(k.clone()));
        }
        let Some(key) = self.keyring.get_key(version)? else {
            return Ok(None);
        };
        if key.key_id() != expected_id {
            return Err(Error::KeyMismatch { version });
        }
        self.key_cache().insert(version, key.clone());
        Ok(Some(key))
    }

    /// The "key missing" error, with how many pending invitations it strands.
    pub(crate) fn key_missing(&self, tx: &Tx<'_>, version: u32) -> Error {
        let pending = keys::get(tx, version)
            .ok()
            .flatten()
            .map_or(0, |k| k.live_links);
        Error::KeyMissing { version, pending }
    }

    /// The current signing key, made on first use. Runs inside the caller's write transaction,
    /// so two processes never both make "version 1". The keyring is written before the store
    /// commits; if the commit then fails, the next attempt overwrites the orphaned entry.
    pub(crate) fn current_key_in(&self, tx: &Tx<'_>, now: Timestamp) -> Result<(u32, HmacKey)> {
        match keys::current(tx)? {
            Some((version, key_id)) => match self.load_key(version, &key_id)? {
                Some(key) => Ok((version, key)),
                None => Err(self.key_missing(tx, version)),
            },
            None => self.new_key_version_in(tx, now, None),
        }
    }

    fn new_key_version_in(
        &self,
        tx: &Tx<'_>,
        now: Timestamp,
        owner: Option<&str>,
    ) -> Result<(u32, HmacKey)> {
        let version = keys::next_version(tx)?;
        let key = HmacKey::generate().map_err(|e| Error::Random(e.to_string()))?;
        self.keyring.put_key(version, &key)?;
        keys::insert(tx, version, &key.key_id(), now)?;
        let detail = format!("v{version}");
        let made = AuditAction::KeyCreated;
        audit::note_by(tx, None, Actor::Owner, made, Some(&detail), owner, now)?;
        self.key_cache().insert(version, key.clone());
        Ok((version, key))
    }

    /// Makes the first signing key if there is none yet, and checks that the keyring holds the
    /// current one: the setup's proof that the keyring works. Then the key status.
    pub fn ensure_key(&self) -> Result<KeyStatus> {
        let now = self.clock.now();
        self.store
            .write(|tx| self.current_key_in(tx, now).map(drop))?;
        self.key_status()
    }

    /// Every key version, with whether the keyring still holds it.
    pub fn key_status(&self) -> Result<KeyStatus> {
        self.sweep_expired()?;
        let rows = self.store.read(keys::all)?;
        let current = rows
            .iter()
            .rev()
            .find(|r| r.retired_at.is_none())
            .map(|r| r.version);
        let mut versions = Vec::with_capacity(rows.len());
        let mut gone = Vec::new();
        for r in rows {
            let presence = if r.retired_at.is_some() {
                KeyPresence::Retired
            } else {
                self.presence(r.version, &r.key_id)?
            };
            if matches!(presence, KeyPresence::Missing | KeyPresence::Mismatch) {
                gone.push(r.version);
            }
            versions.push(KeyVersionInfo {
                version: r.version,
                key_id: r.key_id,
                created_at: r.created_at,
                retired_at: r.retired_at,
                current: Some(r.version) == current,
                live_links: r.live_links,
                presence,
            });
        }
        let needing_reissue = self
            .store
            .read(|tx| links::pending_needing_reissue(tx, &gone))?;
        Ok(KeyStatus {
            keyring_service: self.keyring.service().to_owned(),
            versions,
            needing_reissue,
        })
    }

    fn presence(&self, version: u32, key_id: &str) -> Result<KeyPresence> {
        match self.load_key(version, key_id) {
            Ok(Some(_)) => Ok(KeyPresence::Present),
            Ok(None) => Ok(KeyPresence::Missing),
            Err(Error::KeyMismatch { .. }) => Ok(KeyPresence::Mismatch),
            Err(e) => Err(e),
        }
    }

    /// Makes a new current key version. Links signed by older versions keep working until
    /// they expire or their version is retired.
    pub fn rotate_key(&self) -> Result<u32> {
        self.rotate_key_by(None)
    }

    pub(crate) fn rotate_key_by(&self, owner: Option<&str>) -> Result<u32> {
        let now = self.clock.now();
        self.store
            .write(|tx| self.new_key_version_in(tx, now, owner).map(|(v, _)| v))
    }

    /// Ends every link signed by `version` and deletes the key from the keyring. The current
    /// version cannot be retired (rotate first), so Herald always has a key to sign with.
    pub fn retire_key(&self, version: u32) -> Result<RetireReport> {
        self.retire_key_by(version, None)
    }

    pub(crate) fn retire_key_by(&self, version: u32, owner: Option<&str>) -> Result<RetireReport> {
        let now = self.clock.now();
        let ended = self.store.write(|tx| {
            let row = keys::get(tx, version)?.ok_or(Error::NoSuchKeyVersion(version))?;
            if row.retired_at.is_some() {
                return Err(Error::KeyAlreadyRetired(version));
            }
            let current = keys::current(tx)?;
            if current.map(|c| c.0) == Some(version) {
                return Err(Error::RetireCurrentKey(version));
            }
            self.retire_in(tx, version, now, owner)
        })?;
        // After the commit: the store already treats the version as dead, so a keyring that
        // refuses the deletion leaves nothing usable behind; the error still reports it.
        self.key_cache().remove(&version);
        self.keyring.delete_key(version)?;
        Ok(RetireReport { version, ended })
    }

    fn retire_in(
        &self,
        tx: &Tx<'_>,
        version: u32,
        now: Timestamp,
        owner: Option<&str>,
    ) -> Result<Vec<i64>> {
        let ids = links::invitations_signed_by(tx, version)?;
        let detail = format!("signing key v{version} retired");
        for &id in &ids {
            links::end_current(tx, id, EndReason::KeyRetired, now)?;
            let ended = AuditAction::LinkEnded;
            audit::note_by(tx, Some(id), Actor::Owner, ended, Some(&detail), owner, now)?;
        }
        keys::retire(tx, version, now)?;
        let v = format!("v{version}");
        let retired = AuditAction::KeyRetired;
        audit::note_by(tx, None, Actor::Owner, retired, Some(&v), owner, now)?;
        Ok(ids)
    }

    /// Renews, under the current key, every pending invitation whose link cannot work: signed
    /// by a key that vanished from the keyring (a reset, a new machine) or ended by a
    /// retirement. If the current key itself is gone, a new version is made first. Each keeps
    /// its expiry and is queued to be mailed again with its new link.
    pub fn reissue(&self) -> Result<ReissueReport> {
        self.reissue_by(None)
    }

    pub(crate) fn reissue_by(&self, owner: Option<&str>) -> Result<ReissueReport> {
        let now = self.clock.now();
        // Which versions are gone is asked of the keyring before the write lock is taken.
        let rows = self.store.read(keys::all)?;
        let mut gone = Vec::new();
        for r in rows.iter().filter(|r| r.retired_at.is_none()) {
            if self.presence(r.version, &r.key_id)? != KeyPresence::Present {
                gone.push(r.version);
            }
        }
        // A lost current key is replaced by a new version, never by falling back to an older one.
        let current_gone = rows
            .iter()
            .rev()
            .find(|r| r.retired_at.is_none())
            .is_some_and(|r| gone.contains(&r.version));
        let report = self.store.write(|tx| {
            self.sweep_expired_in(tx, now)?;
            let needing = links::pending_needing_reissue(tx, &gone)?;
            for &v in &gone {
                self.retire_in(tx, v, now, owner)?;
            }
            let had_current = keys::current(tx)?.is_some();
            let (current_version, _key) = if current_gone {
                self.new_key_version_in(tx, now, owner)?
            } else {
                self.current_key_in(tx, now)?
            };
            let detail = format!("new link signed by key v{current_version}");
            for &id in &needing {
                links::end_current(tx, id, EndReason::Reissued, now)?;
                let nonce = token::new_nonce().map_err(|e| Error::Random(e.to_string()))?;
                // Keeps the expiry: a reissue repairs the link, it does not extend the invitation.
                links::insert(tx, id, &nonce, current_version, now, None)?;
                let status = invitations::must_get(tx, id)?.status;
                let action = AuditAction::Reissued;
                if matches!(status, Status::Sent | Status::Failed) {
                    let requeue = Transition::new(id, Status::Queued, Actor::Owner, action, now);
                    self.step(tx, requeue.detail(&detail).by(owner))?;
                } else {
                    // Queued: it goes out with the new link anyway. Sending: the outbox sees
                    // the link change when it records the outcome, and mails the new one.
                    audit::note_by(
                        tx,
                        Some(id),
                        Actor::Owner,
                        action,
                        Some(&detail),
                        owner,
                        now,
                    )?;
                }
            }
            Ok(ReissueReport {
                current_version,
                rotated: current_gone || !had_current,
                retired: gone.clone(),
                renewed: needing,
            })
        })?;
        for v in &report.retired {
            self.key_cache().remove(v);
        }
        Ok(report)
    }
}
