//! Remote mode beside in-process, in one run (`scripts/bench.sh remote`):
//!
//! - one page of the status table (100 rows, newest first) out of ROWS invitations, asked
//!   through the owner API (HTTPS on loopback, pinned key, credential checked per request) and
//!   through the in-process client; aim: remote p50 within 2 ms of local p50;
//! - an event reaching a watching client: an invitation revoked on the server (a commit, as an
//!   invitee's answer is) until the paired client's event stream yields it, beside the same for
//!   an in-process watcher; aim: p99 under 50 ms.
//!
//! Not a test: it asserts nothing about the figures, it prints them. `HERALD_BENCH_ROWS` and
//! `HERALD_BENCH_SAMPLES` make it smaller (`--quick`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use herald_api::{Client, Connection, Local, WatchItem};
use herald_core::owner_tls::ServerIdentity;
use herald_core::secrets::MemoryKeyring;
use herald_core::{
    Clock, Herald, InitParams, ListQuery, NewInvitations, OpenOptions, SortKey, MAX_BATCH,
};
use secrecy::ExposeSecret;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn seeded(dir: &std::path::Path, rows: usize) -> Arc<Herald> {
    let opts = OpenOptions {
        data_dir: dir.join("server"),
        keyring: MemoryKeyring::new().shared(),
        keyring_service: "herald-bench-remote".into(),
        clock: Clock::System,
    };
    let (h, _) = Herald::init(
        opts,
        &InitParams {
            team: "Bench".into(),
            owner_name: "Bench".into(),
            from: "bench@example.com".into(),
            public_url: "https://invite.example.com".into(),
            ..InitParams::default()
        },
    )
    .expect("init");
    let started = Instant::now();
    for batch in 0..rows.div_ceil(MAX_BATCH) {
        let n = MAX_BATCH.min(rows - batch * MAX_BATCH);
        let recipients = (0..n)
            .map(|i| format!("Person {batch} {i} <p{batch}.{i}@team{}.example>", i % 7))
            .collect();
        h.create_invitations(&NewInvitations {
            recipients,
            ..NewInvitations::default()
        })
        .expect("create");
    }
    eprintln!(
        "made {rows} invitations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Arc::new(h)
}

/// A page as the status screen asks for it, one way or the other; the time of each. `pace`
/// keeps the owner API's rate limit (ten a second after a burst) out of the figures.
async fn pages(client: &Client, samples: usize, pace: Duration) -> Vec<Duration> {
    let query = ListQuery {
        status: None,
        search: None,
        sort: SortKey::Created,
        descending: true,
        offset: 0,
        limit: 100,
    };
    // Warm: connections, statement cache, page cache.
    for _ in 0..10 {
        client.list_invitations(query.clone()).await.expect("page");
    }
    let mut took = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        let page = client.list_invitations(query.clone()).await.expect("page");
        took.push(t.elapsed());
        assert_eq!(page.rows.len(), 100);
        tokio::time::sleep(pace).await;
    }
    took
}

/// Revokes invitations on the server, one at a time, and times each until `client`'s event
/// stream yields it.
async fn latencies(
    herald: &Arc<Herald>,
    client: &Client,
    first_id: i64,
    samples: usize,
) -> Vec<Duration> {
    let mut events = client.watch(None).await.expect("watch");
    let mut took = Vec::with_capacity(samples);
    for id in first_id..first_id + samples as i64 {
        let h = herald.clone();
        let t = Instant::now();
        tokio::task::spawn_blocking(move || h.revoke(id))
            .await
            .expect("task")
            .expect("revoke");
        loop {
            match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
                Ok(Some(Ok(WatchItem::Event(e)))) if e.invitation_id == Some(id) => break,
                Ok(Some(Ok(_))) => {}
                other => panic!("the stream gave {other:?}"),
            }
        }
        took.push(t.elapsed());
        // Events apart, as answers come, not in one burst.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    took
}

fn line(what: &str, samples: &mut [Duration]) -> (f64, f64) {
    let (p50, p99) = (ms(percentile(samples, 0.5)), ms(percentile(samples, 0.99)));
    println!("  {what:<52} p50 {p50:>7.2} ms   p99 {p99:>7.2} ms");
    (p50, p99)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = env_number("HERALD_BENCH_ROWS", 100_000);
    let samples = env_number("HERALD_BENCH_SAMPLES", 500);
    let dir = tempfile::tempdir().expect("temp dir");
    let herald = seeded(dir.path(), rows);

    // The owner API as herald serve runs it: TLS with Herald's own key, on loopback.
    let identity = ServerIdentity::generate().expect("identity");
    let tls = identity.server_config(&["localhost"]).expect("tls");
    let listener = herald_server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let router = herald_api::http::router(Local::new(herald.clone()), Some(identity.spki_sha256()));
    tokio::spawn(herald_server::run_owner_api(
        listener,
        Some(tls),
        router,
        herald_server::SiteConfig::default(),
        std::future::pending(),
    ));

    // An owner's computer, paired with a code as herald connect does.
    let code = herald.add_owner("Bench").expect("owner").code;
    let keyring = MemoryKeyring::new();
    let owner_dir = dir.path().join("owner");
    herald_api::connect::pair(
        &url,
        code.expose_secret(),
        &owner_dir,
        keyring.shared(),
        Clock::System.now(),
    )
    .await
    .expect("pair");
    let remote = Client::Remote(
        Connection::load(&owner_dir)
            .expect("connection")
            .expect("paired")
            .remote(keyring.shared())
            .expect("client"),
    );
    let local = Client::Local(Local::new(herald.clone()));

    let pace = Duration::from_secs(60) / herald_server::OWNER_PER_MINUTE;
    println!("remote: one page of 100 out of {rows} invitations, {samples} times each");
    let (local_p50, _) = line(
        "in-process (the window on one computer)",
        &mut pages(&local, samples, Duration::ZERO).await,
    );
    let (remote_p50, _) = line(
        "owner API (HTTPS on loopback, credential checked)",
        &mut pages(&remote, samples, pace).await,
    );
    println!(
        "  the owner API adds {:.2} ms at p50 (aim: within 2 ms)",
        remote_p50 - local_p50
    );

    let events = samples.min(rows / 2);
    println!("remote: an event (a revoke committed on the server) until a watcher has it, {events} times each");
    line(
        "in-process watcher",
        &mut latencies(&herald, &local, 1, events).await,
    );
    let (_, remote_p99) = line(
        "paired client's event stream (SSE over HTTPS)",
        &mut latencies(&herald, &remote, 1 + events as i64, events).await,
    );
    println!("  paired client p99 {remote_p99:.2} ms (aim: under 50 ms)");
}
