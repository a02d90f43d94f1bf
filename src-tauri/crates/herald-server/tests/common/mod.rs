//! What the site tests share: a Herald set up for a team over a real SQLite file and an
//! in-memory keyring, reached either through the site's router called directly ([`pages`]: no
//! socket, for tests of what the pages say and do) or through the real server on a loopback
//! port ([`site`]: for tests of connections, floods and races), and a small blocking HTTP
//! client for the latter.

// Each test file uses its own part of this module; what one leaves unused is not dead.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request};
use axum::Router;
use herald_core::{Clock, Herald, InitParams, NewInvitations, OpenOptions, SiteEvent, Status};
use herald_server::{Events, SiteConfig};
use tempfile::TempDir;
use tower::ServiceExt as _;

pub const START: i64 = 1_900_000_000;

/// A Herald set up for a team, and the site events it reported.
pub struct Team {
    _tmp: TempDir,
    pub herald: Arc<Herald>,
    pub clock: Clock,
    pub events: Arc<Mutex<Vec<SiteEvent>>>,
}

fn team(team: &str, owner: &str) -> Team {
    static N: AtomicU32 = AtomicU32::new(0);
    let tmp = tempfile::tempdir().unwrap();
    let clock = Clock::manual(START);
    let opts = OpenOptions {
        data_dir: tmp.path().join("data"),
        keyring: herald_core::secrets::MemoryKeyring::new().shared(),
        keyring_service: format!(
            "herald-site-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ),
        clock: clock.clone(),
    };
    let params = InitParams {
        team: team.into(),
        owner_name: owner.into(),
        from: "invites@example.com".into(),
        public_url: "http://127.0.0.1:1".into(),
        ..InitParams::default()
    };
    let herald = Arc::new(Herald::init(opts, &params).unwrap().0);
    Team {
        _tmp: tmp,
        herald,
        clock,
        events: Arc::new(Mutex::new(Vec::new())),
    }
}

impl Team {
    /// Where the site reports its events: into `events`.
    fn on_event(&self) -> Events {
        let sink = self.events.clone();
        Arc::new(move |e| sink.lock().unwrap().push(e))
    }
}

/// The real server on a loopback port, stopped when dropped.
pub struct Site {
    team: Team,
    pub base: String,
    /// The listening address, for tests that speak raw TCP.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Deref for Site {
    type Target = Team;
    fn deref(&self) -> &Team {
        &self.team
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn site() -> Site {
    site_with("Rocket Team", "Ada Lovelace", SiteConfig::default())
}

pub fn site_with(team_name: &str, owner: &str, config: SiteConfig) -> Site {
    let team = team(team_name, owner);
    let on_event = team.on_event();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let h = team.herald.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = herald_server::bind("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            herald_server::run(listener, h, config, on_event, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    Site {
        team,
        base: format!("http://{addr}"),
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// The address a [`Pages`] client connects from, as the server would learn it.
pub const PAGES_PEER: &str = "127.0.0.1:40000";
/// The site as a [`Pages`] client names it in `Host`.
pub const PAGES_HOST: &str = "127.0.0.1:8080";

/// The site's router on its own, called with `tower::ServiceExt::oneshot` as axum's testing
/// example does: no socket and no connection loop. The client's address comes from
/// `MockConnectInfo` ([`PAGES_PEER`]), as the real server's connection loop would give it.
pub struct Pages {
    router: Router,
    rt: tokio::runtime::Runtime,
    team: Team,
    /// The site as a browser writes it in `Origin`.
    pub base: String,
}

impl Deref for Pages {
    type Target = Team;
    fn deref(&self) -> &Team {
        &self.team
    }
}

pub fn pages() -> Pages {
    pages_with("Rocket Team", "Ada Lovelace", SiteConfig::default())
}

pub fn pages_with(team_name: &str, owner: &str, config: SiteConfig) -> Pages {
    let team = team(team_name, owner);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Inside the runtime: the router starts its housekeeping tasks on it.
    let router = {
        let _inside = rt.enter();
        herald_server::router(team.herald.clone(), config, team.on_event())
            .layer(MockConnectInfo(PAGES_PEER.parse::<SocketAddr>().unwrap()))
    };
    Pages {
        router,
        rt,
        team,
        base: format!("http://{PAGES_HOST}"),
    }
}

impl Pages {
    /// A request to this site, with the `Host` header a client sends.
    pub fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, PAGES_HOST)
    }

    /// The response of the router to `request`.
    pub fn send(&self, request: Request<Body>) -> Got {
        let router = self.router.clone();
        self.rt.block_on(async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            Got {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            }
        })
    }

    pub fn get(&self, path: &str) -> Got {
        self.send(
            self.request("GET", path)
                .header(header::USER_AGENT, FIREFOX)
                .body(Body::empty())
                .unwrap(),
        )
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Got {
        self.send(with_form(
            self.request("POST", path)
                .header(header::USER_AGENT, FIREFOX),
            form,
        ))
    }

    pub fn accept(&self, token: &str) -> Got {
        self.post(
            &format!("/i/{token}"),
            &[("form", "answer"), ("answer", "accept")],
        )
    }

    /// A GET with these headers and no others (no user agent either).
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut request = self.request("GET", path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap())
    }

    /// A form POST with these headers and no others (no user agent either).
    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Got {
        let mut request = self.request("POST", path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(with_form(request, form))
    }
}

/// `request` with `form` as its urlencoded body, as a browser sends a form.
pub fn with_form(request: axum::http::request::Builder, form: &[(&str, &str)]) -> Request<Body> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    request
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap()
}

/// The user agent the page tests send: a person's browser, not a link scanner.
pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

pub struct Got {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn heading(&self) -> &str {
        self.body
            .split_once("<h1>")
            .and_then(|(_, rest)| rest.split_once("</h1>"))
            .map_or("", |(h, _)| h)
    }
}

pub fn got(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Got {
    let mut r = r.unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    Got {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

impl Team {
    pub fn invite(&self, email: &str, note: Option<&str>) -> (i64, String) {
        let id = self
            .herald
            .create_invitations(&NewInvitations {
                recipients: vec![email.to_owned()],
                note: note.map(str::to_owned),
                role: Some("engineer".into()),
                ..NewInvitations::default()
            })
            .unwrap()[0]
            .id;
        let token = self.herald.mint_link(id).unwrap().token.expose().to_owned();
        (id, token)
    }
    pub fn status(&self, id: i64) -> Status {
        self.herald.invitation(id).unwrap().status
    }
    pub fn snapshot(&self, id: i64) -> (Status, Option<i64>, usize) {
        let i = self.herald.invitation(id).unwrap();
        (
            i.status,
            i.decided_at,
            self.herald.history(id).unwrap().len(),
        )
    }
}

impl Site {
    pub fn get(&self, path: &str) -> Got {
        got(agent()
            .get(&format!("{}{path}", self.base))
            .header("User-Agent", FIREFOX)
            .call())
    }
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Got {
        got(agent()
            .post(&format!("{}{path}", self.base))
            .header("User-Agent", FIREFOX)
            .send_form(form.iter().copied()))
    }
    pub fn accept(&self, token: &str) -> Got {
        self.post(
            &format!("/i/{token}"),
            &[("form", "answer"), ("answer", "accept")],
        )
    }
}
