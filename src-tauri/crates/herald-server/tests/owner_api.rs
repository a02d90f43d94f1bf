//! The owner API's transport (issue #16), over real sockets on loopback: TLS with Herald's own
//! certificate, clients that pin the key (or capture it, for pairing), a restart that keeps the
//! pin, a machine in the middle that cannot keep it, and the site's limits on this listener too.
//! The router is a stand-in: what the API does is tested with its own router elsewhere.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use herald_core::owner_tls::{
    client_config, spki_sha256, IdentityOrigin, PinMismatch, PinMode, ServerIdentity,
};
use herald_core::secrets::{Keyring, MemoryKeyring};
use herald_server::{owner_bind_allowed, run_owner_api, SiteConfig, HEADER_READ_TIMEOUT};
use herald_testkit::TlsInterceptor;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A tiny owner API: who is asking (as the router learns it), and an upload that reads its body.
fn router(served: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/upload", post(upload))
        .with_state(served)
}

async fn whoami(
    State(served): State<Arc<AtomicUsize>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Json<serde_json::Value> {
    served.fetch_add(1, Ordering::SeqCst);
    Json(serde_json::json!({ "peer": peer.to_string() }))
}

async fn upload(body: Bytes) -> String {
    body.len().to_string()
}

/// The owner API on a loopback port of this test's runtime; [`OwnerApi::stop`] stops it.
struct OwnerApi {
    addr: SocketAddr,
    served: Arc<AtomicUsize>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl OwnerApi {
    async fn start(identity: Option<&ServerIdentity>) -> OwnerApi {
        let listener = herald_server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let tls = identity.map(|i| i.server_config(&["herald.example.org"]).unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(served.clone());
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            run_owner_api(listener, tls, app, SiteConfig::default(), shutdown)
                .await
                .unwrap();
        });
        OwnerApi {
            addr,
            served,
            stop,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// reqwest as the remote client will use it: rustls configured by `herald_core::owner_tls`.
fn client(mode: PinMode) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(mode))
        // Straight to the address asked for: loopback tests must not meet a proxy from the
        // environment.
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn whoami_as(client: &reqwest::Client, url: &str) -> reqwest::Result<serde_json::Value> {
    let response = client.get(url).send().await?;
    assert_eq!(response.status(), 200);
    response.json().await
}

/// Why a request failed, if it was the pin (see [`PinMismatch::find_in`]).
fn pin_mismatch(e: &reqwest::Error) -> Option<PinMismatch> {
    PinMismatch::find_in(e).cloned()
}

fn keyring() -> Keyring {
    Keyring::new(MemoryKeyring::new().shared(), "svc", "install")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_client_is_served_and_the_router_sees_its_address() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let pinned = client(PinMode::Pin(identity.spki_sha256()));
    let answer = whoami_as(&pinned, &api.url("/whoami")).await.unwrap();
    let peer: SocketAddr = answer["peer"].as_str().unwrap().parse().unwrap();
    assert_eq!(peer.ip().to_string(), "127.0.0.1");
    // Any name reaches it: the key is the identity, not the host name.
    let by_ip = format!("https://127.0.0.1:{}/whoami", api.addr.port());
    whoami_as(&pinned, &by_ip).await.unwrap();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_fails_the_handshake_and_nothing_is_served() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let mut wrong = identity.spki_sha256();
    wrong[0] ^= 1;
    let e = client(PinMode::Pin(wrong))
        .get(api.url("/whoami"))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    let mismatch = pin_mismatch(&e).unwrap_or_else(|| panic!("no PinMismatch in {e:?}"));
    assert_eq!(mismatch.found, identity.spki_sha256());
    assert_eq!(api.served.load(Ordering::SeqCst), 0);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_records_the_key_of_the_server_it_talked_to() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let (mode, seen) = PinMode::capture();
    whoami_as(&client(mode), &api.url("/whoami")).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(identity.spki_sha256()));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_pin_and_a_new_key_breaks_it() {
    let keyring = keyring();
    let (first, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
    assert_eq!(origin, IdentityOrigin::Made);
    let pin = first.spki_sha256();
    let api = OwnerApi::start(Some(&first)).await;
    let (mode, seen) = PinMode::capture();
    whoami_as(&client(mode), &api.url("/whoami")).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(pin));
    api.stop().await;
    drop(first);

    // A restart: the key from the keyring, a certificate made anew from it.
    let (again, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
    assert_eq!(origin, IdentityOrigin::Kept);
    let api = OwnerApi::start(Some(&again)).await;
    let pinned = client(PinMode::Pin(pin));
    whoami_as(&pinned, &api.url("/whoami")).await.unwrap();
    api.stop().await;

    // The key lost: a new one is made, and the old pin no longer opens anything.
    keyring.delete_owner_api_tls_key().unwrap();
    let (other, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
    assert!(origin.owners_must_pair_again());
    assert_ne!(other.spki_sha256(), pin);
    let api = OwnerApi::start(Some(&other)).await;
    let e = client(PinMode::Pin(pin))
        .get(api.url("/whoami"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(pin_mismatch(&e).map(|m| m.found), Some(other.spki_sha256()));
    assert_eq!(api.served.load(Ordering::SeqCst), 0);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_only_on_loopback() {
    let refused = owner_bind_allowed("0.0.0.0:8751".parse().unwrap(), true).unwrap_err();
    assert!(refused.to_string().contains("loopback"), "{refused}");
    assert!(owner_bind_allowed("0.0.0.0:8751".parse().unwrap(), false).is_ok());
    assert!(owner_bind_allowed("127.0.0.1:8751".parse().unwrap(), true).is_ok());

    // Behind a proxy on this machine that terminates TLS: plain HTTP on loopback.
    let api = OwnerApi::start(None).await;
    owner_bind_allowed(api.addr, true).unwrap();
    let plain = client(PinMode::Pin([0; 32]));
    let url = format!("http://{}/whoami", api.addr);
    whoami_as(&plain, &url).await.unwrap();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_intercepting_proxy_the_pin_fails_and_capture_sees_the_proxy() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let proxy = TlsInterceptor::start(api.addr);
    let through = format!("https://localhost:{}/whoami", proxy.addr().port());
    // The proxy relays faithfully: a client that trusts anything is served through it.
    let (mode, seen) = PinMode::capture();
    whoami_as(&client(mode), &through).await.unwrap();
    let proxy_pin = spki_sha256(proxy.spki_der());
    assert_eq!(*seen.lock().unwrap(), Some(proxy_pin));
    assert_ne!(proxy_pin, identity.spki_sha256());
    assert_eq!(api.served.load(Ordering::SeqCst), 1);

    let e = client(PinMode::Pin(identity.spki_sha256()))
        .get(&through)
        .send()
        .await
        .unwrap_err();
    assert_eq!(pin_mismatch(&e).map(|m| m.found), Some(proxy_pin));
    assert_eq!(api.served.load(Ordering::SeqCst), 1, "nothing more served");
    drop(proxy);
    api.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The site's limits, on the owner listener

/// A TLS connection to the owner API as a pinned client, for raw HTTP.
async fn tls_connect(
    addr: SocketAddr,
    pin: [u8; 32],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(PinMode::Pin(pin))));
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads until the server closes or `within` passes: what came, and whether it closed.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> (String, bool) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            // A reset, or TLS ended without its close_notify: closed all the same.
            Ok(Err(e)) if e.kind() != ErrorKind::WouldBlock => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Ok(Err(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_on_the_owner_listener_too() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let (addr, pin) = (api.addr, identity.spki_sha256());
    let timeout = HEADER_READ_TIMEOUT;
    let window = |closed_after: Duration| {
        closed_after >= timeout - Duration::from_secs(1)
            && closed_after <= timeout + Duration::from_secs(5)
    };
    // Connects and never says hello.
    let silent = tokio::spawn(async move {
        let t0 = Instant::now();
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let (_, closed) = read_until_closed(&mut tcp, timeout * 3).await;
        closed.then(|| t0.elapsed())
    });
    // Completes the handshake, then sends its head one byte a second, forever.
    let slow = tokio::spawn(async move {
        let mut tls = tls_connect(addr, pin).await;
        let t0 = Instant::now();
        tls.write_all(b"GET /whoami HTTP/1.1\r\nHost: h\r\n")
            .await
            .unwrap();
        tls.flush().await.unwrap();
        while t0.elapsed() < timeout * 3 {
            let (_, closed) = read_until_closed(&mut tls, Duration::from_secs(1)).await;
            if closed || tls.write_all(b"X").await.is_err() || tls.flush().await.is_err() {
                return Some(t0.elapsed());
            }
        }
        None
    });
    // Meanwhile a pinned client is served at once.
    let t = Instant::now();
    whoami_as(&client(PinMode::Pin(pin)), &api.url("/whoami"))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    let silent = silent
        .await
        .unwrap()
        .expect("a silent connection was never closed");
    assert!(
        window(silent),
        "a silent connection was closed after {silent:?}"
    );
    let slow = slow
        .await
        .unwrap()
        .expect("the slowloris was never cut off");
    assert!(window(slow), "the slowloris was cut off after {slow:?}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_cap_are_refused_on_the_owner_listener_too() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let pin = identity.spki_sha256();
    let too_big = herald_server::OWNER_MAX_BODY + 1;

    // Within the cap, the handler reads it all.
    let fits = client(PinMode::Pin(pin))
        .post(api.url("/upload"))
        .body(vec![b'a'; herald_server::OWNER_MAX_BODY])
        .send()
        .await
        .unwrap();
    assert_eq!(fits.status(), 200);
    assert_eq!(
        fits.text().await.unwrap(),
        herald_server::OWNER_MAX_BODY.to_string()
    );

    // Announced too large: refused before a byte of it is read.
    let mut tls = tls_connect(api.addr, pin).await;
    let head = format!("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: {too_big}\r\n\r\n");
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let (answer, closed) = read_until_closed(&mut tls, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.300}");
    assert!(closed, "the connection with an unread body stays open");

    // Chunked, so only reading tells: cut off at the cap, 10 MB sent at it.
    let mut tls = tls_connect(api.addr, pin).await;
    tls.write_all(b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = tokio::io::split(tls);
    let sender = tokio::spawn(async move {
        let piece = vec![b'a'; 64 * 1024];
        for _ in 0..160 {
            let chunk = [format!("{:x}\r\n", piece.len()).as_bytes(), &piece, b"\r\n"].concat();
            if writer.write_all(&chunk).await.is_err() || writer.flush().await.is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
        let _ = writer.flush().await;
    });
    let (answer, _) = read_until_closed(&mut reader, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.300}");
    sender.abort();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_on_the_owner_listener_too() {
    let identity = ServerIdentity::generate().unwrap();
    let api = OwnerApi::start(Some(&identity)).await;
    let pinned = client(PinMode::Pin(identity.spki_sha256()));
    let started = Instant::now();
    let mut statuses = Vec::new();
    let mut refusal = None;
    let burst = herald_server::OWNER_BURST as usize;
    for _ in 0..burst + 20 {
        let response = pinned.get(api.url("/whoami")).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 && refusal.is_none() {
            let retry = response.headers().get("retry-after").cloned();
            let body: serde_json::Value = response.json().await.unwrap();
            refusal = Some((retry, body));
        }
    }
    let first_429 = statuses.iter().position(|&s| s == 429).expect("no 429");
    // What refilled while the loop ran: ten a second.
    let refill = (started.elapsed().as_secs_f64() * herald_server::OWNER_PER_MINUTE as f64 / 60.0)
        .ceil() as usize
        + 1;
    assert!(
        (burst..=burst + refill).contains(&first_429),
        "first 429 at {first_429}: {statuses:?}"
    );
    let (retry, body) = refusal.unwrap();
    assert_eq!(retry.unwrap(), "60");
    assert_eq!(body["error"], "too_many_requests");
    api.stop().await;
}
