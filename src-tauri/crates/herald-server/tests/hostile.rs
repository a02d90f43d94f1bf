//! Hostile input against the real confirmation site (issue #7, "Proof"): a bounded brute force
//! of forged tokens and typed codes, oversized and malformed HTTP spoken over raw TCP, slow and
//! idle clients, and Unicode tricks in names and addresses. Real parts only: the real server on
//! a loopback port and a real SQLite file (the keys are in an in-memory keyring).
//!
//! The default run is small enough for CI. `HERALD_HOSTILE_ROUNDS=N` sets how many forged
//! tokens the brute force tries (each by GET and by POST; default 1500), and the code brute force
//! scales with it; `HERALD_HOSTILE_SEED=S` replays a run (every test prints its seed). See
//! docs/hostile-tests.md.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{agent, got, site, site_with, Got, Site};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use herald_core::token::{self, Claims, HmacKey, Purpose, NONCE_LEN, TOKEN_LEN};
use herald_core::{
    AuditEntry, Herald, InitParams, Invitation, ListFilter, NewInvitations, OpenOptions, Status,
    CODE_ATTEMPTS,
};
use herald_server::{SiteConfig, HEADER_READ_TIMEOUT};

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// How many forged tokens the brute force tries; the long variant raises it.
fn rounds() -> usize {
    std::env::var("HERALD_HOSTILE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(1500)
}

/// xorshift64*: enough to spread forgeries; not for secrets. Seeded from
/// `HERALD_HOSTILE_SEED` or the clock, and the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("HERALD_HOSTILE_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        println!("{test}: HERALD_HOSTILE_SEED={seed}");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn pick(&mut self, alphabet: &[u8]) -> u8 {
        alphabet[self.below(alphabet.len())]
    }
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";

/// A site behind a reverse proxy on this machine, so that `X-Forwarded-For` names the client
/// and one test process can be many clients.
fn proxied_site() -> Site {
    site_with(
        "Rocket Team",
        "Ada Lovelace",
        SiteConfig {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        },
    )
}

/// Client number `n`, as the proxy names it: 10.x.y.z.
fn client(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn get_as(agent: &ureq::Agent, url: &str, ip: &str) -> Got {
    got(agent
        .get(url)
        .header("User-Agent", BROWSER)
        .header("X-Forwarded-For", ip)
        .call())
}

fn post_as(agent: &ureq::Agent, url: &str, ip: &str, form: &[(&str, &str)]) -> Got {
    got(agent
        .post(url)
        .header("User-Agent", BROWSER)
        .header("X-Forwarded-For", ip)
        .send_form(form.iter().copied()))
}

/// Everything the owner could see change: every invitation, its history, the opt-out list.
fn store_state(h: &Herald) -> (Vec<Invitation>, Vec<Vec<AuditEntry>>, usize) {
    let all = h.invitations(&ListFilter::default()).unwrap();
    let history = all.iter().map(|i| h.history(i.id).unwrap()).collect();
    (all, history, h.opt_outs().unwrap().len())
}

fn wire(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(token).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Brute force of tokens

/// One forged token: every way of guessing or bending a link an attacker has, built from the
/// site's real links (`real`: token, unsubscribe token and the invitation they belong to).
fn forge(rng: &mut Rng, n: usize, real: &[(String, String, Invitation)]) -> String {
    let (token, unsub, inv) = &real[rng.below(real.len())];
    let mutate = |rng: &mut Rng, t: &str, times: usize| {
        let mut b = t.as_bytes().to_vec();
        let mut at = BTreeSet::new();
        while at.len() < times {
            at.insert(rng.below(b.len()));
        }
        for i in at {
            let was = b[i];
            while b[i] == was {
                b[i] = rng.pick(B64URL);
            }
        }
        String::from_utf8(b).unwrap()
    };
    match n % 10 {
        // Random characters of the right length and alphabet.
        0 => (0..TOKEN_LEN).map(|_| rng.pick(B64URL) as char).collect(),
        // Random bytes in the right structure (format 1, key version 1): they parse, and get
        // as far as the store lookup by nonce.
        1 => {
            let mut w = vec![1, 0, 0, 0, 1];
            w.extend(rng.bytes(NONCE_LEN + 32));
            URL_SAFE_NO_PAD.encode(w)
        }
        // A real link with one or two characters changed.
        2 => mutate(rng, token, 1),
        3 => mutate(rng, token, 2),
        // Truncated or extended.
        4 => token[..1 + rng.below(TOKEN_LEN - 1)].to_owned(),
        5 => {
            let extra: String = (0..1 + rng.below(8))
                .map(|_| rng.pick(B64URL) as char)
                .collect();
            format!("{token}{extra}")
        }
        // The right claims (nonce, id, address, expiry, key version) under another key: a
        // well-formed token from a Herald that is not this one.
        6 => {
            let w = wire(token);
            let nonce: [u8; NONCE_LEN] = w[5..5 + NONCE_LEN].try_into().unwrap();
            let key = HmacKey::from_bytes(&rng.bytes(32).try_into().unwrap());
            let claims = Claims {
                key_version: inv.key_version,
                invitation_id: inv.id,
                email: &inv.email,
                expires_at: inv.expires_at,
                nonce: &nonce,
            };
            token::mint(&key, Purpose::Invitation, &claims)
                .expose()
                .to_owned()
        }
        // One link's nonce with another link's MAC.
        7 => {
            let (other, _, _) =
                &real[(real.iter().position(|r| &r.0 == token).unwrap() + 1) % real.len()];
            let mut w = wire(token);
            w[5 + NONCE_LEN..].copy_from_slice(&wire(other)[5 + NONCE_LEN..]);
            URL_SAFE_NO_PAD.encode(w)
        }
        // The unsubscribe token (a real MAC, for another purpose) as an invitation link.
        8 => unsub.clone(),
        // A real link claiming another key version.
        _ => {
            let mut w = wire(token);
            w[1..5].copy_from_slice(&(2 + rng.below(1000) as u32).to_be_bytes());
            URL_SAFE_NO_PAD.encode(w)
        }
    }
}

#[test]
fn a_brute_force_of_forged_tokens_finds_nothing_and_hits_the_rate_limit() {
    let s = proxied_site();
    let real: Vec<(String, String, Invitation)> =
        ["grace@example.com", "alan@example.com", "ada@example.com"]
            .iter()
            .map(|e| {
                let (id, token) = s.invite(e, None);
                let unsub = s.herald.mint_link(id).unwrap();
                let unsub = unsub.unsubscribe.expose().to_owned();
                (token, unsub, s.herald.invitation(id).unwrap())
            })
            .collect();
    let before = store_state(&s.herald);
    // The one answer every bad link must get, asked for by a client of its own.
    let invalid = get_as(&agent(), &format!("{}/i/not-a-token", s.base), "192.0.2.1");
    assert_eq!(
        (invalid.status, invalid.heading()),
        (404, "This link is not valid")
    );

    let mut rng = Rng::new("tokens");
    let n = rounds();
    let forged: Vec<String> = (0..n).map(|i| forge(&mut rng, i, &real)).collect();
    for f in &forged {
        assert!(real.iter().all(|(t, _, _)| t != f), "a forgery is real");
    }
    // Spread over many clients behind the proxy, each below its burst of 60 pages, so that
    // every forgery is really checked. Four threads, each with its own kept-alive connection.
    const PER_CLIENT: usize = 50;
    let started = Instant::now();
    let forged = Arc::new(forged);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (forged, base) = (forged.clone(), s.base.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut answers = Vec::new();
                // Request r (GET or POST of forgery r / 2) comes from client r / PER_CLIENT.
                for r in (w..forged.len() * 2).step_by(4) {
                    let url = format!("{base}/i/{}", forged[r / 2]);
                    let ip = client(r / PER_CLIENT);
                    let answer = if r % 2 == 0 {
                        get_as(&agent, &url, &ip)
                    } else {
                        let form = [("form", "answer"), ("answer", "accept")];
                        post_as(&agent, &url, &ip, &form)
                    };
                    answers.push((r, answer));
                }
                answers
            })
        })
        .collect();
    let answers: Vec<(usize, Got)> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let spread_time = started.elapsed();
    assert_eq!(answers.len(), n * 2);
    for (r, a) in &answers {
        let what = if r % 2 == 0 { "GET" } else { "POST" };
        assert!(
            !a.body.contains("invited you to join") && !a.body.contains("Welcome to"),
            "{what} of forgery {} got through: {}",
            r / 2,
            a.heading()
        );
        // Same status, same page to the byte, same headers: nothing says which part was wrong.
        assert_eq!(a.status, 404, "{what} of forgery {}", r / 2);
        assert_eq!(a.body, invalid.body, "{what} of forgery {}", r / 2);
        let names = |g: &Got| {
            g.headers
                .iter()
                .map(|h| h.0.clone())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(names(a), names(&invalid));
    }

    // One client alone: the burst of 60 pages, then 429 with Retry-After, while forgeries
    // keep coming.
    let one = agent();
    let started_one = Instant::now();
    let single: Vec<Got> = (0..200)
        .map(|i| {
            get_as(
                &one,
                &format!("{}/i/{}", s.base, forged[i % n]),
                "192.0.2.66",
            )
        })
        .collect();
    let single_time = started_one.elapsed();
    let first_429 = single.iter().position(|g| g.status == 429).unwrap_or(200);
    let through = single.iter().filter(|g| g.status == 404).count();
    let limited = single.iter().filter(|g| g.status == 429).count();
    assert_eq!(through + limited, single.len(), "only 404 and 429");
    assert!(
        single[..first_429].iter().all(|g| g.body == invalid.body),
        "before the limit, the same invalid page"
    );
    // The quota refills one a second: a slow run may let a few more through.
    let refill = single_time.as_secs() as usize + 1;
    assert!(
        (60..=60 + refill).contains(&first_429) && through <= 60 + refill,
        "first 429 at {first_429}, {through} got through in {single_time:?}"
    );
    for g in &single[first_429..] {
        if g.status == 429 {
            assert_eq!(g.header("retry-after"), Some("60"));
            assert_eq!(g.heading(), "Too many requests");
            // Its unread body cannot stay on the connection: the site says it closes it.
            assert_eq!(g.header("connection"), Some("close"));
        }
    }

    assert_eq!(store_state(&s.herald), before, "nothing changed");
    // The real links still work (so the answers above were not just a broken site), for a
    // client that was not part of the flood.
    for (token, _, _) in &real {
        let page = get_as(&agent(), &format!("{}/i/{token}", s.base), "192.0.2.2");
        assert_eq!(page.status, 200);
        assert!(page.heading().contains("invited you to join"));
    }
    println!(
        "tokens: {} forged requests from {} clients in {:.1?} ({:.0}/s), all 404; one client: \
         {through} of 200 answered before 429 (first at #{}), {limited} got 429, in {:.1?}",
        n * 2,
        (n * 2).div_ceil(PER_CLIENT),
        spread_time,
        (n * 2) as f64 / spread_time.as_secs_f64(),
        first_429 + 1,
        single_time
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Brute force of typed codes

fn wrong_code(rng: &mut Rng, right: &str) -> String {
    loop {
        let c: String = (0..8).map(|_| rng.pick(CROCKFORD) as char).collect();
        if token::normalise_code(&c) != token::normalise_code(right) {
            return c;
        }
    }
}

fn wrong_codes_counted(h: &Herald, id: i64) -> usize {
    h.history(id)
        .unwrap()
        .iter()
        .filter(|e| e.action == herald_core::AuditAction::WrongCode)
        .count()
}

#[test]
fn a_brute_force_of_typed_codes_finds_nothing_locks_and_hits_the_rate_limit() {
    let s = proxied_site();
    let code_url = format!("{}/code", s.base);
    let invite = |email: &str| {
        let (id, token) = s.invite(email, None);
        let code = s.herald.mint_link(id).unwrap().code.expose().to_owned();
        (id, token, code)
    };
    let (locked, locked_token, locked_code) = invite("grace@example.com");
    let (spare, _, spare_code) = invite("alan@example.com");
    let sprayed: Vec<(i64, String, String)> = (0..4)
        .map(|i| invite(&format!("member{i}@example.com")))
        .collect();
    let mut rng = Rng::new("codes");
    let a = agent();
    // Every client sends at most five code forms here, below its burst of 10.
    let mut next_client = 0;
    let mut fresh = || {
        next_client += 1;
        client(next_client)
    };
    let try_code = |ip: &str, email: &str, code: &str| {
        post_as(
            &a,
            &code_url,
            ip,
            &[("form", "code"), ("email", email), ("code", code)],
        )
    };
    let refused = try_code(&fresh(), "nobody@example.com", "ABCD-EFGH");
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("do not match"));

    // Five wrong codes for one invitation, each from a different client: the per-client limit
    // does not protect it, the per-invitation lockout does.
    for _ in 0..CODE_ATTEMPTS {
        let wrong = try_code(
            &fresh(),
            "grace@example.com",
            &wrong_code(&mut rng, &locked_code),
        );
        assert_eq!((wrong.status, &wrong.body), (422, &refused.body));
    }
    // Locked: the right code is refused like a wrong one (as designed: five wrong tries lock
    // the code path for good; the link in the mail keeps working), to show and to accept.
    let right = try_code(&fresh(), "grace@example.com", &locked_code);
    assert_eq!((right.status, &right.body), (422, &refused.body));
    let accept = post_as(
        &a,
        &code_url,
        &fresh(),
        &[
            ("form", "answer"),
            ("answer", "accept"),
            ("email", "grace@example.com"),
            ("code", &locked_code),
        ],
    );
    assert_eq!((accept.status, &accept.body), (422, &refused.body));
    assert_eq!(s.status(locked), Status::Queued);
    assert_eq!(
        wrong_codes_counted(&s.herald, locked),
        CODE_ATTEMPTS as usize
    );

    // Four wrong tries do not lock: the fifth, right, code still works. So the lockout above
    // is the fifth wrong try, not something looser.
    for _ in 0..CODE_ATTEMPTS - 1 {
        let wrong = try_code(
            &fresh(),
            "alan@example.com",
            &wrong_code(&mut rng, &spare_code),
        );
        assert_eq!(wrong.status, 422);
    }
    let shown = try_code(&fresh(), "alan@example.com", &spare_code);
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.heading(),
        "Ada Lovelace invited you to join Rocket Team"
    );
    assert_eq!(s.status(spare), Status::Queued, "showing changes nothing");

    // The spray: wrong codes for real and unknown addresses, case and grouping varied, from
    // many clients (five each). Not one is accepted, and every answer is the same page.
    let before = store_state(&s.herald);
    let sprays = (rounds() / 5).max(100);
    let started = Instant::now();
    let mut ip = fresh();
    for i in 0..sprays {
        if i % 5 == 0 {
            ip = fresh();
        }
        let (email, code) = if i % 2 == 0 {
            let (_, _, right) = &sprayed[rng.below(sprayed.len())];
            let email = format!("member{}@example.com", rng.below(sprayed.len()));
            (email, wrong_code(&mut rng, right))
        } else {
            let email = format!(
                "x{}@example.{}",
                rng.below(1_000_000),
                ["com", "org"][i % 4 / 2]
            );
            (email, wrong_code(&mut rng, "00000000"))
        };
        let code = if i % 3 == 0 {
            format!("{}-{}", &code[..4], &code[4..]).to_lowercase()
        } else {
            code
        };
        let answer = try_code(&ip, &email, &code);
        assert_eq!(
            (answer.status, &answer.body),
            (422, &refused.body),
            "{email}"
        );
    }
    let spray_time = started.elapsed();
    let (after, history, opt_outs) = store_state(&s.herald);
    assert_eq!(
        (&after, opt_outs),
        (&before.0, before.2),
        "no status changed"
    );
    assert_eq!(history.len(), before.1.len());
    // Each sprayed invitation counted its wrong codes up to the lockout, and no further.
    let mut locked_by_spray = 0;
    for (id, _, _) in &sprayed {
        let counted = wrong_codes_counted(&s.herald, *id);
        assert!(counted <= CODE_ATTEMPTS as usize, "#{id}: {counted}");
        locked_by_spray += usize::from(counted == CODE_ATTEMPTS as usize);
    }
    if sprays >= 200 {
        assert_eq!(
            locked_by_spray,
            sprayed.len(),
            "every sprayed invitation locked"
        );
    }

    // One client alone: 10 code forms, then 429 with Retry-After, even for a right code.
    let one = "192.0.2.77";
    let single: Vec<Got> = (0..15)
        .map(|i| {
            let code = if i == 14 {
                spare_code.clone()
            } else {
                wrong_code(&mut rng, &spare_code)
            };
            try_code(one, "nobody@example.com", &code)
        })
        .collect();
    let statuses: Vec<u16> = single.iter().map(|g| g.status).collect();
    assert_eq!(statuses[..10], [422; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 5], "{statuses:?}");
    assert_eq!(single[10].header("retry-after"), Some("60"));
    // The code limit is its own: the same client may still open pages.
    assert_eq!(get_as(&a, &code_url, one).status, 200);

    // The link of the locked invitation still works.
    let page = get_as(&a, &format!("{}/i/{locked_token}", s.base), &fresh());
    assert_eq!(page.status, 200);
    println!(
        "codes: {} wrong codes for 1 invitation locked it; {sprays} sprayed over {} addresses \
         from {} clients in {:.1?}, all refused, {locked_by_spray} of {} invitations locked; one \
         client: 10 answered, then 429",
        CODE_ATTEMPTS,
        sprayed.len(),
        sprays.div_ceil(5),
        spray_time,
        sprayed.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Oversized and malformed HTTP, over raw TCP

/// What came back on one raw connection.
#[derive(Debug)]
struct Raw {
    /// The status of the first response, if one came.
    status: Option<u16>,
    /// The first response's bytes (at most 64 KiB are kept).
    text: String,
    /// The server closed the connection (end of stream or reset) within the read timeout.
    closed: bool,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// Reads until the server closes the connection or `within` passes.
fn read_all(c: &mut TcpStream, within: Duration) -> Raw {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        c.set_read_timeout(Some(left)).unwrap();
        match c.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) if got.len() < 64 * 1024 => got.extend_from_slice(&buf[..n]),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false
            }
            Err(_) => break true,
        }
    };
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|t| t.parse().ok());
    Raw {
        status,
        text,
        closed,
    }
}

/// Sends `request` (write errors ignored: the server may stop reading and close) and reads
/// the answer.
fn exchange(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut c = connect(addr);
    let _ = c.write_all(request);
    read_all(&mut c, Duration::from_secs(15))
}

/// Sends a head, then streams `body_len` bytes of body from another thread while this one
/// reads, so the answer is seen even if the server cuts the upload short.
fn upload(addr: SocketAddr, head: String, body_len: usize, chunked: bool) -> Raw {
    let mut c = connect(addr);
    let mut w = c.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(head.as_bytes());
        let piece = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < body_len {
            let n = piece.len().min(body_len - sent);
            let ok = if chunked {
                w.write_all(format!("{n:x}\r\n").as_bytes())
                    .and_then(|()| w.write_all(&piece[..n]))
                    .and_then(|()| w.write_all(b"\r\n"))
            } else {
                w.write_all(&piece[..n])
            };
            if ok.is_err() {
                break;
            }
            sent += n;
        }
        if chunked && sent == body_len {
            let _ = w.write_all(b"0\r\n\r\n");
        }
        sent
    });
    let raw = read_all(&mut c, Duration::from_secs(20));
    let _ = c.shutdown(Shutdown::Both);
    let _ = writer.join();
    raw
}

fn vm_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn healthy(s: &Site) -> bool {
    got(agent().get(&format!("{}/healthz", s.base)).call()).status == 200
}

#[test]
fn oversized_and_malformed_requests_get_4xx_and_the_site_carries_on() {
    let s = site();
    let (id, token) = s.invite("grace@example.com", None);
    let before = store_state(&s.herald);
    let addr = s.addr;
    let mut rng = Rng::new("malformed");
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let many_headers: String = (0..5000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let garbage = rng.bytes(4096);
    let cases: Vec<(&str, Vec<u8>, Vec<u16>)> = vec![
        (
            "a 100 KB URL",
            format!("GET /i/{} HTTP/1.1\r\nHost: h\r\n\r\n", "A".repeat(100_000)).into_bytes(),
            vec![414, 431],
        ),
        (
            "a 100 KB header",
            format!(
                "GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
                "a".repeat(100_000)
            )
            .into_bytes(),
            vec![431],
        ),
        (
            "5000 headers",
            format!("GET /healthz HTTP/1.1\r\nHost: h\r\n{many_headers}\r\n").into_bytes(),
            vec![431],
        ),
        (
            "a Content-Length shorter than the body",
            format!(
                "POST /i/{token} HTTP/1.1\r\nHost: h\r\n{form}Content-Length: 5\r\n\r\nform=answer&answer=accept"
            )
            .into_bytes(),
            vec![400],
        ),
        (
            "both Content-Length and chunked",
            format!(
                "POST /i/{token} HTTP/1.1\r\nHost: h\r\n{form}Content-Length: 25\r\nTransfer-Encoding: chunked\r\n\r\nform=answer&answer=accept"
            )
            .into_bytes(),
            vec![400],
        ),
        (
            "bad percent-encoding in the token",
            b"GET /i/%ZZ%4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_vec(),
            vec![404],
        ),
        (
            "percent-encoded invalid UTF-8 in the token",
            b"GET /i/%FF%FE%C0%AF HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_vec(),
            vec![404],
        ),
        (
            "percent-encoded invalid UTF-8 in an unsubscribe POST",
            format!(
                "POST /u/%C3%28 HTTP/1.1\r\nHost: h\r\n{form}Content-Length: 28\r\nConnection: close\r\n\r\nList-Unsubscribe=One-Click&x"
            )
            .into_bytes(),
            vec![404],
        ),
        (
            "raw invalid UTF-8 in the path",
            b"GET /i/\xff\xfe\x80 HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
            vec![400],
        ),
        (
            "a NUL in a header",
            b"GET /healthz HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n".to_vec(),
            vec![400],
        ),
        ("4 KB of random bytes", garbage, vec![400]),
        ("HTTP/0.9", b"GET /healthz\r\n\r\n".to_vec(), vec![400]),
        (
            "an HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            vec![0],
        ),
        (
            "an unknown method",
            format!("BREW /i/{token} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            vec![405],
        ),
        (
            "TRACE",
            b"TRACE /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_vec(),
            vec![405],
        ),
        (
            "an absolute URL to another host",
            b"GET http://evil.example/nowhere HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
                .to_vec(),
            vec![404],
        ),
    ];
    // Expected answers; 0 stands for "closed without an answer", what hyper does with
    // something that is not HTTP/1 at all.
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (what, request, expected) in &cases {
        let raw = exchange(addr, request);
        let status = raw.status.unwrap_or(0);
        if !expected.contains(&status) || !raw.closed || raw.text.contains("panicked") {
            wrong.push(format!(
                "{what}: expected {expected:?}, got {status} (closed: {}): {:.200}",
                raw.closed, raw.text
            ));
        }
        report.push(format!("{what}: {status}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A bad path in a link reads exactly like any other bad link.
    let invalid = s.get("/i/not-a-token");
    for path in ["/i/%ZZ%4", "/i/%FF%FE%C0%AF"] {
        let raw = exchange(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert!(
            raw.text.ends_with(&invalid.body),
            "{path}: {:.300}",
            raw.text
        );
    }
    // A bare-LF request line: tolerated as RFC 9112 allows (the site sits behind nothing that
    // parses differently: a proxy in front speaks to it in its own, clean framing).
    let lf = exchange(
        addr,
        b"GET /healthz HTTP/1.1\nHost: h\nConnection: close\n\n",
    );
    assert_eq!(lf.status, Some(200), "{}", lf.text);

    // A Content-Length that promises more than comes: the client gives up (half-closes) and
    // the server answers 400 or closes, without waiting for the rest.
    let mut c = connect(addr);
    let _ = c.write_all(
        format!("POST /i/{token} HTTP/1.1\r\nHost: h\r\n{form}Content-Length: 1000\r\n\r\nform=answer&answer=accept")
            .as_bytes(),
    );
    let _ = c.shutdown(Shutdown::Write);
    let started = Instant::now();
    let lying = read_all(&mut c, Duration::from_secs(15));
    assert!(lying.closed && started.elapsed() < Duration::from_secs(5));
    assert!(
        lying.status.is_none_or(|c| (400..500).contains(&c)),
        "{}",
        lying.text
    );

    // Huge bodies: 10 MB with a Content-Length, 10 MB chunked, and 10 MB after a head that
    // has neither (so it is no body, but a stream of garbage requests). The body limit answers
    // 413, and at most the first 4 KiB is ever read into memory. Twelve of each at once, with
    // the memory of this process (the server runs in it) measured around the flood.
    let rss_before = vm_rss_kib();
    let flood_started = Instant::now();
    let uploads: Vec<_> = (0..36)
        .map(|i| {
            let token = token.clone();
            std::thread::spawn(move || {
                let ten_mb = 10 * 1024 * 1024;
                let head = |framing: &str| {
                    format!("POST /i/{token} HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}Connection: close\r\n\r\n")
                };
                match i % 3 {
                    0 => (
                        "10 MB with Content-Length",
                        upload(addr, head(&format!("Content-Length: {ten_mb}\r\n")), ten_mb, false),
                    ),
                    1 => (
                        "10 MB chunked",
                        upload(addr, head("Transfer-Encoding: chunked\r\n"), ten_mb, true),
                    ),
                    _ => ("10 MB unframed", upload(addr, head(""), ten_mb, false)),
                }
            })
        })
        .collect();
    let mut statuses = BTreeSet::new();
    for u in uploads {
        let (what, raw) = u.join().unwrap();
        // 413 for a body too large; 400 for the unframed one (no body, so no form); or, if the
        // server closed before this client could read the answer, a clean close.
        assert!(
            raw.status.is_none_or(|c| c == 413 || c == 400) && raw.closed,
            "{what}: {:?} {:.300}",
            raw.status,
            raw.text
        );
        statuses.insert(format!("{what}: {:?}", raw.status));
    }
    let flood_time = flood_started.elapsed();
    let rss_after = vm_rss_kib();
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        // 360 MB went at the server; holding even a third of it would show here.
        assert!(
            a.saturating_sub(b) < 96 * 1024,
            "memory grew from {b} KiB to {a} KiB"
        );
        report.push(format!(
            "36 uploads of 10 MB in {flood_time:.1?}: VmRSS {b} -> {a} KiB"
        ));
    }
    report.extend(statuses);

    assert!(healthy(&s));
    assert_eq!(s.get(&format!("/i/{token}")).status, 200);
    // Only the one GET above opened it; nothing else changed.
    let (mut after, _, opt_outs) = store_state(&s.herald);
    after.iter_mut().for_each(|i| i.opened_at = None);
    let mut was = before.0.clone();
    was.iter_mut().for_each(|i| i.opened_at = None);
    assert_eq!((after, opt_outs), (was, before.2));
    assert_eq!(s.status(id), Status::Queued);
    println!("malformed:\n  {}", report.join("\n  "));
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_do_not_block_the_site() {
    let s = site();
    let (_, token) = s.invite("grace@example.com", None);
    let addr = s.addr;
    let timeout = HEADER_READ_TIMEOUT;
    let started = Instant::now();
    // Slowloris: a request head one byte a second, forever.
    let slow = std::thread::spawn(move || {
        let mut c = connect(addr);
        let t0 = Instant::now();
        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: h\r\n");
        let mut reader = c.try_clone().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_millis(1000)))
            .unwrap();
        let mut buf = [0u8; 1024];
        let mut answer = Vec::new();
        while t0.elapsed() < timeout * 3 {
            match reader.read(&mut buf) {
                Ok(0) => return (Some(t0.elapsed()), answer),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return (Some(t0.elapsed()), answer),
            }
            if c.write_all(b"X").is_err() {
                return (Some(t0.elapsed()), answer);
            }
        }
        (None, answer)
    });
    // 300 connections that send nothing, and 50 that send one request and then idle on the
    // kept-alive connection.
    let mut idle: Vec<TcpStream> = (0..300).map(|_| connect(addr)).collect();
    for _ in 0..50 {
        let mut c = connect(addr);
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 12];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        idle.push(c);
    }
    // Meanwhile the site answers everyone else at once.
    let t = Instant::now();
    assert!(healthy(&s));
    assert_eq!(s.get(&format!("/i/{token}")).status, 200);
    let busy_answer = t.elapsed();
    assert!(busy_answer < Duration::from_secs(3), "{busy_answer:?}");

    let (slow_closed, slow_answer) = slow.join().unwrap();
    let slow_closed = slow_closed.expect("the slowloris was never cut off");
    assert!(
        slow_closed >= timeout - Duration::from_secs(1)
            && slow_closed <= timeout + Duration::from_secs(5),
        "the slowloris was cut off after {slow_closed:?}"
    );
    // Every idle connection is closed too, by the same timeout.
    let deadline = started + timeout + Duration::from_secs(8);
    let mut still_open = 0;
    for c in &mut idle {
        let raw = read_all(c, deadline.saturating_duration_since(Instant::now()));
        still_open += usize::from(!raw.closed);
    }
    assert_eq!(still_open, 0, "idle connections left open");
    assert!(healthy(&s));
    println!(
        "slow: slowloris cut off after {slow_closed:.1?} ({} bytes of answer); 350 idle \
         connections closed within {:.1?}; a normal client waited {busy_answer:.1?}",
        slow_answer.len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Unicode tricks in names and addresses

#[test]
fn direction_overrides_and_invisible_characters_in_names_are_refused_and_nothing_is_stored() {
    let s = site();
    let invite = |recipient: &str, name: Option<&str>, role: Option<&str>, note: Option<&str>| {
        s.herald.create_invitations(&NewInvitations {
            recipients: vec![recipient.to_owned()],
            name: name.map(str::to_owned),
            role: role.map(str::to_owned),
            note: note.map(str::to_owned),
            ..NewInvitations::default()
        })
    };
    // Recipient, --name, role, note, and what the refusal must say.
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
    );
    let refused: &[Case] = &[
        // "Eve" + U+202E + "exe.gnp" shows as "Evepng.exe".
        (
            "Eve\u{202E}exe.gnp <eve@example.com>",
            None,
            None,
            None,
            "text-direction",
        ),
        (
            "eve@example.com",
            Some("Ada \u{2067}Lovelace"),
            None,
            None,
            "text-direction",
        ),
        (
            "eve@example.com",
            None,
            Some("admin\u{200F}"),
            None,
            "text-direction",
        ),
        (
            "eve@example.com",
            None,
            None,
            Some("see \u{202D}here"),
            "text-direction",
        ),
        // Invisible characters that make two names look the same.
        (
            "eve@example.com",
            Some("Ad\u{200B}a Lovelace"),
            None,
            None,
            "invisible",
        ),
        (
            "Ad\u{200D}a <eve@example.com>",
            None,
            None,
            None,
            "invisible",
        ),
        (
            "eve@example.com",
            Some("\u{FEFF}Ada"),
            None,
            None,
            "invisible",
        ),
        (
            "eve@example.com",
            Some("Ada\u{2060}"),
            None,
            None,
            "invisible",
        ),
        ("eve@example.com", Some("\u{3164}"), None, None, "invisible"),
        (
            "eve@example.com",
            None,
            Some("ad\u{00AD}min"),
            None,
            "invisible",
        ),
        (
            "eve@example.com",
            Some("Ada\u{E0041}"),
            None,
            None,
            "invisible",
        ),
        (
            "eve@example.com",
            Some("Ada\u{2028}Bcc"),
            None,
            None,
            "line",
        ),
        // A Cyrillic "а" in the part before the @: not an address Herald sends to.
        ("\u{0430}dmin@example.com", None, None, None, "plain ASCII"),
    ];
    for (recipient, name, role, note, needle) in refused {
        let e = invite(recipient, *name, *role, *note)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{recipient:?} {name:?}: {e}");
    }
    assert!(s
        .herald
        .invitations(&ListFilter::default())
        .unwrap()
        .is_empty());
    // Real names that need joiners keep working: Persian with a ZWNJ, an emoji ZWJ sequence.
    let ok = invite(
        "mehr@example.com",
        Some("مهر\u{200C}آیین"),
        Some("👩\u{200D}💻 engineer"),
        None,
    )
    .unwrap();
    assert_eq!(ok[0].name.as_deref(), Some("مهر\u{200C}آیین"));

    // Team and owner names are checked the same way when Herald is set up.
    let tmp = tempfile::tempdir().unwrap();
    for (team, owner) in [
        ("Rocket\u{202E}maeT", "Ada"),
        ("Rocket Team", "A\u{200B}da"),
    ] {
        let opts = OpenOptions {
            data_dir: tmp.path().join("data"),
            keyring: herald_core::secrets::MemoryKeyring::new().shared(),
            keyring_service: format!("herald-hostile-test-{}-init", std::process::id()),
            clock: herald_core::Clock::manual(crate::common::START),
        };
        let params = InitParams {
            team: team.into(),
            owner_name: owner.into(),
            from: "invites@example.com".into(),
            public_url: "http://127.0.0.1:1".into(),
            ..InitParams::default()
        };
        let Err(e) = Herald::init(opts, &params) else {
            panic!("{team:?} / {owner:?} was accepted");
        };
        let e = e.to_string();
        assert!(
            e.contains("text-direction") || e.contains("invisible"),
            "{e}"
        );
    }
}

#[test]
fn homoglyph_domains_reach_the_owner_and_the_mail_as_punycode() {
    // Markup and non-Latin script in the names the invitee's page shows.
    let s = site_with(
        "<b>Rocket</b> Team",
        "Ада <i>Lovelace</i>",
        SiteConfig::default(),
    );
    // "аpple.com" with a Cyrillic "а" (U+0430): looks like apple.com, is not.
    let created = s
        .herald
        .create_invitations(&NewInvitations {
            recipients: vec![
                "Tim <ceo@\u{0430}pple.com>".to_owned(),
                "p\u{0430}ypal@p\u{0430}ypal.com".to_owned(),
                // Full-width letters are the same domain to DNS: folded, not disguised.
                "it@\u{FF41}pple.com".to_owned(),
            ],
            ..NewInvitations::default()
        })
        .unwrap_err()
        .to_string();
    // The Cyrillic local part above is refused, naming the address.
    assert!(created.contains("plain ASCII"), "{created}");
    let created = s
        .herald
        .create_invitations(&NewInvitations {
            recipients: vec![
                "Tim <ceo@\u{0430}pple.com>".to_owned(),
                "billing@p\u{0430}ypal.com".to_owned(),
                "it@\u{FF41}pple.com".to_owned(),
            ],
            ..NewInvitations::default()
        })
        .unwrap();
    let emails: Vec<&str> = created.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "ceo@xn--pple-43d.com",
            "billing@xn--pypal-4ve.com",
            "it@apple.com"
        ]
    );
    // The owner's listing (what the window's status table shows) has the A-label.
    let listed = s
        .herald
        .list_page(&herald_core::ListQuery {
            status: None,
            search: None,
            sort: herald_core::SortKey::Created,
            descending: false,
            offset: 0,
            limit: 10,
        })
        .unwrap();
    let listed: BTreeSet<&str> = listed.rows.iter().map(|i| i.email.as_str()).collect();
    assert!(listed.contains("ceo@xn--pple-43d.com"), "{listed:?}");
    assert!(listed.iter().all(|e| e.is_ascii()), "{listed:?}");

    // The mail goes to the A-label, and the Unicode display name is encoded, not raw.
    let general = s.herald.general().unwrap();
    let link = s.herald.mint_link(created[0].id).unwrap();
    let mail = herald_core::mail::compose(&general, &created[0], &link, "<x@example.com>").unwrap();
    let mail = String::from_utf8(mail.formatted()).unwrap();
    let to = mail
        .lines()
        .find(|l| l.starts_with("To: "))
        .unwrap_or_default();
    assert_eq!(to, "To: Tim <ceo@xn--pple-43d.com>");
    let from = mail
        .lines()
        .find(|l| l.starts_with("From: "))
        .unwrap_or_default();
    assert!(from.is_ascii() && from.contains("=?utf-8?"), "{from}");

    // The invitee's page: the address as the owner sees it, the names escaped.
    let token = link.token.expose().to_owned();
    let page = s.get(&format!("/i/{token}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ceo@xn--pple-43d.com"));
    assert!(
        !page.body.contains("<b>") && !page.body.contains("<i>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("&#60;b&#62;Rocket&#60;/b&#62; Team"));
    assert!(page.body.contains("Ада &#60;i&#62;Lovelace&#60;/i&#62;"));
}
