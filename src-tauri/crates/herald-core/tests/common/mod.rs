//! What the core's integration tests share: a data folder of their own, a keyring of their
//! own (in memory; or the OS keyring under a service name of their own, so tests never see each
//! other's keys), a manual clock, and small helpers.
#![allow(dead_code)] // each test file uses its own subset

pub mod worker;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use herald_core::secrets::{MemoryKeyring, OsKeyring, SecretStore};
use herald_core::{Clock, Delivery, Herald, InitParams, NewInvitations, OpenOptions, Status};
use tempfile::TempDir;

pub const START: i64 = 1_900_000_000;
pub const DAY: i64 = 86_400;

pub struct Fixture {
    pub dir: TempDir,
    pub service: String,
    /// Where the keys are: [`Fixture::memory`]'s keyring, or the OS keyring.
    pub keyring: Arc<dyn SecretStore>,
    /// The in-memory keyring, to break on purpose (`None` on the OS keyring).
    pub memory: Option<MemoryKeyring>,
    pub clock: Clock,
}

impl Fixture {
    /// A fixture on an in-memory keyring of its own: no Secret Service needed.
    pub fn new() -> Fixture {
        let memory = MemoryKeyring::new();
        Fixture::on(memory.shared(), Some(memory))
    }

    /// A fixture on the OS keyring, for the tests that prove Herald's use of it (feature
    /// `real-keyring-tests`; run inside `scripts/with-keyring.sh`).
    pub fn os_keyring() -> Fixture {
        Fixture::on(OsKeyring::shared(), None)
    }

    fn on(keyring: Arc<dyn SecretStore>, memory: Option<MemoryKeyring>) -> Fixture {
        static N: AtomicU32 = AtomicU32::new(0);
        let service = format!(
            "herald-core-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            service,
            keyring,
            memory,
            clock: Clock::manual(START),
        }
    }

    /// The in-memory keyring; panics on a fixture on the OS keyring.
    pub fn memory(&self) -> &MemoryKeyring {
        self.memory
            .as_ref()
            .expect("a fixture on the in-memory keyring")
    }

    pub fn opts(&self) -> OpenOptions {
        OpenOptions {
            data_dir: self.dir.path().join("data"),
            keyring: self.keyring.clone(),
            keyring_service: self.service.clone(),
            clock: self.clock.clone(),
        }
    }

    pub fn init(&self) -> Herald {
        Herald::init(self.opts(), &params()).unwrap().0
    }

    /// A second handle on the same folder, with an empty key cache (as a new process has).
    pub fn reopen(&self) -> Herald {
        Herald::open(self.opts()).unwrap()
    }

    /// What the outbox (a later issue) does after a successful delivery.
    pub fn mark_sent(&self, id: i64) {
        let db = rusqlite::Connection::open(self.dir.path().join("data/herald.db")).unwrap();
        db.execute(
            "UPDATE invitations SET status = 'sent', sent_at = ?2 WHERE id = ?1",
            rusqlite::params![id, self.clock.now()],
        )
        .unwrap();
    }
}

pub fn params() -> InitParams {
    InitParams {
        team: "Analytical Engines".into(),
        owner_name: "Charles Babbage".into(),
        from: "invites@example.com".into(),
        public_url: "https://invite.example.com".into(),
        ..InitParams::default()
    }
}

pub fn invite(h: &Herald, who: &[&str]) -> Vec<i64> {
    h.create_invitations(&NewInvitations {
        recipients: who.iter().map(|s| s.to_string()).collect(),
        ..NewInvitations::default()
    })
    .unwrap()
    .into_iter()
    .map(|i| i.id)
    .collect()
}

/// What the outbox does after a successful delivery of the next due mail.
pub fn deliver(h: &Herald) {
    let claim = h.claim_next().unwrap().expect("something to mail");
    let sent = Delivery::Sent {
        message_id: "<test@example.com>".into(),
        reply: "250 2.0.0 Ok".into(),
    };
    assert_eq!(h.record_delivery(&claim, &sent).unwrap(), Status::Sent);
}
