//! The fixture both site test files share: the real server on a loopback port, over a real
//! SQLite file and an in-memory keyring, and a small blocking HTTP client.

// Each test file uses its own part of this module; what one leaves unused is not dead.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use herald_core::{Clock, Herald, InitParams, NewInvitations, OpenOptions, SiteEvent, Status};
use herald_server::{Events, SiteConfig};
use tempfile::TempDir;

pub const START: i64 = 1_900_000_000;

pub struct Site {
    _tmp: TempDir,
    pub herald: Arc<Herald>,
    pub clock: Clock,
    pub base: String,
    /// The listening address, for tests that speak raw TCP.
    pub addr: SocketAddr,
    pub events: Arc<Mutex<Vec<SiteEvent>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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

pub fn site_with(team: &str, owner: &str, config: SiteConfig) -> Site {
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
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let on_event: Events = Arc::new(move |e| sink.lock().unwrap().push(e));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let h = herald.clone();
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
        _tmp: tmp,
        herald,
        clock,
        base: format!("http://{addr}"),
        addr,
        events,
        stop: Some(stop),
        thread: Some(thread),
    }
}

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

impl Site {
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
    pub fn get(&self, path: &str) -> Got {
        got(agent()
            .get(&format!("{}{path}", self.base))
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
            )
            .call())
    }
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Got {
        got(agent()
            .post(&format!("{}{path}", self.base))
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
            )
            .send_form(form.iter().copied()))
    }
    pub fn accept(&self, token: &str) -> Got {
        self.post(
            &format!("/i/{token}"),
            &[("form", "answer"), ("answer", "accept")],
        )
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
