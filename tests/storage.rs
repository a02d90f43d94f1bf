//! The command line on a full disk and a read-only data folder: the built `herald` binary, a
//! real tmpfs that fills up, a real read-only bind mount, the real keyring (run inside
//! `scripts/with-keyring.sh`). Each failure is one line on stderr with exit code 1 (something
//! around Herald failed), and nothing is changed. The tests need root to mount (CI runs as
//! root); without it they say why and return.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::process::{Command, Output};

/// "Something around Herald failed" (README: keyring, disk, port).
const EXIT_ENVIRONMENT: i32 = 1;

use crate::common::{Env, BIN, INIT};
use herald_testkit::{is_root, Mount};

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

#[test]
fn a_full_disk_is_one_clear_line_and_changes_nothing() {
    if !is_root() {
        println!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    let env = Env::new("storage");
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
    let env = Env::new("storage");
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
