//! A keyring in this process's memory, for tests and for embedding Herald where the OS keyring
//! must not be touched. Herald itself never picks it: [`crate::OpenOptions::new`] always uses
//! the OS keyring, and only code that builds its own `OpenOptions` can choose this one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use secrecy::SecretString;

use super::{KeyringError, SecretStore};

/// What a [`MemoryKeyring`] can be told to fail with, as an OS keyring does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKeyringFailure {
    /// Every call fails with [`KeyringError::Locked`], as a locked gnome-keyring with no one to
    /// prompt answers.
    Locked,
    /// Every call fails with [`KeyringError::Unreachable`], as when no Secret Service runs.
    Unreachable,
    /// Writes and deletions fail with [`KeyringError::Refused`]; reads still work.
    Refused,
}

/// Secrets in a map in memory, gone with the last clone. Clones share their entries, so a
/// test can open one data folder twice (a second process, in effect), or change an entry
/// behind Herald's back: delete a key, or put another one in its place.
///
/// For tests and embedding only (see the module documentation); thread-safe.
#[derive(Debug, Clone, Default)]
pub struct MemoryKeyring {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// By (service, account). `SecretString` wipes each value when it goes, and keeps it out
    /// of `Debug`.
    entries: HashMap<(String, String), SecretString>,
    failure: Option<MemoryKeyringFailure>,
}

impl MemoryKeyring {
    pub fn new() -> MemoryKeyring {
        MemoryKeyring::default()
    }

    /// This keyring (not a copy: the entries stay shared) as the store
    /// [`crate::OpenOptions`] takes.
    pub fn shared(&self) -> Arc<dyn SecretStore> {
        Arc::new(self.clone())
    }

    /// From now on, fail as `failure` says; `None` makes it work again. The entries are kept.
    pub fn fail_with(&self, failure: Option<MemoryKeyringFailure>) {
        self.state().failure = failure;
    }

    /// The accounts holding an entry under `service`, sorted: what a test can check without
    /// reading any secret.
    pub fn accounts(&self, service: &str) -> Vec<String> {
        let mut accounts: Vec<String> = self
            .state()
            .entries
            .keys()
            .filter(|(s, _)| s == service)
            .map(|(_, a)| a.clone())
            .collect();
        accounts.sort();
        accounts
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change is a single map operation: a panic elsewhere leaves nothing half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(state: &State, writing: bool, account: &str) -> Result<(), KeyringError> {
        let detail = || "simulated by MemoryKeyring".to_owned();
        match state.failure {
            None => Ok(()),
            Some(MemoryKeyringFailure::Locked) => Err(KeyringError::Locked { detail: detail() }),
            Some(MemoryKeyringFailure::Unreachable) => {
                Err(KeyringError::Unreachable { detail: detail() })
            }
            Some(MemoryKeyringFailure::Refused) if writing => Err(KeyringError::Refused {
                what: account.to_owned(),
                detail: detail(),
            }),
            Some(MemoryKeyringFailure::Refused) => Ok(()),
        }
    }
}

impl SecretStore for MemoryKeyring {
    fn get(&self, service: &str, account: &str) -> Result<Option<SecretString>, KeyringError> {
        let state = self.state();
        MemoryKeyring::check(&state, false, account)?;
        Ok(state
            .entries
            .get(&(service.to_owned(), account.to_owned()))
            .cloned())
    }

    fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), KeyringError> {
        let mut state = self.state();
        MemoryKeyring::check(&state, true, account)?;
        state.entries.insert(
            (service.to_owned(), account.to_owned()),
            SecretString::from(secret),
        );
        Ok(())
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        let mut state = self.state();
        MemoryKeyring::check(&state, true, account)?;
        state
            .entries
            .remove(&(service.to_owned(), account.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn clones_share_entries_and_services_stay_apart() {
        let a = MemoryKeyring::new();
        let b = a.clone();
        a.set("svc", "x/smtp-password", "hunter2").unwrap();
        let got = b.get("svc", "x/smtp-password").unwrap().unwrap();
        assert_eq!(got.expose_secret(), "hunter2");
        assert!(b.get("other", "x/smtp-password").unwrap().is_none());
        assert_eq!(a.accounts("svc"), vec!["x/smtp-password".to_owned()]);
        assert!(!format!("{a:?}").contains("hunter2"), "{a:?}");
        b.delete("svc", "x/smtp-password").unwrap();
        b.delete("svc", "x/smtp-password").unwrap();
        assert!(a.get("svc", "x/smtp-password").unwrap().is_none());
    }

    #[test]
    fn it_fails_as_told_and_keeps_its_entries() {
        let k = MemoryKeyring::new();
        k.set("svc", "a", "1").unwrap();
        k.fail_with(Some(MemoryKeyringFailure::Locked));
        assert!(matches!(
            k.get("svc", "a"),
            Err(KeyringError::Locked { .. })
        ));
        assert!(matches!(
            k.set("svc", "a", "2"),
            Err(KeyringError::Locked { .. })
        ));
        k.fail_with(Some(MemoryKeyringFailure::Unreachable));
        assert!(matches!(
            k.delete("svc", "a"),
            Err(KeyringError::Unreachable { .. })
        ));
        k.fail_with(Some(MemoryKeyringFailure::Refused));
        assert!(k.get("svc", "a").unwrap().is_some());
        assert!(matches!(
            k.set("svc", "a", "2"),
            Err(KeyringError::Refused { .. })
        ));
        k.fail_with(None);
        assert_eq!(k.get("svc", "a").unwrap().unwrap().expose_secret(), "1");
    }
}
