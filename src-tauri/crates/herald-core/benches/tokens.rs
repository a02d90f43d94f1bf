//! Token speed: minting (the outbox, once per mail) and verifying (the confirmation site, once
//! per click, and what an attacker makes us do). Aim: verify well under 2 µs on one core.
//!
//! `cargo bench -p herald-core --bench tokens` prints criterion's figures and then one summary
//! line per operation in nanoseconds.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use herald_core::token::{self, Claims, HmacKey, Purpose};

const NONCE: [u8; token::NONCE_LEN] = [9; token::NONCE_LEN];

fn key() -> HmacKey {
    HmacKey::from_bytes(&[7; token::KEY_LEN])
}

fn claims() -> Claims<'static> {
    Claims {
        key_version: 3,
        invitation_id: 123_456,
        email: "ada.lovelace@analytical-engines.example",
        expires_at: 1_800_000_000,
        nonce: &NONCE,
    }
}

fn benches(c: &mut Criterion) {
    let key = key();
    let cl = claims();
    let good = token::mint(&key, Purpose::Invitation, &cl);
    let mut forged = good.expose().as_bytes().to_vec();
    forged[40] = if forged[40] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ASCII");

    c.bench_function("mint", |b| {
        b.iter(|| token::mint(black_box(&key), Purpose::Invitation, black_box(&cl)))
    });
    c.bench_function("parse+verify (valid)", |b| {
        b.iter(|| {
            token::parse(black_box(good.expose()))
                .map(|p| token::verify(&key, Purpose::Invitation, &cl, &p))
                .unwrap_or(false)
        })
    });
    c.bench_function("parse+verify (forged)", |b| {
        b.iter(|| {
            token::parse(black_box(&forged))
                .map(|p| token::verify(&key, Purpose::Invitation, &cl, &p))
                .unwrap_or(false)
        })
    });
    c.bench_function("code", |b| {
        b.iter(|| token::code(black_box(&key), black_box(&cl)))
    });
    c.bench_function("verify_code", |b| {
        b.iter(|| token::verify_code(&key, &cl, black_box("ABCD-EFGH")))
    });
}

/// Plain per-operation figures beside criterion's report, easy to read in a log.
fn summary() {
    let key = key();
    let cl = claims();
    let good = token::mint(&key, Purpose::Invitation, &cl);
    const N: u32 = 200_000;
    let per_op = |f: &dyn Fn() -> bool| {
        let start = Instant::now();
        let mut ok = 0u32;
        for _ in 0..N {
            ok += u32::from(black_box(f()));
        }
        black_box(ok);
        start.elapsed().as_nanos() as f64 / f64::from(N)
    };
    let mint = per_op(&|| {
        !token::mint(&key, Purpose::Invitation, black_box(&cl))
            .expose()
            .is_empty()
    });
    let verify = per_op(&|| {
        token::parse(black_box(good.expose()))
            .map(|p| token::verify(&key, Purpose::Invitation, &cl, &p))
            .unwrap_or(false)
    });
    println!(
        "summary: mint {mint:.0} ns/op, parse+verify {verify:.0} ns/op (aim: verify < 2000 ns)"
    );
}

criterion_group!(token_benches, benches);

fn main() {
    token_benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
