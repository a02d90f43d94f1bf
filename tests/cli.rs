//! The command line, end to end: the built `herald` binary against a real SQLite file in a
//! temporary data folder and the real OS keyring (run inside `scripts/with-keyring.sh`). Each
//! test has its own folder and keyring service name.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use herald_core::secrets::{Keyring, OsKeyring};
use herald_core::token::{self, Claims, Purpose, NONCE_LEN};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::common::sink::Sink;
use crate::common::{Env, SERVE};

/// What only these tests need of an `Env`.
impl Env {
    /// The token and code of every link ever minted, recomputed from the keyring and the store.
    fn all_secrets(&self) -> Vec<String> {
        let db = self.db();
        let install: String = db
            .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let keyring = Keyring::new(OsKeyring::shared(), self.service.clone(), install);
        let mut stmt = db
            .prepare("SELECT invitation_id, nonce, key_version, email, expires_at FROM links")
            .unwrap();
        let rows: Vec<(i64, Vec<u8>, u32, String, i64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut secrets = Vec::new();
        for (id, nonce, version, email, expires_at) in rows {
            let Some(key) = keyring.get_key(version).unwrap() else {
                continue; // retired: deleted from the keyring
            };
            let nonce: [u8; NONCE_LEN] = nonce.try_into().unwrap();
            let c = Claims {
                key_version: version,
                invitation_id: id,
                email: &email,
                expires_at,
                nonce: &nonce,
            };
            secrets.push(
                token::mint(&key, Purpose::Invitation, &c)
                    .expose()
                    .to_owned(),
            );
            let code = token::code(&key, &c);
            secrets.push(code.expose().to_owned());
            secrets.push(code.expose_grouped());
        }
        assert!(!secrets.is_empty());
        secrets
    }

    /// What the outbox records after a delivery.
    fn mark_sent(&self, id: i64) {
        let db = self.db();
        db.execute("UPDATE invitations SET status = 'sent' WHERE id = ?1", [id])
            .unwrap();
        db.execute(
            "INSERT INTO audit (invitation_id, at, actor, action, from_status, to_status)
             VALUES (?1, strftime('%s','now'), 'system', 'sent', 'sending', 'sent')",
            [id],
        )
        .unwrap();
    }
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn files_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.extend(std::fs::read(p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A refused request: exit 2, one line on stderr that names the problem, nothing on stdout.
fn assert_refused(out: &Output, needle: &str, args: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: not one line: {stderr}"
    );
    assert!(stderr.starts_with("herald: "), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?}: printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn help_on_every_command() {
    let env = Env::new("cli");
    for path in [
        &[][..],
        &["init"],
        &["smtp"],
        &["smtp", "set"],
        &["smtp", "test"],
        &["invite"],
        &["invite", "create"],
        &["invite", "list"],
        &["invite", "show"],
        &["invite", "resend"],
        &["invite", "renew"],
        &["invite", "revoke"],
        &["key"],
        &["key", "status"],
        &["key", "rotate"],
        &["key", "retire"],
        &["key", "reissue"],
        &["limits"],
        &["serve"],
        &["owner"],
        &["owner", "add"],
        &["owner", "list"],
        &["owner", "remove"],
    ] {
        let mut args = path.to_vec();
        args.push("--help");
        let out = env.ok(&args);
        assert!(out.contains("Usage: herald"), "{args:?}: {out}");
    }
    assert!(env.ok(&["--version"]).starts_with("herald "));
    assert!(!env.data().exists(), "help writes nothing");
}

#[test]
fn commands_before_init_say_how_to_start_and_write_nothing() {
    let env = Env::new("cli");
    for args in [
        &["invite", "list"][..],
        &["invite", "create", "ada@example.com"],
        &["key", "status"],
        &["smtp", "set", "--host", "localhost", "--tls", "none"],
        SERVE,
    ] {
        assert_refused(&env.run(args), "herald init --team", args);
    }
    assert!(!env.data().exists());
}

#[test]
fn invitations_round_trip_as_text_and_json() {
    let env = Env::new("cli");
    env.init();
    let created = json_lines(&env.ok(&[
        "invite",
        "create",
        "Ada@Example.COM",
        "ada@example.com",
        "Grace Hopper <grace@bücher.example>",
        "--role",
        "admin",
        "--note",
        "Welcome aboard",
        "--expires",
        "2d",
        "--json",
    ]));
    assert_eq!(created.len(), 2, "duplicates fold");
    let fields = [
        "id",
        "email",
        "name",
        "role",
        "status",
        "created_at",
        "expires_at",
        "sent_at",
        "decided_at",
        "opened_at",
        "scanned_at",
        "attempts",
        "last_error",
    ];
    for obj in &created {
        let keys: Vec<&str> = obj
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = fields.to_vec();
        expected.sort();
        let mut keys = keys.clone();
        keys.sort();
        assert_eq!(keys, expected);
        assert_eq!(obj["status"], "queued");
        assert_eq!(obj["role"], "admin");
        assert!(obj["sent_at"].is_null() && obj["decided_at"].is_null());
        assert!(obj["created_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(created[0]["email"], "ada@example.com");
    assert_eq!(created[1]["email"], "grace@xn--bcher-kva.example");
    assert_eq!(created[1]["name"], "Grace Hopper");

    let listed = json_lines(&env.ok(&["invite", "list", "--json"]));
    assert_eq!(listed, created);
    let shown = json_lines(&env.ok(&["invite", "show", "2", "--json"]));
    assert_eq!(shown, vec![created[1].clone()]);

    let table = env.ok(&["invite", "list"]);
    assert!(table.starts_with("ID  STATUS  EMAIL"), "{table}");
    assert!(
        table.contains("grace@xn--bcher-kva.example  Grace Hopper  admin"),
        "{table}"
    );
    let detail = env.ok(&["invite", "show", "1"]);
    assert!(detail.contains("note:       Welcome aboard"), "{detail}");
    assert!(detail.contains("owner    created (→ queued)"), "{detail}");

    assert_eq!(
        env.ok(&["invite", "list", "--status", "revoked"]).trim(),
        "No invitations with that status."
    );
    assert_eq!(
        env.ok(&["invite", "list", "--status", "queued", "--json"])
            .lines()
            .count(),
        2
    );
}

#[test]
fn look_alike_domains_show_as_punycode_and_invisible_names_are_refused() {
    let env = Env::new("cli");
    env.init();
    // "аpple.com" with a Cyrillic "а" (U+0430) looks like apple.com; the owner sees what it is.
    let created = json_lines(&env.ok(&[
        "invite",
        "create",
        "Tim <ceo@\u{0430}pple.com>",
        "billing@p\u{0430}ypal.com",
        "--json",
    ]));
    assert_eq!(created[0]["email"], "ceo@xn--pple-43d.com");
    assert_eq!(created[1]["email"], "billing@xn--pypal-4ve.com");
    let table = env.ok(&["invite", "list"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains("ceo@xn--pple-43d.com ") && l.contains(" Tim ")),
        "{table}"
    );
    assert!(table.contains("billing@xn--pypal-4ve.com"), "{table}");
    assert!(!table.contains('\u{0430}'), "{table}");
    let detail = env.ok(&["invite", "show", "1"]);
    assert!(detail.contains("ceo@xn--pple-43d.com"), "{detail}");

    let before = env.snapshot();
    let cases: &[(&[&str], &str)] = &[
        (
            &["invite", "create", "Ad\u{200B}a <ada@example.com>"],
            "the name contains an invisible character (U+200B, zero-width space)",
        ),
        (
            &[
                "invite",
                "create",
                "ada@example.com",
                "--name",
                "\u{FEFF}Ada",
            ],
            "invisible character",
        ),
        (
            &["invite", "create", "Eve\u{202E}exe.gnp <eve@example.com>"],
            "invisible text-direction character (U+202E)",
        ),
        (
            &["invite", "create", "\u{0430}dmin@example.com"],
            "must be plain ASCII",
        ),
    ];
    for (args, needle) in cases {
        assert_refused(&env.run(args), needle, args);
        assert_eq!(env.snapshot(), before, "{args:?} changed the database");
    }
}

#[test]
fn bad_input_is_one_line_exit_2_and_changes_nothing() {
    let env = Env::new("cli");
    env.init();
    env.ok(&["invite", "create", "ada@example.com"]);
    let before = env.snapshot();
    let cases: &[(&[&str], &str)] = &[
        (
            &["invite", "create", "nope"],
            "\"nope\" is not an email address: it has no @",
        ),
        (
            &["invite", "create", "grace@example.com", "bad", "worse"],
            "1 more address is also invalid",
        ),
        (
            &[
                "invite",
                "create",
                "grace@example.com\r\nBcc: eve@example.com",
            ],
            "line break",
        ),
        (
            &[
                "invite",
                "create",
                "grace@example.com",
                "--role",
                "admin\nBcc: x",
            ],
            "the role contains a control character",
        ),
        (
            &[
                "invite",
                "create",
                "grace@example.com",
                "--name",
                "Eve\u{202e}",
            ],
            "text-direction",
        ),
        (
            &[
                "invite",
                "create",
                "grace@example.com",
                "--note",
                &"x".repeat(1001),
            ],
            "note is too long",
        ),
        (
            &["invite", "create", "grace@example.com", "--expires", "90d"],
            "out of range",
        ),
        (
            &["invite", "create", "grace@example.com", "--expires", "soon"],
            "is not an expiry",
        ),
        (
            &[
                "invite",
                "create",
                "a@example.com",
                "b@example.com",
                "--name",
                "Ada",
            ],
            "--name applies to one address",
        ),
        (
            &["invite", "create", "ADA@example.com"],
            "already has a pending invitation (#1)",
        ),
        (&["invite", "create"], "required"),
        (&["invite", "show", "999"], "there is no invitation #999"),
        (&["invite", "show", "abc"], "invalid value 'abc'"),
        (&["invite", "revoke", "999"], "no invitation #999"),
        (
            &["invite", "resend", "1"],
            "resend works on sent, failed or expired",
        ),
        (&["invite", "renew", "1", "--expires", "0h"], "out of range"),
        (
            &["invite", "list", "--status", "pending"],
            "invalid value 'pending'",
        ),
        (&["invite", "frobnicate"], "unrecognized subcommand"),
        (
            &["invite"],
            "requires a subcommand but one was not provided [subcommands: create, list",
        ),
        (&["key", "retire", "1"], "current signing key"),
        (&["key", "retire", "7"], "no key version 7"),
        (&["key", "retire", "-1"], "unexpected argument"),
        (
            &["smtp", "set", "--host", "smtp.example.com", "--tls", "none"],
            "--allow-insecure",
        ),
        (
            &["smtp", "set", "--host", "smtp.example.com:25"],
            "host name alone",
        ),
        (
            &["smtp", "set", "--host", "smtp.example.com", "--port", "0"],
            "port must be between 1 and 65535",
        ),
        (
            &[
                "smtp",
                "set",
                "--host",
                "smtp.example.com",
                "--password-stdin",
            ],
            "--user",
        ),
        (
            &[
                "init",
                "--team",
                "",
                "--owner-name",
                "C",
                "--from",
                "a@example.com",
                "--public-url",
                "https://x.example",
            ],
            "team name is empty",
        ),
        (
            &[
                "init",
                "--team",
                "T",
                "--owner-name",
                "C",
                "--from",
                "a@example.com",
                "--public-url",
                "http://x.example",
            ],
            "must start with https://",
        ),
        (
            &["serve", "--bind", "localhost"],
            "invalid value 'localhost'",
        ),
    ];
    for (args, needle) in cases {
        assert_refused(&env.run(args), needle, args);
        assert_eq!(env.snapshot(), before, "{args:?} changed the database");
    }
    // An empty password on stdin is refused too, and the keyring keeps nothing.
    let out = env.run_with(
        env.cmd(&[
            "smtp",
            "set",
            "--host",
            "smtp.example.com",
            "--user",
            "me",
            "--password-stdin",
        ]),
        "\n",
    );
    assert_refused(&out, "password is empty", &["smtp", "set"]);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn the_lifecycle_never_shows_a_token_or_code() {
    let env = Env::new("cli");
    env.init();
    env.ok(&[
        "invite",
        "create",
        "ada@example.com",
        "grace@example.com",
        "alan@example.com",
    ]);
    let out = env.ok(&["key", "status"]);
    assert!(out.contains("v1") && out.contains("current"), "{out}");

    env.mark_sent(1);
    assert!(env
        .ok(&["invite", "resend", "1"])
        .contains("queued to be mailed again"));
    let renewed = json_lines(&env.ok(&["invite", "renew", "2", "--expires", "3d", "--json"]));
    assert_eq!(renewed[0]["status"], "queued");
    assert!(env.ok(&["invite", "revoke", "3"]).contains("revoked"));
    assert_refused(
        &env.run(&["invite", "revoke", "3"]),
        "invitation #3 is revoked: it cannot be revoked",
        &["revoke"],
    );

    assert!(env
        .ok(&["key", "rotate"])
        .contains("Key v2 is now the current signing key"));
    env.ok(&["invite", "create", "edsger@example.com"]);
    let status = json_lines(&env.ok(&["key", "status", "--json"]));
    assert_eq!(status.len(), 2);
    assert_eq!(status[0]["live_links"], 2);
    assert_eq!(status[1]["current"], true);
    let secrets_before_retire = env.all_secrets();

    let out = env.ok(&["key", "retire", "1"]);
    assert!(out.contains("2 links stopped working"), "{out}");
    let out = env.ok(&["key", "status"]);
    assert!(
        out.contains("retired") && out.contains("run `herald key reissue`"),
        "{out}"
    );
    let out = env.ok(&["key", "reissue"]);
    assert!(
        out.contains("2 invitations got a new link signed by key v2"),
        "{out}"
    );
    let show = env.ok(&["invite", "show", "1"]);
    assert!(
        show.contains("signed by:  key v2") && show.contains("reissued"),
        "{show}"
    );

    let data = files_under(&env.data());
    let seen = env.seen.borrow();
    for secret in secrets_before_retire.iter().chain(&env.all_secrets()) {
        assert!(
            !contains(&data, secret),
            "a token or code is in the data folder"
        );
        assert!(!contains(&seen, secret), "a token or code was printed");
    }
}

#[test]
fn limits_are_shown_set_and_enforced() {
    let env = Env::new("cli");
    env.init();
    assert_eq!(
        env.ok(&["limits"]).trim(),
        "Each address gets at most 3 mails a day and 5 in 30 days."
    );
    let before = env.snapshot();
    for args in [
        &["limits", "--per-day", "0"][..],
        &["limits", "--per-day", "6"],
        &["limits", "--per-month", "101"],
    ] {
        assert_refused(&env.run(args), "do not work", args);
        assert_eq!(env.snapshot(), before);
    }
    assert_refused(
        &env.run(&["limits", "--per-day", "x"]),
        "invalid value 'x'",
        &["limits"],
    );
    assert_eq!(
        env.ok(&["limits", "--per-day", "1"]).trim(),
        "Each address gets at most 1 mail a day and 5 in 30 days."
    );

    env.ok(&["invite", "create", "ada@example.com"]);
    env.mark_sent(1);
    let before = env.snapshot();
    let args = ["invite", "resend", "1"];
    assert_refused(
        &env.run(&args),
        "ada@example.com has already been mailed 1 time(s) in the last day",
        &args,
    );
    assert_refused(
        &env.run(&["invite", "renew", "1"]),
        "try again after",
        &args,
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn lists_from_files_are_checked_line_by_line() {
    let env = Env::new("cli");
    env.init();
    let list = env.tmp.path().join("team.txt");
    std::fs::write(
        &list,
        "# new hires
ada@example.com
not-an-address

Grace <grace@exa mple.com>
",
    )
    .unwrap();
    let before = env.snapshot();
    let path = list.to_str().unwrap();
    let args = ["invite", "create", "--from-file", path];
    assert_refused(&env.run(&args), "2 line(s) of", &args);
    let out = env.run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3: \"not-an-address\" is not an email address")
            && stderr.contains("line 5:"),
        "{stderr}"
    );
    assert_refused(
        &env.run(&["invite", "create", "--from-file", "/nonexistent/list.txt"]),
        "cannot read /nonexistent/list.txt",
        &args,
    );
    assert_eq!(env.snapshot(), before);

    let csv = env.tmp.path().join("team.csv");
    std::fs::write(
        &csv,
        "email,name\nada@example.com,\"Lovelace, Ada\"\ngrace@example.com,\n",
    )
    .unwrap();
    let created = json_lines(&env.ok(&[
        "invite",
        "create",
        "alan@example.com",
        "--from-file",
        csv.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(created.len(), 3);
    assert_eq!(created[1]["name"], "Lovelace, Ada");
    let from_stdin = env.run_with(
        env.cmd(&["invite", "create", "--from-file", "-", "--json"]),
        "edsger@example.com\n",
    );
    assert!(from_stdin.status.success());
    assert_eq!(
        json_lines(&String::from_utf8(from_stdin.stdout).unwrap())[0]["email"],
        "edsger@example.com"
    );
}

#[test]
fn smtp_settings_keep_the_password_in_the_keyring() {
    let env = Env::new("cli");
    env.init();
    let password = "s3cret-Passw0rd";
    let out = env.run_with(
        env.cmd(&[
            "smtp",
            "set",
            "--host",
            "smtp.example.com",
            "--user",
            "owner",
            "--password-stdin",
        ]),
        &format!("{password}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "smtp.example.com:587 (STARTTLS required), user owner, password in the OS keyring"
        ),
        "{text}"
    );
    assert!(!contains(&files_under(&env.data()), password));
    let install: String = env
        .db()
        .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let stored = Keyring::new(OsKeyring::shared(), env.service.clone(), install)
        .smtp_password()
        .unwrap()
        .unwrap();
    assert_eq!(stored.expose_secret(), password);
    let out = env.ok(&[
        "smtp",
        "set",
        "--host",
        "127.0.0.1",
        "--port",
        "2525",
        "--tls",
        "none",
    ]);
    assert!(
        out.contains("127.0.0.1:2525 (unencrypted, this machine only), no login"),
        "{out}"
    );
}

#[test]
fn smtp_test_reports_the_servers_answer() {
    let env = Env::new("cli");
    env.init();
    let args = ["smtp", "test", "--to", "grace@example.com"];
    assert_refused(&env.run(&args), "SMTP is not set up yet", &args);
    assert_refused(
        &env.run(&["smtp", "test", "--to", "nope"]),
        "not an email address",
        &args,
    );

    // Nothing listens on this port: the error says what the connection did.
    let closed = herald_testkit::free_port();
    env.smtp_to_loopback(closed);
    let out = env.run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("herald: the SMTP server did not take the test message:"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A real server: smtp-sink on a free port, dumping what it receives.
    let dump = env.tmp.path().join("mail");
    let sink = Sink::start(&dump, &[]);
    env.smtp_to_loopback(sink.port);
    let out = env.ok(&args);
    drop(sink);
    assert!(
        out.contains("accepted the test message for grace@example.com"),
        "{out}"
    );
    let mail: Vec<_> = std::fs::read_dir(&dump).unwrap().collect();
    assert_eq!(mail.len(), 1);
}

#[test]
fn a_kill_mid_batch_loses_nothing() {
    let env = Env::new("cli");
    env.init();
    let dump = env.tmp.path().join("mail");
    let sink = Sink::start(&dump, &[]);
    env.smtp_to_loopback(sink.port);
    env.ok(&["limits", "--per-day", "3"]);
    const N: usize = 300;
    let addresses: Vec<String> = (0..N).map(|i| format!("person{i}@example.com")).collect();
    let mut args = vec!["invite", "create"];
    args.extend(addresses.iter().map(String::as_str));
    env.ok(&args);

    // Serve until some mail has gone out, then kill -9: no chance to tidy up.
    let mut serve = env.cmd(SERVE).stdout(Stdio::null()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while sink.recipients().len() < 20 {
        assert!(std::time::Instant::now() < deadline, "nothing was mailed");
        std::thread::sleep(Duration::from_millis(20));
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    let before_restart = sink.recipients().len();
    assert!(
        before_restart < N,
        "the kill came too late to test anything"
    );

    // Start again: everything left is mailed, the interrupted one perhaps twice.
    let mut serve = env.cmd(SERVE).stdout(Stdio::null()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let listed = json_lines(&env.ok(&["invite", "list", "--json"]));
        if listed.iter().all(|i| i["status"] == "sent") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all sent: {:?}",
            listed
                .iter()
                .filter(|i| i["status"] != "sent")
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    let got = sink.recipients();
    drop(sink);
    let mut counts = std::collections::BTreeMap::new();
    for r in &got {
        *counts.entry(r.clone()).or_insert(0) += 1;
    }
    for a in &addresses {
        assert!(counts.contains_key(a), "{a} never got its invitation");
    }
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    // At most one duplicate for each mail that was in flight when the process died.
    assert!(
        duplicates <= herald_core::mail::IN_FLIGHT,
        "{duplicates} duplicates: {counts:?}"
    );
    assert_eq!(got.len(), N + duplicates);
    eprintln!("kill test: {before_restart} mailed before the kill, {duplicates} duplicate(s), {N} invitations delivered");
}

#[test]
fn an_unreachable_keyring_is_explained_and_nothing_is_written() {
    let env = Env::new("cli");
    env.init();
    let before = env.snapshot();
    let mut c = env.cmd(&["invite", "create", "ada@example.com"]);
    c.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/herald-test-bus",
    );
    let out = env.run_with(c, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("the OS keyring cannot be reached"),
        "{stderr}"
    );
    assert!(stderr.contains("Secret Service"), "{stderr}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn serve_answers_health_checks_and_explains_a_busy_port() {
    let env = Env::new("cli");
    env.init();
    let mut child = env
        .cmd(SERVE)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split([' ', ';']).next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    let read = s.read_to_string(&mut resp);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    if let Err(e) = read {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        panic!(
            "no answer from {addr} ({e}); serve said: {line}{rest}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"status\":\"ok\""), "{resp}");

    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().to_string();
    let out = env.run(&["serve", "--bind", &port]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already in use") && stderr.contains("--bind"),
        "{stderr}"
    );
}

#[test]
fn the_window_without_a_display_says_what_to_do() {
    let env = Env::new("cli");
    let out = env.run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no graphical display") && stderr.contains("herald --help"),
        "{stderr}"
    );
}

/// Starts `herald serve` on a free port and waits until it says it mails; killed when
/// dropped.
struct Serving(std::process::Child);

impl Serving {
    fn start(env: &Env) -> Serving {
        let mut child = env.cmd(SERVE).stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("outbox: mailing from this data folder") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("herald serve started its outbox");
        Serving(child)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_mail(sink: &Sink, n: usize, within: Duration) -> Duration {
    let t = std::time::Instant::now();
    while sink.recipients().len() < n {
        assert!(
            t.elapsed() < within,
            "{n} mail(s) expected within {within:?}, got {}",
            sink.recipients().len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

/// With `herald serve` running (on an always-on host, say), an invitation, a resend and a
/// renewal made by another process (the CLI over SSH, or the window) go out within seconds:
/// the outbox notices the other process's commit instead of waiting for its next timed look,
/// which came a minute later.
#[test]
fn another_process_queues_and_serve_mails_at_once() {
    let env = Env::new("cli");
    env.init();
    let dump = env.tmp.path().join("mail");
    let sink = Sink::start(&dump, &[]);
    env.smtp_to_loopback(sink.port);
    env.ok(&["limits", "--per-day", "5", "--per-month", "10"]);
    let _serve = Serving::start(&env);
    // Let the outbox settle into its nap first.
    std::thread::sleep(Duration::from_millis(1500));

    env.ok(&["invite", "create", "grace@example.com"]);
    let first = wait_for_mail(&sink, 1, Duration::from_secs(10));
    env.ok(&["invite", "resend", "1"]);
    let resent = wait_for_mail(&sink, 2, Duration::from_secs(10));
    env.ok(&["invite", "renew", "1"]);
    let renewed = wait_for_mail(&sink, 3, Duration::from_secs(10));
    eprintln!("mailed after {first:?} (create), {resent:?} (resend), {renewed:?} (renew)");
    assert_eq!(sink.recipients(), vec!["grace@example.com"; 3]);
}

/// A server that offers AUTH in the open and writes down what it is told, on a free
/// loopback port; killed when dropped.
struct Recorder {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Recorder {
    fn start(dir: &Path, name: &str) -> Recorder {
        let port = herald_testkit::free_port();
        let log = dir.join(format!("{name}.log"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/recording_server.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready");
        Recorder { child, port, log }
    }

    fn heard(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stored SMTP password belongs to the server it was typed for. Pointing Herald at
/// another server with the same user and no new password removes it, says so, and the new
/// server never hears it.
#[test]
fn the_smtp_password_never_reaches_another_host() {
    use base64::Engine as _;
    let env = Env::new("cli");
    env.init();
    let trusted = Recorder::start(env.tmp.path(), "trusted");
    let other = Recorder::start(env.tmp.path(), "other");
    let secret = "only-for-the-first-server";
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0owner\0{secret}"));
    let set = |port: u16, password: Option<&str>| {
        let port = port.to_string();
        let mut args = vec![
            "smtp",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "none",
            "--user",
            "owner",
        ];
        if password.is_some() {
            args.push("--password-stdin");
        }
        let out = env.run_with(env.cmd(&args), password.unwrap_or(""));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let test = ["smtp", "test", "--to", "grace@example.com"];

    set(trusted.port, Some(secret));
    env.ok(&test);
    assert!(trusted.heard().contains(&plain), "{}", trusted.heard());

    let out = set(other.port, None);
    assert!(
        out.contains("has been removed, so it never reaches this one"),
        "{out}"
    );
    env.ok(&test);
    let heard = other.heard();
    assert!(heard.contains("MAIL FROM:"), "{heard}");
    assert!(!heard.contains("AUTH"), "{heard}");
    assert!(
        !heard.contains(&plain) && !heard.contains(secret),
        "{heard}"
    );
    let status = env.ok(&[
        "smtp",
        "set",
        "--host",
        "127.0.0.1",
        "--port",
        &other.port.to_string(),
        "--tls",
        "none",
        "--user",
        "owner",
    ]);
    assert!(status.contains("no password stored yet"), "{status}");
}

/// `herald backup` writes one consistent file for its owner alone and never over another;
/// `herald restore` puts it back, keeps what it replaced, and refuses while Herald runs on
/// the folder, for a file that is not a backup, and for another install's backup.
#[test]
fn backup_and_restore() {
    let env = Env::new("cli");
    env.init();
    env.ok(&["invite", "create", "grace@example.com", "alan@example.com"]);
    let file = env.tmp.path().join("herald-backup.db");
    let f = file.to_str().unwrap();
    let out = env.ok(&["backup", f]);
    assert!(
        out.contains("(2 invitations), readable by you alone"),
        "{out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let backed_up = std::fs::read(&file).unwrap();
    // Never over an existing file.
    assert_refused(&env.run(&["backup", f]), "already exists", &["backup", f]);
    assert_eq!(std::fs::read(&file).unwrap(), backed_up);

    // Changes after the backup are undone by the restore.
    env.ok(&["invite", "create", "ada@example.com"]);
    env.ok(&["invite", "revoke", "1"]);
    let out = env.ok(&["restore", f]);
    assert!(out.contains("(2 invitations)"), "{out}");
    assert!(out.contains("herald.db.before-restore"), "{out}");
    let listed = json_lines(&env.ok(&["invite", "list", "--json"]));
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i["status"] == "queued"));
    // Its links still verify: the keys never left the keyring.
    assert!(!env.all_secrets().is_empty());

    // Refused: a file that is not a backup, and nothing changes.
    let before = env.snapshot();
    let junk = env.tmp.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let j = junk.to_str().unwrap();
    assert_refused(
        &env.run(&["restore", j]),
        "is not a Herald backup",
        &["restore", j],
    );
    // Another install's backup.
    let stranger = Env::new("cli");
    stranger.init();
    let theirs = env.tmp.path().join("theirs.db");
    let t = theirs.to_str().unwrap();
    stranger.ok(&["backup", t]);
    assert_refused(
        &env.run(&["restore", t]),
        "another Herald install",
        &["restore", t],
    );
    // While `herald serve` mails from the folder.
    let serving = Serving::start(&env);
    assert_refused(
        &env.run(&["restore", f]),
        "Herald is running",
        &["restore", f],
    );
    drop(serving);
    assert_eq!(env.snapshot(), before);

    // Into an empty folder (a new computer with the same keyring), it sets Herald up.
    let fresh = Env {
        service: env.service.clone(),
        ..Env::new("cli")
    };
    let out = fresh.ok(&["restore", f]);
    assert!(!out.contains("before-restore"), "{out}");
    assert_eq!(
        json_lines(&fresh.ok(&["invite", "list", "--json"])).len(),
        2
    );
}

/// `herald owner add` prints a code and the command that uses it; the code pairs a computer
/// (here the core's client and server sides, run against the same data folder), the list
/// shows who paired and never the code, and removal cuts the owner off.
#[test]
fn owners_are_added_paired_listed_and_removed() {
    use herald_core::{ClientPairing, Clock, Herald, OpenOptions};

    let env = Env::new("cli");
    env.init();
    let text = env.ok(&["owner", "add", "Ada's laptop"]);
    assert!(text.starts_with("Added owner #1 (Ada's laptop)."), "{text}");
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("herald connect "))
        .unwrap_or_else(|| panic!("no command in {text}"));
    let code = line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(
        line,
        format!("herald connect https://invite.example.com:8751 --code {code}")
    );
    assert!(code.starts_with("1-"), "{code}");

    let bob = &json_lines(&env.ok(&["owner", "add", "Bob", "--json"]))[0];
    assert_eq!(bob["id"], 2);
    assert_eq!(bob["name"], "Bob");
    assert_eq!(bob["url"], "https://invite.example.com:8751");
    let bob_code = bob["code"].as_str().unwrap().to_owned();
    assert!(bob["expires_at"].as_str().unwrap().ends_with('Z'));

    // Pair Ada's computer, as `herald serve` and `herald connect` will.
    let spki = [7u8; 32];
    let h = Herald::open(OpenOptions {
        data_dir: env.data(),
        keyring: OsKeyring::shared(),
        keyring_service: env.service.clone(),
        clock: Clock::System,
    })
    .unwrap();
    let (client, start) = ClientPairing::start(&code).unwrap();
    let reply = h.pair_start(&start, &spki).unwrap();
    let (credential, finish) = client.finish(&reply, &spki).unwrap();
    h.pair_finish(&finish).unwrap();
    h.authenticate(credential.expose().expose_secret()).unwrap();

    let list = json_lines(&env.ok(&["owner", "list", "--json"]));
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["paired"], true);
    assert!(list[0]["last_seen_at"].is_string());
    assert_eq!(list[1]["paired"], false);
    assert!(list[1]["pairing_expires_at"].is_string());
    assert!(list.iter().all(|o| o.get("code").is_none()));
    let table = env.ok(&["owner", "list"]);
    assert!(table.starts_with("ID  NAME"), "{table}");
    assert!(table.contains("code valid until"), "{table}");
    for secret in [&code, &bob_code] {
        assert!(!table.contains(secret.as_str()));
        assert!(!contains(&files_under(&env.data()), secret));
    }

    let out = env.ok(&["owner", "remove", "1"]);
    assert!(out.contains("Owner #1 is removed"), "{out}");
    assert!(h.authenticate(credential.expose().expose_secret()).is_err());
    assert_eq!(json_lines(&env.ok(&["owner", "list", "--json"])).len(), 1);

    let args = ["owner", "remove", "1"];
    assert_refused(
        &env.run(&args),
        "there is no owner #1; `herald owner list` shows the ones there are",
        &args,
    );
    let args = ["owner", "add", " "];
    assert_refused(&env.run(&args), "the owner name is empty", &args);
}
