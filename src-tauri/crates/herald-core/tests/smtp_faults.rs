//! SMTP faults across a whole batch: the real outbox worker mails a few hundred invitations
//! to a real SMTP server (aiosmtpd, tests/smtp/fault_server.py) that misbehaves by recipient:
//! soft (451) and hard (550) refusals, connections cut after the message data (with the
//! message thrown away or kept), slow answers, and one answer slower than Herald's 30 s SMTP
//! timeout. A manual clock steps through the backoff. Every invitation must end in the state
//! its fault calls for, with the attempts it took, as often at the server as it should be, and
//! the healthy ones must not wait behind the faulty ones. The signing key is in an in-memory
//! keyring.
//!
//! The mix is shuffled from a seed, printed; `HERALD_FAULT_SEED=N` replays one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::mail::OutboxEvent;
use herald_core::{
    Clock, Herald, InitParams, ListFilter, NewInvitations, OpenOptions, SmtpParams, Status,
    TlsMode, BACKOFF,
};
use herald_testkit::Rng;
use tempfile::TempDir;

use crate::common::worker::Worker;

/// Seconds the `slow-` recipients' server waits before answering the message data.
const SLOW: f64 = 2.0;
/// Seconds the `stall-` recipients' server waits before answering RCPT, the first time: longer
/// than Herald's SMTP timeout (30 s, not configurable), so the attempt times out.
const STALL: f64 = 34.0;

/// The fault server, killed when dropped.
struct FaultServer {
    child: Child,
    dump: PathBuf,
    port: u16,
}

impl FaultServer {
    fn start(dir: &Path) -> FaultServer {
        let dump = dir.join("mail");
        std::fs::create_dir_all(&dump).unwrap();
        let port = herald_testkit::free_port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/smtp/fault_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string()])
            .args(["--slow", &SLOW.to_string(), "--stall", &STALL.to_string()])
            .arg("--dump")
            .arg(&dump)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/setup.sh --tests installs it)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "the fault server did not start");
        FaultServer { child, dump, port }
    }

    /// How many messages the server kept for each recipient.
    fn kept(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for e in std::fs::read_dir(&self.dump).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some() {
                continue; // a file still being written
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let rcpt = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("X-Rcpt: "))
                .expect("the server's header line")
                .to_owned();
            *counts.entry(rcpt).or_insert(0) += 1;
        }
        counts
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one recipient's fault should come to: its final status, the attempts it took, and
/// how many copies the server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fate {
    status: Status,
    attempts: u32,
    copies: usize,
}

fn fate(email: &str) -> Fate {
    let tag = email.split('-').next().unwrap();
    let (status, attempts, copies) = match tag {
        "ok" | "slow" => (Status::Sent, 1, 1),
        "hard" => (Status::Failed, 1, 0),
        // One retry after the cut; `lost` was kept by the server the first time too.
        "drop" | "stall" => (Status::Sent, 2, 1),
        "lost" => (Status::Sent, 2, 2),
        // 451 N times, then accepted; more refusals than the backoff has steps: given up on
        // after the first attempt and one per step.
        soft => {
            let n: u32 = soft.strip_prefix("soft").unwrap().parse().unwrap();
            let tries = BACKOFF.len() as u32 + 1;
            if n < tries {
                (Status::Sent, n + 1, 1)
            } else {
                (Status::Failed, tries, 0)
            }
        }
    };
    Fate {
        status,
        attempts,
        copies,
    }
}

fn all(h: &Herald) -> Vec<herald_core::Invitation> {
    h.invitations(&ListFilter::default()).unwrap()
}

/// Waits until nothing is due and nothing is on its way: the worker has done all it can
/// before the clock moves. A claim moves an invitation from queued to sending, and its outcome
/// from sending to its next state, each in one transaction, so one snapshot of the table never
/// shows both counts at zero while work is left (two separate reads could: the worker may
/// claim between them).
fn settle(h: &Herald, within: Duration) {
    let db = rusqlite::Connection::open(h.database_path()).unwrap();
    let deadline = Instant::now() + within;
    loop {
        let (sending, due): (i64, i64) = db
            .query_row(
                "SELECT count(*) FILTER (WHERE status = 'sending'),
                        count(*) FILTER (WHERE status = 'queued'
                                           AND coalesce(next_attempt_at, 0) <= ?1)
                 FROM invitations",
                [h.clock().now()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if sending == 0 && due == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not settle: {sending} sending, {due} due"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_whole_batch_with_every_kind_of_fault_ends_as_it_should() {
    let seed = herald_testkit::seed("HERALD_FAULT_SEED");
    eprintln!("smtp faults: seed {seed} (replay with HERALD_FAULT_SEED={seed})");
    let mut rng = Rng::new(seed);
    static N: AtomicU32 = AtomicU32::new(0);
    let tmp: TempDir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(1_900_000_000);
    let opts = OpenOptions {
        data_dir: tmp.path().join("data"),
        keyring: herald_core::secrets::MemoryKeyring::new().shared(),
        keyring_service: format!(
            "herald-smtp-faults-{}-{}",
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
        ..InitParams::default()
    };
    let herald = Arc::new(Herald::init(opts, &params).unwrap().0);
    let server = FaultServer::start(tmp.path());
    herald
        .set_smtp(&SmtpParams {
            host: "127.0.0.1".into(),
            port: server.port,
            tls: TlsMode::None,
            user: None,
            password: None,
            allow_insecure: false,
            ca_file: None,
            bounce_address: None,
        })
        .unwrap();

    // The stalled ones first, so that they hold two of the worker's sessions while the rest
    // of the batch goes by: the healthy ones must get through the others.
    let mut mix: Vec<(&str, usize)> = vec![
        ("ok", 230),
        ("soft1", 10),
        ("soft2", 8),
        ("soft3", 4),
        ("soft9", 3),
        ("hard", 10),
        ("drop", 8),
        ("lost", 8),
        ("slow", 6),
    ];
    let mut rest: Vec<String> = mix
        .drain(..)
        .flat_map(|(tag, n)| (0..n).map(move |i| format!("{tag}-{i}@example.com")))
        .collect();
    for i in (1..rest.len()).rev() {
        rest.swap(i, rng.index(i + 1));
    }
    let mut recipients = vec![
        "stall-0@example.com".to_owned(),
        "stall-1@example.com".to_owned(),
    ];
    recipients.extend(rest);
    let total = recipients.len();
    let mut ids = BTreeMap::new();
    // Created in batches as the window would (one create takes at most MAX_BATCH).
    for chunk in recipients.chunks(100) {
        for inv in herald
            .create_invitations(&NewInvitations {
                recipients: chunk.to_vec(),
                ..NewInvitations::default()
            })
            .unwrap()
        {
            ids.insert(inv.email.clone(), inv.id);
        }
    }
    assert_eq!(ids.len(), total);

    let started = Instant::now();
    let worker = Worker::start(&herald);

    // Round one, with the clock standing still. The healthy ones (and the slow ones) all go
    // out while the stalled ones still hang: nothing waits behind a stuck session.
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        let now = all(&herald);
        let healthy_done = now
            .iter()
            .filter(|i| i.email.starts_with("ok-") || i.email.starts_with("slow-"))
            .all(|i| i.status == Status::Sent);
        if healthy_done {
            let stalled: Vec<_> = now
                .iter()
                .filter(|i| i.email.starts_with("stall-"))
                .map(|i| (i.email.clone(), i.status))
                .collect();
            assert!(
                stalled.iter().all(|(_, s)| *s == Status::Sending),
                "the stalled mails finished before the healthy ones: {stalled:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the healthy invitations were not all sent within 25 s: {} still not",
            now.iter()
                .filter(|i| i.email.starts_with("ok-") && i.status != Status::Sent)
                .count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let healthy_time = started.elapsed();
    // The stalled ones time out after 30 s; everything else of round one is done by then.
    settle(&herald, Duration::from_secs(60));
    let round_one = started.elapsed();
    for inv in all(&herald) {
        let tag = inv.email.split('-').next().unwrap();
        let error = inv.last_error.clone().unwrap_or_default();
        match tag {
            "ok" | "slow" => assert_eq!((inv.status, inv.attempts), (Status::Sent, 1), "{inv:?}"),
            "hard" => {
                assert_eq!((inv.status, inv.attempts), (Status::Failed, 1), "{inv:?}");
                // The server's own words, code and all.
                assert!(
                    error.contains("550")
                        && error.contains(&format!(
                            "<{}>: mailbox unavailable (fault test)",
                            inv.email
                        )),
                    "{inv:?}"
                );
            }
            _ => {
                assert_eq!((inv.status, inv.attempts), (Status::Queued, 1), "{inv:?}");
                let expected = match tag {
                    "stall" => "did not answer within 30s",
                    "drop" | "lost" => "",
                    _ => "451",
                };
                assert!(error.contains(expected) && !error.is_empty(), "{inv:?}");
            }
        }
    }
    // Retries wait their backoff: none is due while the clock stands still.
    let wait = herald.next_due_in().unwrap().expect("retries are queued");
    assert!(
        wait >= BACKOFF[0] * 4 / 5,
        "the first retry is due in {wait}s"
    );

    // Step the clock through the backoff, past the longest jitter of each step.
    for (step, secs) in BACKOFF.iter().enumerate() {
        clock.advance(secs * 6 / 5 + 1);
        worker.wake.notify_one();
        settle(&herald, Duration::from_secs(30));
        let queued = all(&herald)
            .iter()
            .filter(|i| i.status == Status::Queued)
            .count();
        eprintln!(
            "smtp faults: after backoff step {}: {queued} queued",
            step + 1
        );
    }

    let kept = server.kept();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for inv in all(&herald) {
        let want = fate(&inv.email);
        *counts.entry(inv.status.to_string()).or_insert(0) += 1;
        assert_eq!(
            (inv.status, inv.attempts),
            (want.status, want.attempts),
            "{inv:?}"
        );
        assert_eq!(
            kept.get(&inv.email).copied().unwrap_or(0),
            want.copies,
            "copies of {} at the server",
            inv.email
        );
        if inv.email.starts_with("soft9-") {
            let error = inv.last_error.clone().unwrap();
            assert!(
                error.starts_with("gave up after 6 attempts over") && error.contains("451"),
                "{error}"
            );
        }
        // Every attempt but the last is a retry in the history; the last is the outcome.
        let retries = herald
            .history(inv.id)
            .unwrap()
            .iter()
            .filter(|e| e.action == herald_core::AuditAction::Retry)
            .count();
        assert_eq!(retries as u32, want.attempts - 1, "{inv:?}");
    }
    assert_eq!(kept.values().sum::<usize>(), kept_total(&ids));
    assert_eq!(herald.next_due_in().unwrap(), None, "nothing left queued");
    // The worker reports each failure as failed, the ones it gave up on too (it used to call
    // those "will be retried").
    let failed = worker.events_when(13, |e| match e {
        OutboxEvent::Failed { email, reason, .. } => Some((email.clone(), reason.clone())),
        _ => None,
    });
    assert_eq!(failed.len(), 13, "10 hard + 3 given up: {failed:?}");
    for (email, reason) in &failed {
        if email.starts_with("soft9-") {
            assert!(
                reason.starts_with("gave up after 6 attempts: ") && reason.contains("451"),
                "{reason}"
            );
        } else {
            assert!(
                email.starts_with("hard-") && reason.contains("550"),
                "{email}: {reason}"
            );
        }
    }
    let retrying = worker
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, OutboxEvent::Retrying { email, .. } if email.starts_with("soft9-")))
        .count();
    assert_eq!(
        retrying,
        3 * BACKOFF.len(),
        "a retry announced per backoff step"
    );
    eprintln!(
        "smtp faults: {total} invitations, {counts:?}; healthy ones all sent after {:.1}s, \
         round one settled after {:.1}s, whole test {:.1}s",
        healthy_time.as_secs_f64(),
        round_one.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// How many messages the server should hold in all.
fn kept_total(ids: &BTreeMap<String, i64>) -> usize {
    ids.keys().map(|e| fate(e).copies).sum()
}
