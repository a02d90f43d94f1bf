//! The window's table over a big team: one page of 100 rows out of 100,000 invitations, as the
//! status screen asks while the owner scrolls, filters and searches. Aim: well under 16 ms a
//! page (one frame), so scrolling never waits on the store.
//!
//! Needs the OS keyring (the invitations are made through the real API):
//! `scripts/with-keyring.sh cargo bench -p herald-core --bench listing`. Prints criterion's
//! figures, then one summary line per query in milliseconds. `HERALD_BENCH_ROWS` makes the team
//! smaller (`scripts/bench.sh --quick`).

use std::time::Instant;

use criterion::{criterion_group, Criterion};
use herald_core::{
    Clock, Herald, InitParams, ListQuery, NewInvitations, OpenOptions, SortKey, Status, MAX_BATCH,
};

/// The team's size: 100,000 invitations unless `HERALD_BENCH_ROWS` says otherwise (whole
/// batches of `MAX_BATCH`, at least one).
fn rows() -> usize {
    let asked = std::env::var("HERALD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100_000);
    (asked / MAX_BATCH).max(1) * MAX_BATCH
}
const PAGE: u32 = 100;

fn herald(dir: &std::path::Path, rows: usize) -> Herald {
    let opts = OpenOptions {
        data_dir: dir.join("data"),
        keyring: herald_core::secrets::OsKeyring::shared(),
        keyring_service: format!("herald-bench-listing-{}", std::process::id()),
        clock: Clock::manual(1_900_000_000),
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
    for batch in 0..rows / MAX_BATCH {
        let recipients = (0..MAX_BATCH)
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
    h
}

fn query() -> ListQuery {
    ListQuery {
        status: None,
        search: None,
        sort: SortKey::Created,
        descending: true,
        offset: 0,
        limit: PAGE,
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = rows();
    let h = herald(dir.path(), rows);
    // An address in the middle batch, which exists whatever the size.
    let one = format!("p{}.123@", rows / MAX_BATCH / 2);
    let cases: Vec<(&str, ListQuery)> = vec![
        ("newest page", query()),
        (
            "page in the middle",
            ListQuery {
                offset: (rows / 2) as u32,
                ..query()
            },
        ),
        (
            "sorted by address, last page",
            ListQuery {
                sort: SortKey::Email,
                offset: rows as u32 - PAGE,
                ..query()
            },
        ),
        (
            "sorted by name",
            ListQuery {
                sort: SortKey::Name,
                ..query()
            },
        ),
        (
            "filtered to one status",
            ListQuery {
                status: Some(Status::Queued),
                ..query()
            },
        ),
        (
            "search (matches 1 in 7)",
            ListQuery {
                search: Some("team3".into()),
                ..query()
            },
        ),
        (
            "search (matches one)",
            ListQuery {
                search: Some(one.clone()),
                ..query()
            },
        ),
    ];
    let mut summary = Vec::new();
    for (name, q) in &cases {
        let page = h.list_page(q).expect("list");
        assert!(!page.rows.is_empty(), "{name}: no rows");
        c.bench_function(name, |b| b.iter(|| h.list_page(q).expect("list")));
        let n = 20;
        let t = Instant::now();
        for _ in 0..n {
            h.list_page(q).expect("list");
        }
        summary.push((
            name,
            t.elapsed().as_secs_f64() * 1000.0 / f64::from(n),
            page.total,
        ));
    }
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        h.overview(0).expect("overview");
    }
    let overview_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    println!("\nlisting: one page of {PAGE} rows out of {rows} invitations (aim: < 16 ms)");
    for (name, ms, total) in summary {
        println!("  {name:<32} {ms:>8.2} ms   ({total} match)");
    }
    println!(
        "  {:<32} {overview_ms:>8.2} ms",
        "overview (funnel and 30 days)"
    );
}

criterion_group! {
    name = listing;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}

fn main() {
    listing();
    Criterion::default().configure_from_args().final_summary();
}
