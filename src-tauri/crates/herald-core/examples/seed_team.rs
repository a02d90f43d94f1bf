//! Fills a new data folder with a big team's history, through Herald's own API, for the
//! window's benchmarks (scripts/bench-app.sh) and for trying the owner's screens at scale.
//!
//! ```sh
//! HERALD_KEYRING_SERVICE=herald-seed scripts/with-keyring.sh \
//!     cargo run --release -p herald-core --example seed_team -- DATA_DIR N SITE_PORT SMTP_PORT
//! ```
//!
//! N invitations are spread over the last 60 days and go through the real outbox path
//! (claimed, then recorded as sent or, for 2 %, refused by the server) and the real answer
//! path (about 45 % accept and 8 % decline through their links), so the store holds what
//! the same history would have left: statuses, audit rows, links, daily tallies. The clock is
//! Herald's manual clock, moved forward as the days go by; the last day ends now. SMTP points
//! at 127.0.0.1:SMTP_PORT without TLS and the public URL at http://127.0.0.1:SITE_PORT, so the
//! window opened on this folder skips the first-run setup.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use herald_core::{
    Answer, Clock, Delivery, Herald, InitParams, NewInvitations, OpenOptions, SmtpParams, TlsMode,
    MAX_BATCH,
};

const DAYS: i64 = 60;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed_team: {e}");
            ExitCode::FAILURE
        }
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T, String> {
    args.get(i)
        .ok_or_else(|| format!("missing {what}; usage: seed_team DATA_DIR N SITE_PORT SMTP_PORT"))?
        .parse()
        .map_err(|_| format!("{what} must be a number, not {:?}", args[i]))
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().ok_or("missing DATA_DIR")?);
    let n: usize = arg(&args, 1, "N")?;
    let site_port: u16 = arg(&args, 2, "SITE_PORT")?;
    let smtp_port: u16 = arg(&args, 3, "SMTP_PORT")?;
    let service =
        std::env::var("HERALD_KEYRING_SERVICE").map_err(|_| "set HERALD_KEYRING_SERVICE")?;

    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let start = now - DAYS * 86_400;
    let clock = Clock::manual(start);
    let opts = OpenOptions {
        data_dir: dir,
        keyring: herald_core::secrets::OsKeyring::shared(),
        keyring_service: service,
        clock: clock.clone(),
    };
    let (h, _) = Herald::init(
        opts,
        &InitParams {
            team: "Analytical Engines".into(),
            owner_name: "Ada Lovelace".into(),
            from: "invites@analytical-engines.example".into(),
            public_url: format!("http://127.0.0.1:{site_port}"),
            ..InitParams::default()
        },
    )?;
    h.set_smtp(&SmtpParams {
        host: "127.0.0.1".into(),
        port: smtp_port,
        tls: TlsMode::None,
        user: None,
        password: None,
        allow_insecure: false,
        ca_file: None,
        bounce_address: None,
    })?;
    // The last setup step, done here so that even a team with no invitations yet opens on
    // the main window rather than the first-run setup (creating invitations would do it too).
    h.ensure_key()?;

    let began = Instant::now();
    let per_day = n.div_ceil(DAYS as usize).max(1);
    let mut made = 0usize;
    let mut day = 0i64;
    while made < n {
        // Morning: the day's invitations, in batches as the window sends them.
        let today = per_day.min(n - made);
        let mut left = today;
        while left > 0 {
            let batch = left.min(MAX_BATCH);
            let recipients = (made..made + batch)
                .map(|i| format!("Person {i} <person{i}@team{}.example>", i % 7))
                .collect();
            h.create_invitations(&NewInvitations {
                recipients,
                role: Some(
                    if made.is_multiple_of(10) {
                        "admin"
                    } else {
                        "member"
                    }
                    .into(),
                ),
                ..NewInvitations::default()
            })?;
            made += batch;
            left -= batch;
        }
        // Mailed within minutes; 2 % refused by the server.
        clock.advance(300);
        loop {
            let claims = h.claim_due(MAX_BATCH)?;
            if claims.is_empty() {
                break;
            }
            let mut done = Vec::with_capacity(claims.len());
            let mut answers = Vec::new();
            for c in claims {
                let id = c.invitation.id;
                let outcome = if id % 50 == 7 {
                    Delivery::Failed {
                        reason: "550 5.1.1 <person@team.example>: Recipient address rejected"
                            .into(),
                        hint: None,
                    }
                } else {
                    match id % 100 {
                        0..=44 => answers.push((c.link.token.expose().to_owned(), Answer::Accept)),
                        45..=52 => answers.push((
                            c.link.token.expose().to_owned(),
                            Answer::Decline { never_again: false },
                        )),
                        _ => {}
                    }
                    Delivery::Sent {
                        message_id: format!("<seed.{id}@analytical-engines.example>"),
                        reply: format!("250 2.0.0 Ok: queued as S{id:06}"),
                    }
                };
                done.push((c, outcome));
            }
            h.record_deliveries(&done)?;
            // Answers come in over the following hour.
            clock.advance(3600);
            for (token, answer) in answers {
                h.answer_link(&token, answer)?;
            }
        }
        day += 1;
        let next = (start + day * 86_400).min(now);
        let at = clock.now();
        if next > at {
            clock.advance(next - at);
        }
    }
    eprintln!(
        "seed_team: {n} invitations over {DAYS} days in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
