//! The outbox against a real SMTP server: Postfix's smtp-sink, started here on a free loopback
//! port, which writes each message it receives to a file and can answer commands with soft or
//! hard errors. The keys and the SMTP password are in an in-memory keyring.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::mail::OutboxEvent;
use herald_core::{
    Clock, Herald, InitParams, LinkCheck, NewInvitations, OpenOptions, SmtpParams, Status, TlsMode,
};
use tempfile::TempDir;

use crate::common::worker::Worker;

/// A running smtp-sink; killed when dropped.
struct Sink {
    child: Child,
    dir: PathBuf,
}

impl Sink {
    /// `faults`: smtp-sink options such as `["-r", "RCPT"]` (soft 4xx) or `["-f", "RCPT"]`
    /// (hard 5xx).
    fn start(port: u16, dir: &Path, faults: &[&str]) -> Sink {
        let child = herald_testkit::start_smtp_sink(port, dir, faults);
        Sink {
            child,
            dir: dir.to_owned(),
        }
    }

    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Fixture {
    _tmp: TempDir,
    root: PathBuf,
    herald: Arc<Herald>,
    clock: Clock,
    port: u16,
}

fn fixture() -> Fixture {
    static N: AtomicU32 = AtomicU32::new(0);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_owned();
    let clock = Clock::manual(1_900_000_000);
    let opts = OpenOptions {
        data_dir: root.join("data"),
        keyring: herald_core::secrets::MemoryKeyring::new().shared(),
        keyring_service: format!(
            "herald-outbox-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ),
        clock: clock.clone(),
    };
    let params = InitParams {
        team: "Rocket Team".into(),
        owner_name: "Ada Lovelace".into(),
        from: "invites@example.com".into(),
        public_url: "https://invite.example.com".into(),
        reply_to: Some("ada@example.com".into()),
        ..InitParams::default()
    };
    let herald = Herald::init(opts, &params).unwrap().0;
    let port = herald_testkit::free_port();
    point_smtp(&herald, "127.0.0.1", port, TlsMode::None, None, None);
    Fixture {
        _tmp: tmp,
        root,
        herald: Arc::new(herald),
        clock,
        port,
    }
}

/// Points Herald at a server; `login` is (user, password), `ca` a root to trust.
fn point_smtp(
    h: &Herald,
    host: &str,
    port: u16,
    tls: TlsMode,
    login: Option<(&str, &str)>,
    ca: Option<PathBuf>,
) {
    h.set_smtp(&SmtpParams {
        host: host.into(),
        port,
        tls,
        user: login.map(|(u, _)| u.to_owned()),
        password: login.map(|(_, p)| secrecy::SecretString::from(p)),
        allow_insecure: false,
        ca_file: ca,
        bounce_address: None,
    })
    .unwrap();
}

fn invite(h: &Herald, who: &[&str], note: Option<&str>) -> Vec<i64> {
    h.create_invitations(&NewInvitations {
        recipients: who.iter().map(|s| s.to_string()).collect(),
        note: note.map(str::to_owned),
        role: Some("engineer".into()),
        ..NewInvitations::default()
    })
    .unwrap()
    .into_iter()
    .map(|i| i.id)
    .collect()
}

fn wait_for(h: &Herald, id: i64, status: Status) -> herald_core::Invitation {
    wait_until(h, id, &format!("expected {status}"), |i| i.status == status)
}

/// Polls an invitation until `done` holds for it, for at most 20 s.
fn wait_until(
    h: &Herald,
    id: i64,
    expected: &str,
    done: impl Fn(&herald_core::Invitation) -> bool,
) -> herald_core::Invitation {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let inv = h.invitation(id).unwrap();
        if done(&inv) {
            return inv;
        }
        assert!(
            Instant::now() < deadline,
            "#{id} stayed {} (last error {:?}), {expected}",
            inv.status,
            inv.last_error
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[test]
fn invitations_arrive_complete_and_only_at_the_invitee() {
    let f = fixture();
    let sink = Sink::start(f.port, &f.root.join("mail"), &[]);
    let ids = invite(
        &f.herald,
        &["Grace Hopper <grace@example.com>", "alan@example.com"],
        Some("Welcome <b>aboard</b> & enjoy"),
    );
    let _worker = Worker::start(&f.herald);
    let sent: Vec<_> = ids
        .iter()
        .map(|&id| wait_for(&f.herald, id, Status::Sent))
        .collect();
    assert!(sent.iter().all(|i| i.sent_at.is_some() && i.attempts == 1));

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    let grace = messages
        .iter()
        .find(|m| m.contains("X-Rcpt-Args: <grace@example.com>"))
        .expect("a message for grace");
    // One recipient, the invitee: no copy to the owner, no Bcc.
    assert_eq!(grace.matches("X-Rcpt-Args:").count(), 1);
    // smtp-sink offers DSN (RFC 3461): a bounce is asked for only on failure and with the
    // headers alone, so a late bounce never carries the link back to a mailbox; ENVID ties it
    // to this mail. The greeting names the sender's domain, never this machine.
    assert_eq!(
        header(grace, "X-Rcpt-Args"),
        Some("<grace@example.com> NOTIFY=FAILURE")
    );
    let mail_args = header(grace, "X-Mail-Args").unwrap();
    assert!(
        mail_args.starts_with("<invites@example.com> ")
            && mail_args.contains(" RET=HDRS")
            && mail_args.contains(" ENVID="),
        "{mail_args}"
    );
    assert_eq!(header(grace, "X-Helo-Args"), Some("example.com"));
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let machine = machine.trim();
    // As a name, not as letters: a short host name ("vm") turns up inside random link tokens.
    let names_machine = grace
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .any(|word| word.eq_ignore_ascii_case(machine) || word.split('.').next() == Some(machine));
    assert!(
        machine.is_empty() || !names_machine,
        "the mail names this machine ({machine}):\n{grace}"
    );
    assert!(!grace.contains("Bcc:") && !grace.contains("ada@example.com>\nX-Rcpt"));
    assert_eq!(
        header(grace, "From"),
        Some("\"Ada Lovelace\" <invites@example.com>")
    );
    assert_eq!(
        header(grace, "To"),
        Some("\"Grace Hopper\" <grace@example.com>")
    );
    assert_eq!(
        header(grace, "Reply-To"),
        Some("\"Ada Lovelace\" <ada@example.com>")
    );
    assert_eq!(
        header(grace, "Subject"),
        Some("Ada Lovelace invited you to join Rocket Team")
    );
    assert_eq!(
        header(grace, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(header(grace, "List-Unsubscribe")
        .unwrap()
        .starts_with("<https://invite.example.com/u/"));
    assert!(header(grace, "Date").is_some());
    let message_id = header(grace, "Message-ID").unwrap();
    assert!(message_id.starts_with('<') && message_id.ends_with("@example.com>"));
    let db = rusqlite::Connection::open(f.root.join("data/herald.db")).unwrap();
    let stored: String = db
        .query_row(
            "SELECT message_id FROM invitations WHERE id = ?1",
            [ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, message_id);

    // Text and HTML; the note is escaped in the HTML; no remote images.
    let body = herald_testkit::unfold_qp(grace);
    assert!(body.contains("Content-Type: multipart/alternative"));
    assert!(body.contains("Content-Type: text/plain") && body.contains("Content-Type: text/html"));
    assert!(body.contains("as engineer"));
    assert!(
        body.contains("Welcome &#60;b&#62;aboard&#60;/b&#62; &#38; enjoy"),
        "{body}"
    );
    assert!(!body.contains("<img"));
    assert!(body.contains("expires on"));

    // The link in the mail is the invitation's live link, and the typed code matches it.
    let start =
        body.find("https://invite.example.com/i/").unwrap() + "https://invite.example.com/i/".len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(matches!(f.herald.check_link(&token).unwrap(), LinkCheck::Live(i) if i.id == ids[0]));
    let code = f.herald.mint_link(ids[0]).unwrap().code.expose_grouped();
    assert!(body.contains(&format!("type this code: {code}")), "{body}");
}

#[test]
fn bounces_go_to_the_bounce_address_and_dsn_is_asked_only_where_offered() {
    let f = fixture();
    // -N: this server does not announce DSN, so no DSN parameter may be sent to it.
    let sink = Sink::start(f.port, &f.root.join("mail"), &["-N"]);
    let with_bounce = |bounce: &str| SmtpParams {
        host: "127.0.0.1".into(),
        port: f.port,
        tls: TlsMode::None,
        user: None,
        password: None,
        allow_insecure: false,
        ca_file: None,
        bounce_address: Some(bounce.into()),
    };
    let saved = f
        .herald
        .set_smtp(&with_bounce(" Bounces@Example.com "))
        .unwrap();
    assert_eq!(
        saved.settings.bounce_address.as_deref(),
        Some("bounces@example.com")
    );
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let _worker = Worker::start(&f.herald);
    wait_for(&f.herald, id, Status::Sent);
    let messages = sink.messages();
    let grace = &messages[0];
    assert_eq!(header(grace, "X-Mail-Args"), Some("<bounces@example.com>"));
    assert_eq!(header(grace, "X-Rcpt-Args"), Some("<grace@example.com>"));
    // The mail itself still comes from the sender; only the envelope changed.
    assert_eq!(
        header(grace, "From"),
        Some("\"Ada Lovelace\" <invites@example.com>")
    );

    // A bounce address must be an address, and a refused one changes nothing.
    let before = f.herald.smtp().unwrap();
    let e = f
        .herald
        .set_smtp(&with_bounce("bounces at example"))
        .unwrap_err();
    assert!(e.to_string().contains("not an email address"), "{e}");
    assert_eq!(f.herald.smtp().unwrap(), before);
}

#[test]
fn a_hard_rejection_fails_with_the_servers_words() {
    let f = fixture();
    let _sink = Sink::start(f.port, &f.root.join("mail"), &["-f", "RCPT"]);
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let _worker = Worker::start(&f.herald);
    let inv = wait_for(&f.herald, id, Status::Failed);
    let error = inv.last_error.unwrap();
    assert!(
        error.contains("permanent") && error.contains("5"),
        "{error}"
    );
    assert_eq!(inv.attempts, 1, "a 5xx is not retried");
}

#[test]
fn a_soft_rejection_is_retried_later_and_then_delivered() {
    let f = fixture();
    let sink = Sink::start(f.port, &f.root.join("mail-soft"), &["-r", "RCPT"]);
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let worker = Worker::start(&f.herald);
    let inv = wait_until(&f.herald, id, "never retried", |i| {
        i.status == Status::Queued && i.last_error.is_some()
    });
    assert!(
        inv.last_error.as_deref().unwrap().contains("transient"),
        "{inv:?}"
    );
    assert_eq!(inv.attempts, 1);
    assert!(
        f.herald.next_due_in().unwrap().unwrap() >= 48,
        "backs off about a minute"
    );

    // The server recovers; a minute later the retry goes through.
    drop(sink);
    let sink = Sink::start(f.port, &f.root.join("mail"), &[]);
    f.clock.advance(75);
    worker.wake.notify_one();
    let inv = wait_for(&f.herald, id, Status::Sent);
    assert_eq!(inv.attempts, 2);
    assert_eq!(sink.messages().len(), 1);
    // The event follows the commit the test just saw: give the worker a moment to report it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !worker
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, OutboxEvent::Sent { .. }))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = worker.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, OutboxEvent::Retrying { .. })),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, OutboxEvent::Sent { .. })),
        "{events:?}"
    );
}

#[test]
fn a_server_that_is_down_is_retried_and_attempts_are_bounded() {
    let f = fixture();
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    // Nothing listens on the port: every attempt is a connection failure, which is transient.
    for attempt in 1..=6u32 {
        let claim = f.herald.claim_next().unwrap().expect("due");
        let reason = "Connection refused".to_owned();
        let status = f
            .herald
            .record_delivery(&claim, &herald_core::Delivery::Retry { reason })
            .unwrap();
        let inv = f.herald.invitation(id).unwrap();
        assert_eq!(inv.attempts, attempt);
        if attempt <= 5 {
            assert_eq!(status, Status::Queued);
            assert!(
                f.herald.claim_next().unwrap().is_none(),
                "not due before its backoff"
            );
            f.clock
                .advance(herald_core::BACKOFF[attempt as usize - 1] * 6 / 5 + 1);
        } else {
            assert_eq!(status, Status::Failed);
            let error = inv.last_error.unwrap();
            assert!(
                error.starts_with("gave up after 6 attempts over"),
                "{error}"
            );
        }
    }
}

#[test]
fn an_interrupted_mailing_is_reclaimed_and_sent() {
    let f = fixture();
    let sink = Sink::start(f.port, &f.root.join("mail"), &[]);
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    // A worker claims it, then the process dies before recording anything.
    let claim = f.herald.claim_next().unwrap().unwrap();
    drop(claim);
    assert_eq!(f.herald.invitation(id).unwrap().status, Status::Sending);
    let worker = Worker::start(&f.herald);
    wait_for(&f.herald, id, Status::Sent);
    assert_eq!(sink.messages().len(), 1);
    let events = worker.events.lock().unwrap().clone();
    assert_eq!(
        events[..2],
        [
            OutboxEvent::Active { took_over: false },
            OutboxEvent::Reclaimed { ids: vec![id] }
        ]
    );
}

#[test]
fn one_worker_per_data_folder_and_a_standby_takes_over() {
    let f = fixture();
    let sink = Sink::start(f.port, &f.root.join("mail"), &[]);
    let first = Worker::start(&f.herald);
    // The first must hold the lease before the second starts, or either could get it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !first
        .events
        .lock()
        .unwrap()
        .contains(&OutboxEvent::Active { took_over: false })
    {
        assert!(Instant::now() < deadline, "the first worker never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second Herald on the same folder, as `herald serve` beside the window would be.
    let other = Arc::new(
        Herald::open(OpenOptions {
            data_dir: f.herald.data_dir().to_owned(),
            keyring: f.herald.keyring().store().clone(),
            keyring_service: f.herald.keyring().service().to_owned(),
            clock: f.clock.clone(),
        })
        .unwrap(),
    );
    let second = Worker::start(&other);
    let standby = || {
        second
            .events
            .lock()
            .unwrap()
            .contains(&OutboxEvent::Standby)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !standby() {
        assert!(
            Instant::now() < deadline,
            "the second worker never stood by"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first worker mails, then naps until woken.
    let warmup = invite(&f.herald, &["warmup@example.com"], None)[0];
    first.wake.notify_one();
    wait_for(&f.herald, warmup, Status::Sent);
    // An invitation claimed by the first and not yet recorded must not be reclaimed by the
    // standby, or it would be mailed twice.
    let held = invite(&f.herald, &["held@example.com"], None)[0];
    let claim = f.herald.claim_next().unwrap().expect("due");
    assert_eq!(claim.invitation.id, held);
    let ids = invite(&f.herald, &["grace@example.com", "alan@example.com"], None);
    first.wake.notify_one();
    for &id in &ids {
        wait_for(&f.herald, id, Status::Sent);
    }
    assert_eq!(f.herald.invitation(held).unwrap().status, Status::Sending);
    assert!(second
        .events
        .lock()
        .unwrap()
        .iter()
        .all(|e| matches!(e, OutboxEvent::Standby)));
    // The first stops without recording `held` (as if killed): the standby takes over,
    // reclaims it and mails it, and mails what comes next.
    drop(claim);
    drop(first);
    let later = invite(&f.herald, &["barbara@example.com"], None)[0];
    wait_for(&f.herald, held, Status::Sent);
    wait_for(&f.herald, later, Status::Sent);
    let events = second.events.lock().unwrap().clone();
    assert!(
        events.contains(&OutboxEvent::Active { took_over: true }),
        "{events:?}"
    );
    assert!(
        events.contains(&OutboxEvent::Reclaimed { ids: vec![held] }),
        "{events:?}"
    );
    let mut to: Vec<String> = sink
        .messages()
        .iter()
        .filter_map(|m| header(m, "To").map(str::to_owned))
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "alan@example.com",
            "barbara@example.com",
            "grace@example.com",
            "held@example.com",
            "warmup@example.com"
        ],
        "each invitation mailed exactly once"
    );
}

#[test]
fn a_batch_reports_its_progress() {
    let f = fixture();
    let sink = Sink::start(f.port, &f.root.join("mail"), &[]);
    let who: Vec<String> = (0..12).map(|i| format!("person{i}@example.com")).collect();
    let who: Vec<&str> = who.iter().map(String::as_str).collect();
    let ids = invite(&f.herald, &who, None);
    let worker = Worker::start(&f.herald);
    for &id in &ids {
        wait_for(&f.herald, id, Status::Sent);
    }
    let progress = worker.events_when(12, |e| match e {
        OutboxEvent::Sent { progress, .. } => Some((progress.done, progress.total)),
        _ => None,
    });
    assert_eq!(progress, (1..=12).map(|n| (n, 12)).collect::<Vec<_>>());
    assert_eq!(sink.messages().len(), 12);
}

#[test]
fn a_link_replaced_while_mailing_is_mailed_again() {
    let f = fixture();
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let claim = f.herald.claim_next().unwrap().unwrap();
    // The owner retires the key while the mail is on its way, and reissues.
    f.herald.rotate_key().unwrap();
    f.herald.retire_key(1).unwrap();
    f.herald.reissue().unwrap();
    let status = f
        .herald
        .record_delivery(
            &claim,
            &herald_core::Delivery::Sent {
                message_id: "<x@example.com>".into(),
                reply: "250 2.0.0 Ok".into(),
            },
        )
        .unwrap();
    assert_eq!(
        status,
        Status::Queued,
        "the mail carried a dead link: mail the new one"
    );
    let again = f.herald.claim_next().unwrap().unwrap();
    assert_eq!(again.invitation.id, id);
    assert_ne!(again.link.token.expose(), claim.link.token.expose());
}

#[test]
fn a_disconnect_mid_mail_is_retried() {
    let f = fixture();
    // smtp-sink hangs up, without a reply, when the message data begins.
    let _sink = Sink::start(f.port, &f.root.join("mail"), &["-q", "DATA"]);
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let _worker = Worker::start(&f.herald);
    let inv = wait_until(&f.herald, id, "never retried", |i| {
        i.status == Status::Failed || (i.status == Status::Queued && i.last_error.is_some())
    });
    assert_ne!(
        inv.status,
        Status::Failed,
        "a dropped connection is not a refusal: {inv:?}"
    );
    assert_eq!(inv.attempts, 1);
}

/// A server with TLS and AUTH (aiosmtpd, tests/smtp/tls_server.py) and a certificate from a
/// throwaway CA for `localhost`.
struct TlsServer {
    child: Child,
    dump: PathBuf,
    ca: PathBuf,
    port: u16,
}

impl TlsServer {
    fn start(root: &Path, mode: &str) -> TlsServer {
        let dir = root.join(format!("tls-{mode}"));
        let dump = dir.join("mail");
        std::fs::create_dir_all(&dump).unwrap();
        let (cert, key, ca) = (
            dir.join("cert.pem"),
            dir.join("key.pem"),
            dir.join("ca.pem"),
        );
        // A throwaway CA, and a leaf certificate for localhost signed by it.
        let ext = dir.join("leaf.ext");
        std::fs::write(
            &ext,
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        let d = |name: &str| dir.join(name).display().to_string();
        let steps: [Vec<String>; 3] = [
            "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=Herald-Test-CA -keyout"
                .split(' ')
                .map(String::from)
                .chain([d("ca.key"), "-out".into(), d("ca.pem")])
                .collect(),
            "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout"
                .split(' ')
                .map(String::from)
                .chain([d("key.pem"), "-out".into(), d("leaf.csr")])
                .collect(),
            "x509 -req -days 2 -CAcreateserial -in"
                .split(' ')
                .map(String::from)
                .chain([
                    d("leaf.csr"),
                    "-CA".into(),
                    d("ca.pem"),
                    "-CAkey".into(),
                    d("ca.key"),
                ])
                .chain([
                    "-out".into(),
                    d("cert.pem"),
                    "-extfile".into(),
                    d("leaf.ext"),
                ])
                .collect(),
        ];
        for args in steps {
            let ok = Command::new("openssl")
                .args(&args)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(ok.success(), "openssl {args:?} failed");
        }
        let port = herald_testkit::free_port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/smtp/tls_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                "--port",
                &port.to_string(),
                "--mode",
                mode,
                "--user",
                "owner",
                "--password",
                "right",
            ])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--dump")
            .arg(&dump)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/setup.sh --tests installs it)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "the TLS server did not start");
        TlsServer {
            child,
            dump,
            ca,
            port,
        }
    }

    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(&self.dump)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn starttls_is_required_never_skipped() {
    let f = fixture();
    // smtp-sink offers no STARTTLS: a required upgrade must fail, not fall back to plaintext.
    let sink = Sink::start(f.port, &f.root.join("mail"), &[]);
    point_smtp(
        &f.herald,
        "127.0.0.1",
        f.port,
        TlsMode::Starttls,
        None,
        None,
    );
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let _worker = Worker::start(&f.herald);
    let inv = wait_for(&f.herald, id, Status::Failed);
    assert!(
        inv.last_error.as_deref().unwrap().contains("STARTTLS"),
        "{inv:?}"
    );
    assert!(sink.messages().is_empty(), "nothing went out in plaintext");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let f = fixture();
    let server = TlsServer::start(&f.root, "tls");
    let login = Some(("owner", "right"));
    point_smtp(
        &f.herald,
        "localhost",
        server.port,
        TlsMode::Tls,
        login,
        None,
    );
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let _worker = Worker::start(&f.herald);
    let inv = wait_for(&f.herald, id, Status::Failed);
    assert!(server.messages().is_empty(), "{inv:?}");
}

fn use_tls_server(f: &Fixture, server: &TlsServer, tls: TlsMode, password: &str) {
    let login = Some(("owner", password));
    point_smtp(
        &f.herald,
        "localhost",
        server.port,
        tls,
        login,
        Some(server.ca.clone()),
    );
}

#[test]
fn starttls_and_implicit_tls_with_auth_deliver() {
    for (mode, tls) in [("starttls", TlsMode::Starttls), ("tls", TlsMode::Tls)] {
        let f = fixture();
        let server = TlsServer::start(&f.root, mode);
        use_tls_server(&f, &server, tls, "right");
        let id = invite(&f.herald, &["grace@example.com"], None)[0];
        let _worker = Worker::start(&f.herald);
        wait_for(&f.herald, id, Status::Sent);
        let messages = server.messages();
        assert_eq!(messages.len(), 1, "{mode}");
        assert!(
            messages[0].starts_with("X-Rcpt: grace@example.com\nX-Auth: True\n"),
            "{mode}: {}",
            &messages[0][..80]
        );
    }
}

#[test]
fn a_wrong_password_fails_with_the_servers_words() {
    let f = fixture();
    let server = TlsServer::start(&f.root, "starttls");
    use_tls_server(&f, &server, TlsMode::Starttls, "wrong");
    let id = invite(&f.herald, &["grace@example.com"], None)[0];
    let _worker = Worker::start(&f.herald);
    let inv = wait_for(&f.herald, id, Status::Failed);
    assert!(
        inv.last_error.as_deref().unwrap().contains("535"),
        "{inv:?}"
    );
    assert!(server.messages().is_empty());
}
