//! Token speed: minting (the outbox, once per mail) and verifying (the confirmation site, once
//! per click, and what an attacker makes us do). Aim: verify well under 2 µs on one core.
//!
//! `cargo bench -p herald-core --bench tokens` prints criterion's figures and then one summary
//! line per operation in nanoseconds.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use herald_core::token::{self, Claims, HmacKey, Purpose};
use hmac::{Hmac, Mac};
use sha2::Sha256;

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
    // The reference: the bare HMAC-SHA256 of a message as long as the one a token signs
    // (label, separator, key version, id, address length, address, expiry, nonce), with the
    // key's padded blocks prepared once, as HmacKey does. scripts/bench.sh prints it beside
    // `openssl speed -hmac sha256 -bytes <the same length>`, measured in the same run.
    let input = mac_input_len(&cl);
    let message = vec![0x5a_u8; input];
    let prepared =
        <Hmac<Sha256> as Mac>::new_from_slice(&[7; token::KEY_LEN]).expect("any key length");
    let raw = per_op(&|| {
        let mut m = prepared.clone();
        m.update(black_box(&message));
        m.finalize().into_bytes()[0] != 1
    });
    let per_sec = |ns: f64| 1e9 / ns;
    println!(
        "summary: mint {mint:.0} ns/op, parse+verify {verify:.0} ns/op (aim: verify < 2000 ns)"
    );
    println!(
        "tokens-figures mac_input_bytes={input} mint_per_s={:.0} verify_per_s={:.0} raw_hmac_per_s={:.0}",
        per_sec(mint),
        per_sec(verify),
        per_sec(raw)
    );
}

/// The length of what a token's MAC covers (see `HmacKey::mac` in src/token.rs): the purpose
/// label `herald/invitation/v1`, a zero byte, the key version (4), the id (8), the address's
/// length (4) and bytes, the expiry (8) and the nonce.
fn mac_input_len(c: &Claims<'_>) -> usize {
    b"herald/invitation/v1".len() + 1 + 4 + 8 + 4 + c.email.len() + 8 + token::NONCE_LEN
}

criterion_group!(token_benches, benches);

fn main() {
    token_benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
