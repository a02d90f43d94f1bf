//! The store when its files are mistreated, with real parts: real SQLite files and real
//! filesystems (a small tmpfs that fills up, a read-only bind mount); the keys are in an
//! in-memory keyring.
//!
//! - A data folder copied file by file while Herald writes, the way a naive backup or sync tool
//!   copies it, opens and holds together.
//! - A full disk and a read-only folder give clear, typed errors and change nothing.
//!
//! The mount tests need root (CI runs as root); without it they say why and return.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::{
    Clock, Delivery, Error, Herald, InitParams, Limits, ListFilter, NewInvitations, OpenOptions,
    Status,
};

use crate::common::{invite, params, Fixture};
use herald_testkit::{is_root, snapshot, Mount, Rng};

// ---------------------------------------------------------------------------------------------
// Copied mid-write.

/// How many invitations each of the writer's transactions creates: a copy may hold only whole
/// batches, never part of one.
const BATCH: usize = 20;
const COPIES: usize = 40;

/// What a copy tool saw around its copy: enough to tell whether SQLite checkpointed (wrote
/// WAL pages into the main file) or restarted the WAL while the copy was being made.
#[derive(Debug, PartialEq, Eq)]
struct Activity {
    /// The main file's length and modification time: only a checkpoint changes it.
    db: Option<(u64, std::time::SystemTime)>,
    /// The WAL header (its salts change when the WAL restarts from the beginning).
    wal_header: Vec<u8>,
    /// nBackfill and nBackfillAttempted from the -shm file's checkpoint info (offsets 96 and
    /// 128, sqlite.org/walformat.html): unequal while a checkpoint is copying pages.
    backfill: Option<(u32, u32)>,
}

fn activity(dir: &Path) -> Activity {
    let db = std::fs::metadata(dir.join("herald.db"))
        .ok()
        .and_then(|m| Some((m.len(), m.modified().ok()?)));
    let wal_header = std::fs::read(dir.join("herald.db-wal"))
        .map(|b| b.get(..32).unwrap_or(&b).to_vec())
        .unwrap_or_default();
    let backfill = std::fs::read(dir.join("herald.db-shm")).ok().and_then(|b| {
        let word = |at: usize| Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?));
        Some((word(96)?, word(128)?))
    });
    Activity {
        db,
        wal_header,
        backfill,
    }
}

impl Activity {
    /// Nothing but appends to the WAL happened between `self` and `after`, and no checkpoint
    /// was half done at the start.
    fn quiet_until(&self, after: &Activity) -> bool {
        self == after && self.backfill.is_none_or(|(done, tried)| done == tried)
    }
}

/// A copy of the data folder, checked the way the owner would use it: Herald opens it, SQLite
/// finds no damage, and every invitation has a valid status that its audit trail agrees with.
/// Returns how many invitations it holds.
fn check_copy(dir: &Path, f: &Fixture) -> Result<usize, String> {
    let opts = OpenOptions {
        data_dir: dir.to_owned(),
        clock: Clock::manual(crate::common::START),
        ..f.opts()
    };
    let h = Herald::open(opts).map_err(|e| format!("Herald::open: {e}"))?;
    // Every status is parsed into the enum here: an unknown one is an error.
    let all = h
        .invitations(&ListFilter::default())
        .map_err(|e| format!("listing: {e}"))?;
    drop(h);
    let db = rusqlite::Connection::open(dir.join("herald.db")).map_err(|e| e.to_string())?;
    let one = |sql: &str| -> Result<String, String> {
        db.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .map_err(|e| format!("{sql}: {e}"))
    };
    let integrity = one("PRAGMA integrity_check")?;
    if integrity != "Text(\"ok\")" {
        return Err(format!("integrity_check: {integrity}"));
    }
    let checks = [
        // Foreign keys: links and audit rows that point at nothing.
        ("SELECT count(*) FROM pragma_foreign_key_check", "Integer(0)"),
        (
            "SELECT count(*) FROM audit WHERE invitation_id IS NOT NULL
               AND invitation_id NOT IN (SELECT id FROM invitations)",
            "Integer(0)",
        ),
        // Each invitation was created once, in the same transaction as its row.
        (
            "SELECT count(*) FROM invitations i WHERE (SELECT count(*) FROM audit a
               WHERE a.invitation_id = i.id AND a.action = 'created') <> 1",
            "Integer(0)",
        ),
        // The status agrees with the last change its history records.
        (
            "SELECT count(*) FROM invitations i WHERE i.status <> (SELECT a.to_status FROM audit a
               WHERE a.invitation_id = i.id AND a.to_status IS NOT NULL ORDER BY a.id DESC LIMIT 1)",
            "Integer(0)",
        ),
        // The current link belongs to its invitation.
        (
            "SELECT count(*) FROM invitations i LEFT JOIN links l ON l.id = i.link_id
               WHERE l.invitation_id IS NOT i.id",
            "Integer(0)",
        ),
    ];
    for (sql, want) in checks {
        let got = one(sql)?;
        if got != want {
            return Err(format!("{sql}: {got}, expected {want}"));
        }
    }
    if all.len() % BATCH != 0 {
        return Err(format!(
            "{} invitations: part of a batch survived",
            all.len()
        ));
    }
    Ok(all.len())
}

/// What the writer does, like an owner inviting in batches while the outbox mails and the
/// owner revokes: every kind of row (invitations, links, audit) keeps changing.
fn write_until(h: &Herald, stop: &AtomicBool, committed: &AtomicUsize) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let who: Vec<String> = (0..BATCH)
            .map(|i| format!("w{n}-{i}@example.com"))
            .collect();
        h.create_invitations(&NewInvitations {
            recipients: who,
            ..NewInvitations::default()
        })
        .unwrap();
        committed.fetch_add(BATCH, Ordering::SeqCst);
        n += 1;
        let claims = h.claim_due(BATCH / 2).unwrap();
        let done: Vec<_> = claims
            .into_iter()
            .map(|c| {
                let sent = Delivery::Sent {
                    message_id: format!("<{}@example.com>", c.invitation.id),
                    reply: "250 2.0.0 Ok".into(),
                };
                (c, sent)
            })
            .collect();
        let first = done.first().map(|(c, _)| c.invitation.id);
        h.record_deliveries(&done).unwrap();
        if let Some(id) = first {
            h.revoke(id).unwrap();
        }
        // An owner's pace, not a benchmark's: the copies are checked while this runs, and a
        // checkpoint (every thousand WAL pages) still comes every second or so.
        std::thread::sleep(Duration::from_millis(4));
    }
}

#[test]
fn copies_taken_while_herald_writes_open_and_hold_together() {
    let f = Fixture::new();
    let h = f.init();
    // The key exists before the writer starts, so its first batch does not wait on D-Bus.
    h.ensure_key().unwrap();
    drop(h);
    let data = f.dir.path().join("data");
    let seed = herald_testkit::seed("HERALD_FAULT_SEED");
    println!("seed {seed} (replay with HERALD_FAULT_SEED={seed})");
    let mut rng = Rng::new(seed);

    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, committed) = (stop.clone(), committed.clone());
        // A handle of its own, as another process (the window, `herald serve`) would have.
        let h = f.reopen();
        std::thread::spawn(move || write_until(&h, &stop, &committed))
    };

    let started = Instant::now();
    let (mut quiet, mut busy, mut busy_bad) = (0, 0, Vec::new());
    let mut most = 0;
    for i in 0..COPIES {
        std::thread::sleep(Duration::from_millis(rng.below(30)));
        let with_wal = i % 2 == 1;
        let copy = f.dir.path().join(format!("copy-{i}"));
        std::fs::create_dir(&copy).unwrap();
        let before_count = committed.load(Ordering::SeqCst);
        let before = activity(&data);
        // The naive way: one file after the other, while Herald keeps writing. A file that
        // does not exist at that moment (the WAL after a clean close) is simply not copied.
        let names: &[&str] = if with_wal {
            &["herald.db", "herald.db-wal", "herald.db-shm"]
        } else {
            &["herald.db"]
        };
        for name in names {
            match std::fs::copy(data.join(name), copy.join(name)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("copying {name}: {e}"),
            }
        }
        let after = activity(&data);
        let after_count = committed.load(Ordering::SeqCst);
        let result = check_copy(&copy, &f);
        if before.quiet_until(&after) {
            quiet += 1;
            let n = result.unwrap_or_else(|e| {
                panic!("copy {i} (wal: {with_wal}, no checkpoint during it) is broken: {e}")
            });
            // The writer counts a batch after its commit returns: one may be in the copy
            // and not yet counted.
            assert!(
                n <= after_count + BATCH,
                "copy {i}: {n} > {after_count} + {BATCH}"
            );
            if with_wal {
                // The WAL holds every commit made before the copy began.
                assert!(
                    n >= before_count,
                    "copy {i} lost commits: {n} < {before_count}"
                );
            }
            most = most.max(n);
        } else {
            // SQLite moved pages into the main file, or restarted the WAL, while this copy was
            // made: the files come from different moments, and nothing promises they fit.
            busy += 1;
            if let Err(e) = result {
                busy_bad.push(format!("copy {i} (wal: {with_wal}): {e}"));
            }
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let elapsed = started.elapsed();
    println!(
        "{COPIES} copies in {elapsed:?}: {quiet} without a checkpoint during the copy (all sound, \
         up to {most} invitations), {busy} during one, of which {} broken: {busy_bad:#?}",
        busy_bad.len()
    );
    // Most copies fall between checkpoints; if none did, this test checked nothing.
    assert!(quiet >= COPIES / 2, "only {quiet} quiet copies");
    assert!(most > 0, "the writer wrote nothing before the copies");
    // The original is sound too.
    check_copy(&data, &f).unwrap();
}

// ---------------------------------------------------------------------------------------------
// A full disk and a read-only folder, on real mounts.

/// Fills the disk holding `dir` to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    let e = loop {
        if let Err(e) = file.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
    filler
}

fn count(h: &Herald, table: &str) -> i64 {
    let db = rusqlite::Connection::open(h.database_path()).unwrap();
    db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn assert_disk_full(e: Error, data: &Path) {
    let msg = e.to_string();
    match &e {
        Error::DiskFull { path } => assert_eq!(path, data, "{msg}"),
        other => panic!("expected DiskFull, got {other:?}: {msg}"),
    }
    assert_eq!(
        msg,
        format!(
            "the disk holding {} is full: free some space and try again",
            data.display()
        )
    );
    assert_eq!(e.kind(), herald_core::ErrorKind::Environment);
}

fn assert_read_only(e: Error, data: &Path) {
    let msg = e.to_string();
    match &e {
        Error::ReadOnly { path } => assert_eq!(path, data, "{msg}"),
        other => panic!("expected ReadOnly, got {other:?}: {msg}"),
    }
    assert!(
        msg.starts_with(&format!("Herald cannot write to {}: ", data.display())),
        "{msg}"
    );
    assert_eq!(e.kind(), herald_core::ErrorKind::Environment);
}

fn many(prefix: &str, n: usize) -> NewInvitations {
    NewInvitations {
        recipients: (0..n).map(|i| format!("{prefix}{i}@example.com")).collect(),
        ..NewInvitations::default()
    }
}

#[test]
fn a_full_disk_refuses_every_write_clearly_and_changes_nothing() {
    if !is_root() {
        println!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    let _mount = Mount::tmpfs(&data, "4m");
    let h = f.init();
    invite(&h, &["ada@example.com", "grace@example.com"]);
    // A mail on its way when the disk fills: its outcome must be recorded later.
    let claim = h.claim_next().unwrap().expect("a queued invitation");
    let sent = Delivery::Sent {
        message_id: "<full@example.com>".into(),
        reply: "250 2.0.0 Ok".into(),
    };
    let before = snapshot(h.database_path());
    let filler = fill(&data);

    // Each write needs at least one new page in the WAL, and there is none. The small ones go
    // first: a failed big one leaves its pages in the WAL file for the next writes to reuse.
    assert_disk_full(
        h.set_limits(Limits {
            per_day: 2,
            per_month: 4,
        })
        .unwrap_err(),
        &data,
    );
    assert_disk_full(h.record_delivery(&claim, &sent).unwrap_err(), &data);
    // A changed setting: rewriting the same values writes no page at all, and succeeds.
    let renamed = InitParams {
        team: "Difference Engines".into(),
        ..params()
    };
    assert_disk_full(Herald::init(f.opts(), &renamed).unwrap_err(), &data);
    assert_disk_full(h.create_invitations(&many("full", 200)).unwrap_err(), &data);
    // A new data folder on the same disk cannot be set up either, and is not half set up.
    let fresh = OpenOptions {
        data_dir: data.join("fresh"),
        ..f.opts()
    };
    assert_disk_full(
        Herald::init(fresh.clone(), &params()).unwrap_err(),
        &data.join("fresh"),
    );

    // Nothing changed: reads still work, and every row is as it was.
    assert_eq!(h.invitations(&ListFilter::default()).unwrap().len(), 2);
    assert_eq!(
        h.invitation(claim.invitation.id).unwrap().status,
        Status::Sending
    );
    assert_eq!(h.limits().unwrap(), Limits::default());
    assert_eq!(snapshot(h.database_path()), before);

    // Space freed: the very same operations now work, on the same handle.
    std::fs::remove_file(&filler).unwrap();
    assert!(matches!(
        Herald::open(fresh.clone()).unwrap_err(),
        Error::NotInitialised { .. }
    ));
    Herald::init(fresh, &params()).unwrap();
    h.set_limits(Limits {
        per_day: 2,
        per_month: 4,
    })
    .unwrap();
    assert_eq!(h.record_delivery(&claim, &sent).unwrap(), Status::Sent);
    Herald::init(f.opts(), &renamed).unwrap();
    assert_eq!(h.general().unwrap().team, "Difference Engines");
    assert_eq!(h.create_invitations(&many("full", 200)).unwrap().len(), 200);
    drop(h);
    let h = f.reopen();
    assert_eq!(h.invitations(&ListFilter::default()).unwrap().len(), 202);
    assert_eq!(count(&h, "invitations"), 202);
    let db = rusqlite::Connection::open(h.database_path()).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// The checks of a read-only data folder that hold whether or not a WAL file is there.
fn refuses_writes_but_reads(f: &Fixture, data: &Path, expect: usize) {
    let h = Herald::open(f.opts()).unwrap();
    let list = h.invitations(&ListFilter::default()).unwrap();
    assert_eq!(list.len(), expect);
    assert!(list.iter().all(|i| i.status == Status::Queued));
    assert_eq!(h.general().unwrap().team, "Analytical Engines");
    assert_read_only(h.create_invitations(&many("ro", 3)).unwrap_err(), data);
    assert_read_only(h.revoke(list[0].id).unwrap_err(), data);
    assert_read_only(
        h.set_limits(Limits {
            per_day: 2,
            per_month: 4,
        })
        .unwrap_err(),
        data,
    );
    assert_read_only(h.claim_next().unwrap_err(), data);
    assert_read_only(h.try_outbox_lease().unwrap_err(), data);
    assert_read_only(Herald::init(f.opts(), &params()).unwrap_err(), data);
}

#[test]
fn a_read_only_folder_reads_and_refuses_writes_clearly() {
    if !is_root() {
        println!("skipped: a read-only bind mount needs root (CI runs as root)");
        return;
    }
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    let h = f.init();
    invite(&h, &["ada@example.com", "grace@example.com"]);
    drop(h);
    // Closed cleanly: everything is in herald.db, and there is no -wal or -shm file, which a
    // WAL database normally needs to create before it can be read.
    assert!(!data.join("herald.db-wal").exists());
    let bytes = std::fs::read(data.join("herald.db")).unwrap();
    {
        let _ro = Mount::read_only(&data);
        refuses_writes_but_reads(&f, &data, 2);
    }
    // Not a byte written.
    assert_eq!(std::fs::read(data.join("herald.db")).unwrap(), bytes);
    let entries: Vec<_> = std::fs::read_dir(&data).unwrap().collect();
    assert_eq!(entries.len(), 1, "{entries:?}");

    // Now with a WAL: a Herald that opened the folder before it became read-only keeps
    // writing through its open files. A reader through the read-only path must see those
    // commits, not the older main file.
    let writer = f.reopen();
    invite(&writer, &["alan@example.com"]);
    let ro = Mount::read_only(&data);
    invite(&writer, &["edsger@example.com"]);
    refuses_writes_but_reads(&f, &data, 4);
    // SQLite keeps the reader's files open while another connection in this process has the
    // same database open: close the writer first, so the mount is no longer busy.
    drop(writer);
    drop(ro);
    assert_eq!(count(&f.reopen(), "invitations"), 4);
}

#[test]
fn init_into_a_read_only_folder_says_so_and_creates_nothing() {
    if !is_root() {
        println!("skipped: a read-only bind mount needs root (CI runs as root)");
        return;
    }
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let _ro = Mount::read_only(&data);
    assert_read_only(Herald::init(f.opts(), &params()).unwrap_err(), &data);
    // A data folder that would have to be made inside a read-only one.
    let inner = OpenOptions {
        data_dir: data.join("inner"),
        ..f.opts()
    };
    assert_read_only(
        Herald::init(inner, &params()).unwrap_err(),
        &data.join("inner"),
    );
    assert!(matches!(
        Herald::open(f.opts()).unwrap_err(),
        Error::NotInitialised { .. }
    ));
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}
