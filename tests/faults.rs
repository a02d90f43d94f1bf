//! Crashes and a locked keyring, end to end: the built `herald` binary, a real SQLite file,
//! the real keyring and real SMTP servers (Postfix's smtp-sink). Runs inside
//! `scripts/with-keyring.sh`.
//!
//! - `sigkill_at_random_points_loses_nothing`: `herald serve` mails 500 invitations and is
//!   killed with SIGKILL at seeded random points, K times, restarted each time (another 500
//!   are queued whenever the kills outlast a batch). Knobs: `HERALD_FAULT_SEED=N` replays a
//!   run (the seed is printed), `HERALD_FAULT_KILLS=K` (default 10; the long variant is 200).
//! - `a_keyring_locked_mid_run_holds_mail_back_and_loses_nothing`: the keyring is locked while
//!   `herald serve` mails, and unlocked again. It runs its own D-Bus session and
//!   gnome-keyring-daemon, so that locking it cannot disturb the tests running beside it.
//!
//! docs/fault-tests.md says what each proves and how long it takes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_core::mail::IN_FLIGHT;
use serde_json::Value;
use tempfile::TempDir;

use crate::common::sink::Sink;
use crate::common::{Env, SERVE};
use herald_testkit::{env_number, Rng};

/// What only these tests need of an `Env`.
impl Env {
    /// `herald serve` on a free port, its stdout (flushed line by line) going to `log`.
    fn serve(&self, log: &Path) -> Child {
        let out = std::fs::File::create(log).unwrap();
        self.cmd(SERVE)
            .stdout(out)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }

    fn list(&self) -> Vec<Value> {
        self.ok(&["invite", "list", "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn ids_with_status(&self, status: &str) -> Vec<i64> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT id FROM invitations WHERE status = ?1 ORDER BY id")
            .unwrap();
        let rows = stmt.query_map([status], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// The invitations in `sending`, with their attempt counts.
    fn sending(&self) -> Vec<(i64, u32)> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT id, attempts FROM invitations WHERE status = 'sending' ORDER BY id")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn integrity(&self) -> String {
        self.db()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap()
    }
}

/// Stops a process the test started, by its id, with SIGTERM (as a service manager does).
fn terminate(child: &mut Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "herald serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// What one kill found.
#[derive(Debug)]
struct Kill {
    /// Messages at the sink when the run started and when it was killed.
    mailed_before: usize,
    mailed_at_kill: usize,
    /// Everything left in `sending` (claimed, outcome not recorded), with its attempt number.
    sending: Vec<(i64, u32)>,
    /// Of those, the ones this run claimed: mails in flight at the kill, each perhaps a
    /// duplicate. (A run killed before it reclaimed finds the last run's ones still there.)
    caught: Vec<i64>,
    /// Killed after a pause rather than after a number of mails.
    timed: bool,
}

#[test]
fn sigkill_at_random_points_loses_nothing() {
    /// Invitations per batch (the most one `invite create` takes). Further batches are added
    /// only when the kills outlast one (the long variant).
    const N: usize = 500;
    let seed = herald_testkit::seed("HERALD_FAULT_SEED");
    let kills = env_number("HERALD_FAULT_KILLS").unwrap_or(10) as usize;
    eprintln!(
        "kill loop: seed {seed}, {kills} kills (replay with HERALD_FAULT_SEED={seed} HERALD_FAULT_KILLS={kills})"
    );
    let mut rng = Rng::new(seed);
    let started = Instant::now();

    let env = Env::new("fault");
    env.init();
    let sink = Sink::start(&env.tmp.path().join("mail"), &[]);
    env.smtp_to_loopback(sink.port);
    let logs = env.tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    let mut addresses: Vec<String> = Vec::new();
    let mut done: Vec<Kill> = Vec::new();
    let mut batches = 0;
    while done.len() < kills {
        let batch: Vec<String> = (0..N)
            .map(|i| format!("b{batches}-person{i}@example.com"))
            .collect();
        let mut args = vec!["invite", "create"];
        args.extend(batch.iter().map(String::as_str));
        env.ok(&args);
        addresses.extend(batch);
        batches += 1;
        while done.len() < kills {
            let k = done.len();
            let mailed_before = sink.count();
            let left = addresses.len() - sink.copies().len();
            if left == 0 {
                break; // this batch is done: the next one
            }
            let log = logs.join(format!("serve-{k}.log"));
            let mut serve = env.serve(&log);
            // Most kills come after a random number of mails, spread over what is left so
            // that they land all through the batch; one in eight after a random pause
            // instead, which can hit start-up and the reclaiming of the last crash's mails.
            let timed = rng.below(8) == 0;
            if timed {
                std::thread::sleep(Duration::from_millis(rng.below(400)));
            } else {
                // At least `left` more mails will come (more if some are mailed again), so
                // the target is always reached, and short of the batch's end when it can be.
                let spread = (2 * left / (kills - k)).max(1) as u64;
                let more = (1 + rng.below(spread) as usize).min(left.saturating_sub(1).max(1));
                let target = mailed_before + more;
                let deadline = Instant::now() + Duration::from_secs(60);
                while sink.count() < target {
                    assert!(
                        Instant::now() < deadline,
                        "run {k}: fewer than {target} mails after 60 s: {}",
                        read(&log)
                    );
                    assert!(
                        serve.try_wait().unwrap().is_none(),
                        "run {k}: herald serve exited: {}",
                        read(&log)
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
                // And a little more, so the kill does not always follow a message's arrival.
                std::thread::sleep(Duration::from_micros(rng.below(3000)));
            }
            serve.kill().unwrap(); // SIGKILL: no chance to tidy up
            serve.wait().unwrap();
            let sending = env.sending();
            assert!(
                sending.len() <= IN_FLIGHT,
                "run {k}: {} in flight, more than {IN_FLIGHT}",
                sending.len()
            );
            // Each claim adds an attempt: one seen before with the same attempt number is the
            // same claim, left by an earlier kill and not yet reclaimed.
            let before: BTreeSet<(i64, u32)> = done
                .last()
                .map(|k| k.sending.iter().copied().collect())
                .unwrap_or_default();
            let caught: Vec<i64> = sending
                .iter()
                .filter(|s| !before.contains(s))
                .map(|&(id, _)| id)
                .collect();
            let mailed_at_kill = sink.count();
            // What the previous kill left in flight was queued again before this run mailed.
            if !before.is_empty() && mailed_at_kill > mailed_before {
                let text = read(&log);
                let line = format!(
                    "outbox: {} invitation(s) interrupted by a stop are queued again",
                    before.len()
                );
                assert!(text.contains(&line), "run {k}: no {line:?} in {text}");
            }
            done.push(Kill {
                mailed_before,
                mailed_at_kill,
                sending,
                caught,
                timed,
            });
        }
    }

    // The last run, to the end.
    let log = logs.join("serve-last.log");
    let mut serve = env.serve(&log);
    if let Some(prev) = done.last().filter(|k| !k.sending.is_empty()) {
        let line = format!(
            "outbox: {} invitation(s) interrupted by a stop are queued again",
            prev.sending.len()
        );
        wait_for_line(&log, &line, Duration::from_secs(30), &mut serve);
    }
    let total = addresses.len();
    let deadline = Instant::now() + Duration::from_secs(90);
    while env.ids_with_status("sent").len() < total {
        assert!(
            Instant::now() < deadline,
            "not all sent within 90 s of the last start: {}",
            read(&log)
        );
        assert!(serve.try_wait().unwrap().is_none(), "{}", read(&log));
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(&mut serve);
    let elapsed = started.elapsed();

    // Every invitation is sent, by Herald's own account...
    let listed = env.list();
    assert_eq!(listed.len(), total);
    let mut caught_at: BTreeMap<i64, u32> = BTreeMap::new();
    for k in &done {
        for &id in &k.caught {
            *caught_at.entry(id).or_insert(0) += 1;
        }
    }
    let mut by_email = BTreeMap::new();
    for inv in &listed {
        let id = inv["id"].as_i64().unwrap();
        let email = inv["email"].as_str().unwrap().to_owned();
        assert_eq!(inv["status"], "sent", "{inv}");
        assert!(inv["last_error"].is_null(), "{inv}");
        // One claim per attempt: the last, and one before each crash that caught it.
        let extra = caught_at.get(&id).copied().unwrap_or(0);
        assert_eq!(inv["attempts"], 1 + extra, "{inv}");
        by_email.insert(email, (id, extra));
    }
    // ...and the history says why each extra attempt was made.
    let interrupted: BTreeMap<i64, u32> = {
        let db = env.db();
        let mut stmt = db
            .prepare(
                "SELECT invitation_id, count(*) FROM audit WHERE action = 'interrupted'
                 GROUP BY invitation_id",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(interrupted, caught_at);

    // ...and by the mail server's: everyone got theirs, and the only copies beyond the first
    // are of mails a crash caught in flight, at most one per crash that caught it.
    let copies = sink.copies();
    let mut duplicates = 0;
    for a in &addresses {
        let got = copies.get(a).copied().unwrap_or(0);
        let (id, extra) = by_email[a];
        assert!(got >= 1, "{a} (#{id}) never got its invitation");
        assert!(
            got as u32 <= 1 + extra,
            "{a} (#{id}) got {got} copies, but was in flight at only {extra} kill(s)"
        );
        duplicates += got - 1;
    }
    assert_eq!(copies.len(), total, "mail only to the invited: {copies:?}");
    let caught: usize = done.iter().map(|k| k.caught.len()).sum();
    assert!(duplicates <= caught && caught <= done.len() * IN_FLIGHT);
    assert_eq!(env.integrity(), "ok");

    // The kills must have hit the outbox at work, or this proved little.
    let mid_send = done.iter().filter(|k| !k.caught.is_empty()).count();
    assert!(
        mid_send * 2 >= done.len(),
        "only {mid_send} of {} kills caught mail in flight: {done:?}",
        done.len()
    );
    let per_kill: Vec<String> = done
        .iter()
        .map(|k| {
            format!(
                "{}{}+{}",
                if k.timed { "t" } else { "" },
                k.mailed_before,
                k.mailed_at_kill - k.mailed_before
            )
        })
        .collect();
    eprintln!(
        "kill loop: {} kills over {batches} batch(es) of {N} ({mid_send} with mail in flight, \
         {caught} mails in flight in all), {duplicates} duplicate(s), {total} invitations sent, \
         {:.1}s; per kill, mails before+during the run (t: timed): {}",
        done.len(),
        elapsed.as_secs_f64(),
        per_kill.join(" ")
    );
}

/// A D-Bus session and a gnome-keyring-daemon of this test's own, unlocked with a known
/// password; both stopped when dropped.
struct PrivateKeyring {
    dir: TempDir,
    bus: Child,
    daemon: Child,
    address: String,
}

const KEYRING_PASSWORD: &str = "herald-fault-test";
const LOGIN: &str = "/org/freedesktop/secrets/collection/login";

impl PrivateKeyring {
    fn start() -> PrivateKeyring {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for sub in ["run", "data"] {
            let p = dir.path().join(sub);
            std::fs::create_dir(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!(
                "--address=unix:path={}",
                dir.path().join("bus").display()
            ))
            .stdout(Stdio::piped())
            // As root it warns at every start that it cannot raise its file limit.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (scripts/setup.sh installs dbus)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--components=secrets", "--unlock"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_RUNTIME_DIR", dir.path().join("run"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env_remove("GNOME_KEYRING_CONTROL")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (scripts/setup.sh installs gnome-keyring)");
        // The password on stdin, then end of input: it creates and unlocks "login" with it.
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(KEYRING_PASSWORD.as_bytes())
            .unwrap();
        let k = PrivateKeyring {
            dir,
            bus,
            daemon,
            address,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !k
            .dbus(&[
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .contains("boolean true")
        {
            assert!(Instant::now() < deadline, "no Secret Service within 10 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        k
    }

    /// `dbus-send --print-reply ARGS` on this session; its output.
    fn dbus(&self, args: &[&str]) -> String {
        let out = Command::new("dbus-send")
            .args(["--session", "--print-reply"])
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn locked(&self) -> bool {
        let out = self.dbus(&[
            "--dest=org.freedesktop.secrets",
            LOGIN,
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Collection",
            "string:Locked",
        ]);
        assert!(out.contains("boolean"), "no Locked property: {out:?}");
        out.contains("boolean true")
    }

    /// Locks the login collection, as the desktop does (Secret Service `Lock`; no prompt).
    fn lock(&self) {
        self.dbus(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            &format!("array:objpath:{LOGIN}"),
        ]);
        assert!(self.locked(), "the keyring did not lock");
    }

    /// Unlocks the login collection with a password, as pam_gnome_keyring does at login: the
    /// daemon's control socket, op UNLOCK (the Secret Service's own Unlock needs a prompt,
    /// which needs a display). Returns whether the daemon took the password.
    fn unlock(&self, password: &str) -> bool {
        // Packet: u32 length, u32 op (1 = unlock), then the password as u32 length + bytes;
        // all big-endian. The reply is u32 length (8) and u32 result (0 = ok, 1 = denied).
        let control = self.dir.path().join("run/keyring/control");
        let mut s = std::os::unix::net::UnixStream::connect(&control).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // One zero byte first: the daemon reads the caller's credentials along with it.
        s.write_all(&[0]).unwrap();
        let pw = password.as_bytes();
        let mut packet = Vec::new();
        packet.extend(u32::try_from(12 + pw.len()).unwrap().to_be_bytes());
        packet.extend(1u32.to_be_bytes());
        packet.extend(u32::try_from(pw.len()).unwrap().to_be_bytes());
        packet.extend(pw);
        s.write_all(&packet).unwrap();
        let mut reply = [0u8; 8];
        s.read_exact(&mut reply).unwrap();
        assert_eq!(reply[..4], 8u32.to_be_bytes(), "reply {reply:?}");
        u32::from_be_bytes(reply[4..].try_into().unwrap()) == 0
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        for c in [&mut self.daemon, &mut self.bus] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The path of the invitation link in a message: `/i/TOKEN`.
fn link_path(message: &str) -> String {
    let body = herald_testkit::unfold_qp(message);
    let prefix = "https://invite.example.com/i/";
    let start = body.find(prefix).expect("a link in the mail") + prefix.len() - 3;
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'))
        .collect()
}

/// GET `path` from the site at `addr`: (status code, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: invite.example.com\r\nUser-Agent: Mozilla/5.0 (fault test)\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let code = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, resp)
}

/// Polls `log` until it holds `needle`, for at most `within`.
fn wait_for_line(log: &Path, needle: &str, within: Duration, serve: &mut Child) -> String {
    let deadline = Instant::now() + within;
    loop {
        let text = read(log);
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} within {within:?}: {text}"
        );
        assert!(serve.try_wait().unwrap().is_none(), "serve exited: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_keyring_locked_mid_run_holds_mail_back_and_loses_nothing() {
    let started = Instant::now();
    let keyring = PrivateKeyring::start();
    let env = Env::on_bus("fault", keyring.address.clone());
    env.init();
    // A second before each DATA answer: four mails a second, so the batch is still going when
    // the keyring locks.
    let sink = Sink::start(&env.tmp.path().join("mail"), &["-w", "1"]);
    env.smtp_to_loopback(sink.port);
    let first: Vec<String> = (0..24).map(|i| format!("early{i}@example.com")).collect();
    let mut args = vec!["invite", "create"];
    args.extend(first.iter().map(String::as_str));
    env.ok(&args);

    let log = env.tmp.path().join("serve.log");
    let mut serve = env.serve(&log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.count() < 4 {
        assert!(Instant::now() < deadline, "nothing mailed: {}", read(&log));
        std::thread::sleep(Duration::from_millis(20));
    }
    // The owner rotates the signing key and invites more people: their links are signed by
    // the new key, which the running serve has not read yet. Then the keyring locks (the
    // desktop session ends, say) while serve is still mailing.
    env.ok(&["key", "rotate"]);
    let second: Vec<String> = (0..12).map(|i| format!("late{i}@example.com")).collect();
    let mut args = vec!["invite", "create"];
    args.extend(second.iter().map(String::as_str));
    env.ok(&args);
    keyring.lock();
    let mailed_at_lock = sink.count();

    // Anything that needs a key now says so, changes nothing, and tells the owner what to do.
    let out = env.run(&["invite", "create", "grace@example.com"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("herald: the OS keyring is locked") && stderr.contains("Unlock it"),
        "{stderr}"
    );
    assert!(!env.list().iter().any(|i| i["email"] == "grace@example.com"));
    let out = env.run(SERVE);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a second serve started: {stderr}"
    );
    assert!(
        stderr.starts_with("herald: the OS keyring is locked"),
        "{stderr}"
    );

    // The running serve keeps the key it has read and mails the first batch to the end; at
    // the first invitation signed by the new key it stops, says why, and puts the claimed
    // invitations back untouched.
    let text = wait_for_line(
        &log,
        "outbox: waiting: the OS keyring is locked",
        Duration::from_secs(40),
        &mut serve,
    );
    let waiting = text
        .lines()
        .find(|l| l.starts_with("outbox: waiting:"))
        .unwrap()
        .to_owned();
    assert!(waiting.contains("Unlock it"), "{waiting}");
    let listed = env.list();
    for inv in &listed {
        let late = inv["email"].as_str().unwrap().starts_with("late");
        if late {
            assert_eq!(inv["status"], "queued", "{inv}");
            assert_eq!(
                inv["attempts"], 0,
                "a held-back claim is not an attempt: {inv}"
            );
        } else {
            // The ones claimed together with the first late ones were put back too.
            assert!(
                inv["status"] == "sent" || inv["status"] == "queued",
                "{inv}"
            );
        }
    }
    let late_ids: BTreeSet<i64> = listed
        .iter()
        .filter(|i| i["email"].as_str().unwrap().starts_with("late"))
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let held_back = env
        .db()
        .query_row(
            "SELECT invitation_id, detail FROM audit WHERE action = 'not-sent' ORDER BY rowid LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap();
    assert!(
        held_back.1.contains("the OS keyring is locked"),
        "{held_back:?}"
    );
    // The owner sees why in the invitation's history.
    let show = env.ok(&["invite", "show", &held_back.0.to_string()]);
    assert!(show.contains("the OS keyring is locked"), "{show}");
    let held_at_sink = sink.count();
    assert!(
        sink.messages().iter().all(|(r, _)| !r.starts_with("late")),
        "mail for a late invitation went out while the keyring was locked"
    );

    // Wrong password: still locked, still nothing goes out.
    assert!(!keyring.unlock("not-the-password"));
    assert!(keyring.locked());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.count(), held_at_sink, "mail went out while locked");
    // Held back once: the outbox waits out its pause instead of claiming and putting back
    // again at each of its own commits.
    let put_back: i64 = env
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'not-sent' AND invitation_id = ?1",
            [held_back.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(put_back, 1, "claimed and put back again while locked");

    // Unlocked: serve carries on by itself (after its pause for problems, 30 s) and mails
    // the rest, each exactly once.
    let unlocked_at = Instant::now();
    assert!(keyring.unlock(KEYRING_PASSWORD));
    assert!(!keyring.locked());
    let deadline = Instant::now() + Duration::from_secs(75);
    while env.ids_with_status("sent").len() < first.len() + second.len() {
        assert!(
            Instant::now() < deadline,
            "not all sent within 75 s of the unlock: {}",
            read(&log)
        );
        assert!(serve.try_wait().unwrap().is_none(), "{}", read(&log));
        std::thread::sleep(Duration::from_millis(200));
    }
    let recovery = unlocked_at.elapsed();

    // Every mail's link opens its live invitation at the site (none is broken or stale),
    // and a link with a changed token does not.
    let head = read(&log);
    let addr = head
        .lines()
        .next()
        .and_then(|l| l.split("http://").nth(1))
        .and_then(|s| s.split([' ', ';']).next())
        .expect("the site's address in serve's first line")
        .to_owned();
    let messages = sink.messages();
    assert_eq!(messages.len(), first.len() + second.len());
    let copies = sink.copies();
    for who in first.iter().chain(&second) {
        assert_eq!(copies.get(who), Some(&1), "{who}: {copies:?}");
    }
    for (rcpt, text) in &messages {
        let path = link_path(text);
        let (code, page) = get(&addr, &path);
        assert_eq!(code, 200, "{rcpt}: {path}: {page}");
        assert!(page.contains(rcpt.as_str()), "{rcpt}: {page}");
    }
    // One character in the middle of the token changed (the last one may be padding bits).
    let mut forged: Vec<char> = link_path(&messages[0].1).chars().collect();
    let middle = 3 + (forged.len() - 3) / 2;
    forged[middle] = if forged[middle] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    assert_eq!(get(&addr, &forged).0, 404);
    terminate(&mut serve);

    for inv in env.list() {
        assert_eq!(inv["status"], "sent", "{inv}");
        let late = late_ids.contains(&inv["id"].as_i64().unwrap());
        assert_eq!(inv["attempts"], 1, "late {late}: {inv}");
    }
    assert_eq!(env.integrity(), "ok");
    eprintln!(
        "keyring lock: {mailed_at_lock} of {} mailed when the keyring locked, {held_at_sink} \
         before serve held the rest back; all sent {:.1}s after the unlock; whole test {:.1}s",
        first.len() + second.len(),
        recovery.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
