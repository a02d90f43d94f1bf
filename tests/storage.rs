//! The command line on a full disk and a read-only data folder: the built `herald` binary, a
//! real tmpfs that fills up, a real read-only bind mount, the real keyring (run inside
//! `scripts/with-keyring.sh`). Each failure is one line on stderr with exit code 1 (something
//! around Herald failed), and nothing is changed. The tests need root to mount (CI runs as
//! root); without it they say why and return.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_herald");
/// "Something around Herald failed" (README: keyring, disk, port).
const EXIT_ENVIRONMENT: i32 = 1;

struct Env {
    tmp: TempDir,
    service: String,
}

impl Env {
    fn new() -> Env {
        static N: AtomicU32 = AtomicU32::new(0);
        Env {
            tmp: tempfile::tempdir().unwrap(),
            service: format!(
                "herald-storage-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ),
        }
    }

    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("HERALD_DATA_DIR", self.data())
            .env("HERALD_KEYRING_SERVICE", &self.service)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed with {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn init(&self) {
        self.ok(&INIT);
    }

    /// Every row of every table, as text: equal snapshots mean nothing was written. Read-only,
    /// so taking one changes nothing either.
    fn snapshot(&self) -> String {
        let db = rusqlite::Connection::open_with_flags(
            self.data().join("herald.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut s = String::new();
        for table in [
            "meta",
            "settings",
            "key_versions",
            "invitations",
            "links",
            "audit",
        ] {
            let mut stmt = db
                .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
                .unwrap();
            let n = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(r) = rows.next().unwrap() {
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i).unwrap();
                    s.push_str(&format!("{v:?}|"));
                }
                s.push('\n');
            }
        }
        s
    }
}

const INIT: [&str; 9] = [
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

/// Like `assert_refused` in cli.rs, for a failure around Herald: exit code 1, exactly `line`
/// on stderr, nothing on stdout.
fn assert_failed(out: &Output, line: &str, args: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(EXIT_ENVIRONMENT),
        "{args:?}: {stderr}"
    );
    assert_eq!(stderr, format!("herald: {line}\n"), "{args:?}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A mount made by a test, undone when it goes out of scope, a failed assertion included.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    fn run(args: &[&str]) {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let opts = format!("size={size},mode=700");
        Mount::run(&["mount", "-t", "tmpfs", "-o", &opts, "tmpfs", path(dir)]);
        Mount {
            dir: dir.to_owned(),
        }
    }

    fn read_only(dir: &Path) -> Mount {
        Mount::run(&["mount", "--bind", path(dir), path(dir)]);
        let m = Mount {
            dir: dir.to_owned(),
        };
        Mount::run(&["mount", "-o", "remount,bind,ro", path(dir)]);
        m
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it now, it goes when they close.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

#[test]
fn a_full_disk_is_one_clear_line_and_changes_nothing() {
    if !is_root() {
        println!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    let env = Env::new();
    let _mount = Mount::tmpfs(&env.data(), "4m");
    env.init();
    env.ok(&["invite", "create", "ada@example.com"]);
    let before = env.snapshot();

    // Fill the disk to the last byte.
    let filler = env.data().join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    drop(file);

    let line = format!(
        "the disk holding {} is full: free some space and try again",
        env.data().display()
    );
    let create = ["invite", "create", "grace@example.com", "alan@example.com"];
    let limits = ["limits", "--per-day", "2"];
    // A changed setting: `init` with the same values rewrites no page, and succeeds even here.
    let mut rename = INIT;
    rename[2] = "Difference Engines";
    for args in [&create[..], &limits, &rename] {
        assert_failed(&env.run(args), &line, args);
    }
    assert_eq!(env.snapshot(), before);

    std::fs::remove_file(&filler).unwrap();
    env.ok(&create);
    env.ok(&limits);
    env.ok(&rename);
    let list = env.ok(&["invite", "list"]);
    for who in ["ada@", "grace@", "alan@"] {
        assert!(list.contains(who), "{list}");
    }
}

#[test]
fn a_read_only_folder_lists_and_refuses_writes_in_one_line() {
    if !is_root() {
        println!("skipped: a read-only bind mount needs root (CI runs as root)");
        return;
    }
    let env = Env::new();
    env.init();
    env.ok(&["invite", "create", "ada@example.com", "grace@example.com"]);
    let before = env.snapshot();
    let bytes = std::fs::read(env.data().join("herald.db")).unwrap();
    {
        let _ro = Mount::read_only(&env.data());
        let list = env.ok(&["invite", "list"]);
        assert!(list.contains("ada@") && list.contains("grace@"), "{list}");
        let line = format!(
            "Herald cannot write to {}: the folder or its disk is read-only (or belongs to \
             another user); make it writable, or run Herald as its owner, and try again",
            env.data().display()
        );
        for args in [
            &["invite", "create", "alan@example.com"][..],
            &["invite", "revoke", "1"],
            &["limits", "--per-day", "2"],
            &INIT,
        ] {
            assert_failed(&env.run(args), &line, args);
        }
        // A data folder that would have to be made inside the read-only one.
        let inner = env.data().join("inner");
        let out = Command::new(BIN)
            .args(INIT)
            .env("HERALD_DATA_DIR", &inner)
            .env("HERALD_KEYRING_SERVICE", &env.service)
            .output()
            .unwrap();
        let line = line.replace(
            &env.data().display().to_string(),
            &inner.display().to_string(),
        );
        assert_failed(&out, &line, &INIT);
    }
    assert_eq!(env.snapshot(), before);
    assert_eq!(std::fs::read(env.data().join("herald.db")).unwrap(), bytes);
    env.ok(&["invite", "create", "alan@example.com"]);
}
