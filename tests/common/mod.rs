//! What the command-line tests share: the built `herald` binary run in a data folder and
//! under a keyring service name of its own (so tests never see each other's keys), with
//! everything it printed kept to search for secrets afterwards.
#![allow(dead_code)] // each test file uses its own subset

pub mod sink;

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_herald");

/// `herald init` for a test team.
pub const INIT: [&str; 9] = [
    "init",
    "--team",
    "Analytical Engines",
    "--owner-name",
    "Charles Babbage",
    "--from",
    "invites@example.com",
    "--public-url",
    "https://invite.example.com",
];

/// `herald serve` with the site and the owner API on ports the OS picks: tests that run at
/// once never share one, and none takes the owner API's default port.
pub const SERVE: &[&str] = &[
    "serve",
    "--bind",
    "127.0.0.1:0",
    "--owner-bind",
    "127.0.0.1:0",
];

pub struct Env {
    pub tmp: TempDir,
    pub service: String,
    /// A D-Bus session of its own (a private keyring), instead of the one the tests run in.
    pub bus: Option<String>,
    /// Everything any command printed, to search for secrets at the end.
    pub seen: RefCell<Vec<u8>>,
}

impl Env {
    /// `kind` names the test file in the keyring service name, to tell leftovers apart.
    pub fn new(kind: &str) -> Env {
        static N: AtomicU32 = AtomicU32::new(0);
        Env {
            tmp: tempfile::tempdir().unwrap(),
            service: format!(
                "herald-{kind}-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ),
            bus: None,
            seen: Default::default(),
        }
    }

    /// The same, on the D-Bus session at `bus`.
    pub fn on_bus(kind: &str, bus: String) -> Env {
        Env {
            bus: Some(bus),
            ..Env::new(kind)
        }
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn db_path(&self) -> PathBuf {
        self.data().join("herald.db")
    }

    /// The command, with no display (the CLI must never need one) and nothing on stdin.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("HERALD_DATA_DIR", self.data())
            .env("HERALD_KEYRING_SERVICE", &self.service)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null());
        if let Some(bus) = &self.bus {
            c.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        c
    }

    /// Runs `c` with `stdin` as its input and keeps what it printed.
    pub fn run_with(&self, mut c: Command, stdin: &str) -> Output {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        self.seen.borrow_mut().extend(&out.stdout);
        self.seen.borrow_mut().extend(&out.stderr);
        out
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(self.cmd(args), "")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed with {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn init(&self) {
        self.ok(&INIT);
    }

    /// Points Herald at a plain-text SMTP server on loopback.
    pub fn smtp_to_loopback(&self, port: u16) {
        let port = port.to_string();
        self.ok(&[
            "smtp",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "none",
        ]);
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db_path()).unwrap()
    }

    /// Every row of every table, as text: equal snapshots mean nothing was written.
    pub fn snapshot(&self) -> String {
        herald_testkit::snapshot(&self.db_path())
    }
}
