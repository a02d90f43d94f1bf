//! The least a confirmation site can do, with nothing of Herald's around it: the reference
//! beside which `scripts/bench-site.sh` shows Herald's link page and accept.
//!
//! `bare-axum DATABASE PORT N TOKENS_FILE` makes a SQLite file with N pending invitations
//! (WAL, `synchronous = NORMAL`, as Herald's store), writes one link path (`/i/<token>`) a line
//! to TOKENS_FILE, and serves on 127.0.0.1:PORT:
//! - `GET /i/<token>`: decode the token, check its HMAC-SHA256 (constant time), read the
//!   invitation by id, answer a 3 KB page;
//! - `POST /i/<token>`: the same check, then one conditional UPDATE (pending to accepted) on the
//!   one write connection, and a 3 KB page saying whether this request accepted it.
//!
//! No rate limits, time limits, body caps, security headers, audit rows, templates or counts:
//! everything Herald does beyond this is its own cost.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A token is the invitation's id (8 bytes, big-endian) and the MAC of those bytes.
const TOKEN_BYTES: usize = 8 + 32;

struct Site {
    key: HmacSha256,
    path: String,
    writer: Mutex<Connection>,
}

thread_local! {
    /// One read connection per runtime thread, opened on first use: reads never wait on the
    /// writer in WAL mode.
    static READER: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

fn open(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl Site {
    fn mint(&self, id: i64) -> String {
        let mut mac = self.key.clone();
        mac.update(&id.to_be_bytes());
        let mut bytes = id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The invitation id a token vouches for, if its MAC is right.
    fn verify(&self, token: &str) -> Option<i64> {
        let mut bytes = [0u8; TOKEN_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(token, &mut bytes) {
            Ok(TOKEN_BYTES) => {}
            _ => return None,
        }
        let (id, tag) = bytes.split_at(8);
        let mut mac = self.key.clone();
        mac.update(id);
        mac.verify_slice(tag).ok()?;
        Some(i64::from_be_bytes(id.try_into().ok()?))
    }

    fn read(&self, id: i64) -> rusqlite::Result<Option<(String, String)>> {
        READER.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(open(&self.path)?);
            }
            let conn = slot.as_ref().expect("opened above");
            let mut select =
                conn.prepare_cached("SELECT email, status FROM invitations WHERE id = ?1")?;
            select
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
    }

    fn accept(&self, id: i64) -> rusqlite::Result<bool> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .prepare_cached(
                "UPDATE invitations SET status = 'accepted', decided_at = unixepoch()
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute([id])?;
        Ok(n == 1)
    }
}

/// A page of about 3 KB, as Herald's link page is: a heading, a line, and filler text.
fn page(heading: &str, line: &str) -> Html<String> {
    let mut body = String::with_capacity(3200);
    let _ = write!(
        body,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{heading}</title>\
         </head><body><main><h1>{heading}</h1><p>{line}</p>"
    );
    while body.len() < 3000 {
        body.push_str("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>");
    }
    body.push_str("</main></body></html>");
    Html(body)
}

fn failed(e: rusqlite::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn show(State(site): State<Arc<Site>>, Path(token): Path<String>) -> Response {
    let Some(id) = site.verify(&token) else {
        return (
            StatusCode::NOT_FOUND,
            page("Not valid", "This link is not valid."),
        )
            .into_response();
    };
    match site.read(id) {
        Ok(Some((email, status))) => {
            page("You are invited", &format!("{email}: {status}")).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            page("Not valid", "No such invitation."),
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

async fn answer(
    State(site): State<Arc<Site>>,
    Path(token): Path<String>,
    _form: String,
) -> Response {
    let Some(id) = site.verify(&token) else {
        return (
            StatusCode::NOT_FOUND,
            page("Not valid", "This link is not valid."),
        )
            .into_response();
    };
    match site.accept(id) {
        Ok(true) => page("Welcome", "You have accepted the invitation.").into_response(),
        Ok(false) => page("Welcome", "You have already accepted it.").into_response(),
        Err(e) => failed(e),
    }
}

fn seed(conn: &mut Connection, n: i64) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE invitations (id INTEGER PRIMARY KEY, email TEXT NOT NULL,
             status TEXT NOT NULL, decided_at INTEGER)",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO invitations (id, email, status) VALUES (?1, ?2, 'pending')")?;
        for id in 1..=n {
            insert.execute(rusqlite::params![id, format!("person{id}@example.com")])?;
        }
    }
    tx.commit()
}

fn usage() -> ! {
    eprintln!("usage: bare-axum DATABASE PORT N TOKENS_FILE");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, port, n, tokens] = args.as_slice() else {
        usage()
    };
    let (Ok(port), Ok(n)) = (port.parse::<u16>(), n.parse::<i64>()) else {
        usage()
    };
    let run = async {
        let mut writer = open(path)?;
        seed(&mut writer, n)?;
        // A fixed key: the reference only has to cost what a MAC costs.
        let key = HmacSha256::new_from_slice(&[7u8; 32])?;
        let site = Arc::new(Site {
            key,
            path: path.clone(),
            writer: Mutex::new(writer),
        });
        let mut lines = String::new();
        for id in 1..=n {
            let _ = writeln!(lines, "/i/{}", site.mint(id));
        }
        std::fs::write(tokens, lines)?;
        let app = Router::new()
            .route("/i/{token}", get(show).post(answer))
            .with_state(site);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("bare-axum: listening on 127.0.0.1:{port} with {n} invitations");
        axum::serve(listener, app).await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    };
    if let Err(e) = run.await {
        eprintln!("bare-axum: {e}");
        std::process::exit(1);
    }
}
