//! Group commit: the writes of callers that arrive together share one transaction, and so one
//! commit.
//!
//! Each caller still runs its own closure, on its own thread, with the connection to itself,
//! inside a savepoint of the open transaction: one caller's failure undoes only its own
//! changes, and each sees the changes of those before it, so the writes stay serialised (of
//! twenty racing accepts exactly one finds the invitation pending). A caller that finishes
//! while others are already waiting for the connection leaves the transaction open for them
//! and sleeps; the last one in line, or the one that fills the batch, commits for all. Nobody
//! returns before their changes are committed: a failed commit is every caller's error.
//!
//! The counters the store keeps (per status, funnel, quarter hour) and the tables' last pages
//! are then written once per batch instead of once per answer, which is where a busy site's
//! writes spent their time (issue #17, lever 1).
//!
//! Two ways in. [`Writer::write`] is for a caller on a thread of its own: it runs its closure
//! itself, borrowing what it likes, as writes always did. [`Writer::submit`] is for the
//! confirmation site's hot path (an answer), whose caller is an async task that must not
//! block a runtime thread: its write owns its data and goes by channel to the writer's thread,
//! which runs whatever has queued up, commits once (together with any blocking callers that
//! joined the transaction) and tells each task. The site first sent every answer through the
//! blocking pool; a profile then found half of an accept's CPU in the kernel, scheduling: a
//! pool thread woken per answer, contended for the connection and woken again at the commit.
//! A submitted write costs no thread of its own.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// At most this many callers' changes go into one commit, so that under a steady flood the
/// first caller of a batch still waits for a bounded number of others.
const MAX_BATCH: usize = 64;

pub(super) struct Writer {
    state: Mutex<State>,
    /// Signalled whenever a batch ends (committed or failed).
    ended: Condvar,
    /// Callers that want the connection and do not hold it yet: while there are any, the
    /// holder leaves the transaction open for them.
    arriving: AtomicUsize,
    /// The way to the writer's thread, started by the first [`Writer::submit`]; `None` if
    /// the thread could not be started (submitted writes then run on the submitting thread).
    queue: OnceLock<Option<mpsc::Sender<Box<dyn Submitted>>>>,
}

/// A write sent to the writer's thread.
trait Submitted: Send {
    /// Runs the write in the open transaction and keeps its outcome; false if it failed (its
    /// savepoint is then rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Tells the task that submitted it: its own outcome if its batch was committed, else the
    /// batch's failure.
    fn finish(self: Box<Self>, ended: std::result::Result<(), &Failure>);
}

struct Job<T, F> {
    write: Option<F>,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
    path: PathBuf,
}

impl<T: Send, F: FnOnce(&Connection) -> Result<T> + Send> Submitted for Job<T, F> {
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(write) = self.write.take() else {
            return false;
        };
        let out = write(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, ended: std::result::Result<(), &Failure>) {
        let told = match (self.out, ended) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(failure)) => Err(Error::db(&self.path, failure.error())),
            (None, Ok(())) => Err(Error::db(&self.path, stopped())),
        };
        // The task may have gone (its client hung up): nothing to tell then.
        let _ = self.reply.send(told);
    }
}

/// The error of a submitted write whose outcome never came (the writer's thread is gone).
pub(super) fn stopped() -> rusqlite::Error {
    aborted("the database writer stopped before this write was done")
}

/// The error every caller of a batch gets when one of its writes panicked.
fn panicked() -> rusqlite::Error {
    aborted("another write in the same transaction panicked")
}

fn aborted(why: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
        Some(why.into()),
    )
}

/// Ends one write's savepoint: kept if it succeeded, undone if not.
fn end_savepoint(conn: &Connection, ok: bool) -> rusqlite::Result<()> {
    if ok {
        conn.execute_batch("RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    }
}

struct State {
    conn: Connection,
    /// Callers whose changes are in the open transaction, waiting for its commit; 0 when no
    /// transaction is open.
    pending: usize,
    /// The open (or next) batch, which its callers keep to learn how it ended.
    batch: Arc<Batch>,
}

/// How one batch ended; set once, by whoever ended it.
#[derive(Default)]
struct Batch(OnceLock<std::result::Result<(), Failure>>);

/// A batch's failed commit, kept to be told to each of its callers (rusqlite's error is not
/// `Clone`).
#[derive(Clone)]
struct Failure {
    code: rusqlite::ffi::Error,
    message: String,
}

impl Failure {
    fn of(e: &rusqlite::Error) -> Failure {
        match e {
            rusqlite::Error::SqliteFailure(code, message) => Failure {
                code: *code,
                message: message.clone().unwrap_or_else(|| code.to_string()),
            },
            other => Failure {
                code: rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                message: other.to_string(),
            },
        }
    }

    fn error(&self) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(self.code, Some(self.message.clone()))
    }
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Writer {
        Writer {
            state: Mutex::new(State {
                conn,
                pending: 0,
                batch: Arc::default(),
            }),
            ended: Condvar::new(),
            arriving: AtomicUsize::new(0),
            queue: OnceLock::new(),
        }
    }

    /// Sends `job` to the writer's thread, to run in the shared transaction; the answer comes
    /// once what it wrote is committed. For async callers: nothing here blocks.
    pub(super) fn submit<T: Send + 'static>(
        self: &Arc<Self>,
        path: &Path,
        job: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> oneshot::Receiver<Result<T>> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job {
            write: Some(job),
            out: None,
            reply,
            path: path.to_owned(),
        });
        let queue = self.queue.get_or_init(|| {
            let (send, receive) = mpsc::channel();
            let writer = Arc::downgrade(self);
            std::thread::Builder::new()
                .name("herald-writer".into())
                .spawn(move || serve(&writer, &receive))
                .ok()
                .map(|_| send)
        });
        let unsent = match queue {
            Some(queue) => queue.send(job).err().map(|e| e.0),
            None => Some(job as Box<dyn Submitted>),
        };
        if let Some(job) = unsent {
            // No thread to send it to: run it here, which blocks, but loses nothing.
            self.run_submitted(vec![job]);
        }
        answer
    }

    /// Runs submitted writes in the shared transaction (each in its savepoint, as
    /// [`Writer::write`] runs one), commits for them and for any callers already waiting in
    /// it, then tells each.
    fn run_submitted(&self, jobs: Vec<Box<dyn Submitted>>) {
        let mut state = self.arrive();
        let mut ran: Vec<Box<dyn Submitted>> = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        let failed = 'batch: {
            if state.pending == 0 {
                if let Err(e) = state.conn.execute_batch("BEGIN IMMEDIATE") {
                    break 'batch Some(Failure::of(&e));
                }
            }
            let mut kept = 0;
            for mut job in jobs.by_ref() {
                if let Err(e) = state.conn.execute_batch("SAVEPOINT job") {
                    ran.push(job);
                    self.fail(&mut state, &e);
                    break 'batch Some(Failure::of(&e));
                }
                let ok = panic::catch_unwind(AssertUnwindSafe(|| job.run(&state.conn)));
                ran.push(job);
                let Ok(ok) = ok else {
                    // A bug in a write: nothing of its batch is kept, and this thread goes on.
                    let e = panicked();
                    self.fail(&mut state, &e);
                    break 'batch Some(Failure::of(&e));
                };
                if let Err(e) = end_savepoint(&state.conn, ok) {
                    self.fail(&mut state, &e);
                    break 'batch Some(Failure::of(&e));
                }
                kept += usize::from(ok);
            }
            state.pending += kept;
            if state.pending == 0 {
                // Every write failed, and nobody else's changes are in: nothing to commit.
                let _ = state.conn.execute_batch("ROLLBACK");
                break 'batch None;
            }
            self.commit(&mut state).err().map(|e| Failure::of(&e))
        };
        drop(state);
        let ended = failed.as_ref().map_or(Ok(()), Err);
        for job in ran.into_iter().chain(jobs) {
            job.finish(ended);
        }
    }

    /// Takes the connection, counted as arriving until it is held.
    fn arrive(&self) -> MutexGuard<'_, State> {
        self.arriving.fetch_add(1, Ordering::SeqCst);
        // A panic while holding the lock is handled in `write` (the batch is failed and rolled
        // back before the panic goes on), so a poisoned lock is safe to keep using.
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.arriving.fetch_sub(1, Ordering::SeqCst);
        state
    }

    /// Runs `job` in the shared transaction and returns once what it wrote is committed.
    pub(super) fn write<T>(
        &self,
        path: &Path,
        job: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let db = |e| Error::db(path, e);
        let mut state = self.arrive();
        if state.pending == 0 {
            // IMMEDIATE: the write lock is taken up front, so two processes never both read,
            // then both try to write.
            state.conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        }
        if let Err(e) = state.conn.execute_batch("SAVEPOINT job") {
            self.fail(&mut state, &e);
            return Err(db(e));
        }
        let out = match panic::catch_unwind(AssertUnwindSafe(|| job(&state.conn))) {
            Ok(out) => out,
            Err(payload) => {
                let e = panicked();
                self.fail(&mut state, &e);
                drop(state);
                panic::resume_unwind(payload);
            }
        };
        let kept = end_savepoint(&state.conn, out.is_ok());
        if let Err(e) = kept {
            // SQLite may have rolled back the whole transaction (a full disk, an I/O error):
            // the changes of the callers before this one are gone too.
            self.fail(&mut state, &e);
            return Err(out.err().unwrap_or_else(|| db(e)));
        }
        if out.is_ok() {
            state.pending += 1;
        }
        let last = self.arriving.load(Ordering::SeqCst) == 0 || state.pending >= MAX_BATCH;
        if state.pending == 0 {
            // Nothing of anyone's to keep: this caller's changes were undone and it was alone.
            let _ = state.conn.execute_batch("ROLLBACK");
            return out;
        }
        if last {
            let committed = self.commit(&mut state);
            return match (out, committed) {
                (Ok(v), Ok(())) => Ok(v),
                (Err(e), _) => Err(e),
                (Ok(_), Err(e)) => Err(db(e)),
            };
        }
        // Others are waiting for the connection: the last of them commits.
        let value = out?;
        let batch = state.batch.clone();
        loop {
            if let Some(ended) = batch.0.get() {
                return match ended {
                    Ok(()) => Ok(value),
                    Err(failure) => Err(db(failure.error())),
                };
            }
            state = self.ended.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The connection with no transaction open: an open batch is committed first, for its
    /// callers. For what cannot run inside a transaction (a checkpoint).
    pub(super) fn idle<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let mut state = self.arrive();
        if state.pending > 0 {
            // Its error, if any, is told to the batch's callers.
            let _ = self.commit(&mut state);
        }
        f(&state.conn)
    }

    /// Commits the open transaction and tells its callers.
    fn commit(&self, state: &mut State) -> rusqlite::Result<()> {
        let committed = state.conn.execute_batch("COMMIT");
        if committed.is_err() && !state.conn.is_autocommit() {
            let _ = state.conn.execute_batch("ROLLBACK");
        }
        self.end(state, committed.as_ref().map_err(Failure::of).map(|_| ()));
        committed
    }

    /// Ends the open batch with `e`: its changes are rolled back and each caller told.
    fn fail(&self, state: &mut State, e: &rusqlite::Error) {
        if !state.conn.is_autocommit() {
            let _ = state.conn.execute_batch("ROLLBACK");
        }
        self.end(state, Err(Failure::of(e)));
    }

    fn end(&self, state: &mut State, how: std::result::Result<(), Failure>) {
        // Set once: a batch is ended only by the caller holding the connection, which then
        // replaces it.
        let _ = state.batch.0.set(how);
        state.batch = Arc::default();
        state.pending = 0;
        self.ended.notify_all();
    }
}

/// The writer's thread: takes what has been submitted, as much as has queued up (at most a
/// batch), and runs it together. Ends when the store is dropped.
fn serve(writer: &Weak<Writer>, queue: &mpsc::Receiver<Box<dyn Submitted>>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let Some(writer) = writer.upgrade() else {
            // The store is gone: each job's task hears that its write was not done.
            for job in jobs {
                job.finish(Err(&Failure::of(&stopped())));
            }
            return;
        };
        writer.run_submitted(jobs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn open(dir: &Path) -> Connection {
        let conn = Connection::open(dir.join("t.db")).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .expect("table");
        conn
    }

    fn insert(conn: &Connection, v: i64) -> Result<i64> {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
            .map_err(|e| Error::db(Path::new("t.db"), e))?;
        Ok(v)
    }

    fn values(dir: &Path) -> Vec<i64> {
        let conn = Connection::open(dir.join("t.db")).expect("open");
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").expect("prepare");
        let rows = stmt.query_map([], |r| r.get(0)).expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    }

    /// Runs `first` as a write that holds the connection until a second caller is waiting
    /// for it, then `second` as that caller: the two share one batch.
    fn together<A: Send, B: Send>(
        writer: &Writer,
        first: impl FnOnce(&Connection) -> Result<A> + Send,
        second: impl FnOnce(&Connection) -> Result<B> + Send,
    ) -> (thread::Result<Result<A>>, thread::Result<Result<B>>) {
        let path = Path::new("t.db");
        let (holding, held) = std::sync::mpsc::channel();
        thread::scope(|s| {
            let a = s.spawn(move || {
                writer.write(path, |conn| {
                    holding.send(()).expect("send");
                    while writer.arriving.load(Ordering::SeqCst) == 0 {
                        thread::yield_now();
                    }
                    first(conn)
                })
            });
            held.recv().expect("the first write holds the connection");
            let b = s.spawn(|| writer.write(path, second));
            (a.join(), b.join())
        })
    }

    #[test]
    fn writes_that_arrive_together_share_one_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Writer::new(open(dir.path()));
        let outside = Connection::open(dir.path().join("t.db")).expect("open");
        let (a, b) = together(
            &writer,
            |conn| insert(conn, 1),
            move |conn| {
                // The first caller's row is in this transaction and not yet committed.
                let inside: i64 = conn
                    .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .expect("count");
                let committed: i64 = outside
                    .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .expect("count");
                insert(conn, 2)?;
                Ok((inside, committed))
            },
        );
        assert_eq!(a.expect("no panic").expect("first"), 1);
        assert_eq!(b.expect("no panic").expect("second"), (1, 0));
        assert_eq!(values(dir.path()), [1, 2]);
    }

    #[test]
    fn a_failed_write_undoes_only_its_own_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Writer::new(open(dir.path()));
        let (a, b) = together(
            &writer,
            |conn| insert(conn, 1),
            |conn| {
                insert(conn, 3)?;
                // The UNIQUE constraint refuses the second row: the whole of this write goes.
                insert(conn, 1)
            },
        );
        assert_eq!(a.expect("no panic").expect("first"), 1);
        let refused = b.expect("no panic").expect_err("a duplicate is refused");
        assert!(refused.to_string().contains("UNIQUE"), "{refused}");
        assert_eq!(values(dir.path()), [1]);
    }

    #[test]
    fn a_write_that_panics_fails_its_batch_and_nothing_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Writer::new(open(dir.path()));
        let (a, b) = together(
            &writer,
            |conn| insert(conn, 1),
            |conn| -> Result<i64> {
                insert(conn, 2)?;
                panic!("a bug in a write");
            },
        );
        let failed = a.expect("no panic").expect_err("its batch failed");
        assert!(failed.to_string().contains("panicked"), "{failed}");
        assert!(b.is_err(), "the panic goes on in its own thread");
        assert_eq!(values(dir.path()), Vec::<i64>::new());
        // The connection is usable again.
        assert_eq!(
            writer
                .write(Path::new("t.db"), |c| insert(c, 4))
                .expect("write"),
            4
        );
        assert_eq!(values(dir.path()), [4]);
    }

    #[test]
    fn many_concurrent_writes_are_each_committed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Writer::new(open(dir.path()));
        thread::scope(|s| {
            for t in 0..8 {
                let writer = &writer;
                s.spawn(move || {
                    for i in 0..50 {
                        let v = t * 1000 + i;
                        let got = writer.write(Path::new("t.db"), |c| insert(c, v));
                        assert_eq!(got.expect("write"), v);
                    }
                });
            }
        });
        let all = values(dir.path());
        assert_eq!(all.len(), 400);
        // A checkpoint finds no transaction open.
        writer
            .idle(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .expect("checkpoint");
    }

    fn submitted<T: Send + 'static>(
        writer: &Arc<Writer>,
        job: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        writer
            .submit(Path::new("t.db"), job)
            .blocking_recv()
            .expect("the writer answers every submitted write")
    }

    #[test]
    fn submitted_writes_are_committed_and_a_failed_one_undoes_only_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Arc::new(Writer::new(open(dir.path())));
        // Sent together, so that the writer's thread finds them queued as one batch.
        let answers: Vec<_> = (1..=5)
            .map(|v| {
                writer.submit(Path::new("t.db"), move |c| {
                    insert(c, 10 + v)?;
                    // The third refuses itself after a row of its own: that row goes too.
                    if v == 3 {
                        insert(c, 11)?;
                    }
                    Ok(v)
                })
            })
            .collect();
        let got: Vec<_> = answers
            .into_iter()
            .map(|a| a.blocking_recv().expect("answered"))
            .collect();
        assert_eq!(got[0].as_ref().ok(), Some(&1));
        let refused = got[2].as_ref().expect_err("a duplicate is refused");
        assert!(refused.to_string().contains("UNIQUE"), "{refused}");
        assert_eq!(got[4].as_ref().ok(), Some(&5));
        assert_eq!(values(dir.path()), [11, 12, 14, 15]);
    }

    #[test]
    fn a_submitted_write_that_panics_fails_its_batch_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Arc::new(Writer::new(open(dir.path())));
        let failed = submitted(&writer, |c| -> Result<i64> {
            insert(c, 2)?;
            panic!("a bug in a write");
        })
        .expect_err("its batch failed");
        assert!(failed.to_string().contains("panicked"), "{failed}");
        assert_eq!(values(dir.path()), Vec::<i64>::new());
        assert_eq!(submitted(&writer, |c| insert(c, 4)).expect("write"), 4);
        assert_eq!(values(dir.path()), [4]);
    }

    #[test]
    fn blocking_and_submitted_writes_together_are_each_committed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Arc::new(Writer::new(open(dir.path())));
        thread::scope(|s| {
            for t in 0..6 {
                let writer = &writer;
                s.spawn(move || {
                    for i in 0..50 {
                        let v = t * 1000 + i;
                        // Half the threads block, half submit: they share batches.
                        let got = if t % 2 == 0 {
                            writer.write(Path::new("t.db"), |c| insert(c, v))
                        } else {
                            submitted(writer, move |c| insert(c, v))
                        };
                        assert_eq!(got.expect("write"), v);
                    }
                });
            }
        });
        assert_eq!(values(dir.path()).len(), 300);
    }
}
