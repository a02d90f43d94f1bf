use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use herald_api::types::{InvitationId, RenewInput};
use herald_api::{ApiError, Client, Connection, Local, Reason, WatchItem, PROTOCOL_HEADER};
use herald_core::owner_tls::{client_config, PinMode, ServerIdentity};
use herald_core::secrets::{Keyring, MemoryKeyring};
use herald_core::{
    AuditAction, Clock, ErrorKind, Herald, InitParams, ListFilter, ListQuery, NewInvitations,
    OpenOptions, Status,
};
use secrecy::ExposeSecret;

const START: i64 = 1_800_000_000;

/// A server Herald (its own folder, keyring and clock) with its owner API on a loopback port.
struct Server {
    _dir: tempfile::TempDir,
    herald: Arc<Herald>,
    clock: Clock,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(START);
        let opts = OpenOptions {
            data_dir: dir.path().to_owned(),
            keyring: MemoryKeyring::new().shared(),
            keyring_service: "herald-api-test".into(),
            clock: clock.clone(),
        };
        let params = InitParams {
            team: "Rocket Team".into(),
            owner_name: "Grace Hopper".into(),
            from: "invites@example.com".into(),
            public_url: "https://invite.example.com".into(),
            ..InitParams::default()
        };
        let herald = Arc::new(Herald::init(opts, &params).unwrap().0);
        let identity = ServerIdentity::generate().unwrap();
        let tls = identity.server_config(&["localhost"]).unwrap();
        let listener = herald_server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let router =
            herald_api::http::router(Local::new(herald.clone()), Some(identity.spki_sha256()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(herald_server::run_owner_api(
            listener,
            Some(tls),
            router,
            herald_server::SiteConfig::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        Server {
            _dir: dir,
            herald,
            clock,
            url,
            stop: Some(stop),
        }
    }

    fn code(&self, name: &str) -> String {
        self.herald
            .add_owner(name)
            .unwrap()
            .code
            .expose_secret()
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// An owner's computer: a data folder and a keyring of its own.
struct Owner {
    dir: tempfile::TempDir,
    keyring: MemoryKeyring,
}

impl Owner {
    fn new() -> Owner {
        Owner {
            dir: tempfile::tempdir().unwrap(),
            keyring: MemoryKeyring::new(),
        }
    }

    async fn pair(&self, server: &Server, code: &str) -> Result<Connection, ApiError> {
        herald_api::connect::pair(
            &server.url,
            code,
            self.dir.path(),
            self.keyring.shared(),
            START,
        )
        .await
    }

    fn client(&self) -> Client {
        let c = Connection::load(self.dir.path()).unwrap().unwrap();
        Client::Remote(c.remote(self.keyring.shared()).unwrap())
    }

    /// Nothing kept: no connection file, no credential.
    fn assert_empty(&self) {
        assert!(folder_is_empty(self.dir.path()));
        assert!(self
            .keyring
            .accounts(&Keyring::service_from_env())
            .is_empty());
    }
}

fn folder_is_empty(p: &Path) -> bool {
    std::fs::read_dir(p).unwrap().next().is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_computer_gets_the_same_answers_as_the_server_itself() {
    let server = Server::start().await;
    let owner = Owner::new();
    let c = owner.pair(&server, &server.code("Ada")).await.unwrap();
    assert_eq!(c.url, server.url);
    let remote = owner.client();
    let local = Client::Local(Local::new(server.herald.clone()));

    let made = remote
        .create_invitations(NewInvitations {
            recipients: vec!["Ada Lovelace <ada@example.com>".into()],
            ..NewInvitations::default()
        })
        .await
        .unwrap();
    assert_eq!(made.len(), 1);
    let id = made[0].id;
    // One store behind both doors.
    let q = ListQuery {
        status: None,
        search: None,
        sort: Default::default(),
        descending: false,
        offset: 0,
        limit: 50,
    };
    assert_eq!(
        remote.list_invitations(q.clone()).await.unwrap(),
        local.list_invitations(q).await.unwrap()
    );
    let detail = remote.invitation_detail(InvitationId { id }).await.unwrap();
    assert_eq!(detail.invitation.email, "ada@example.com");
    assert_eq!(detail.history[0].action, AuditAction::Created);
    let revoked = remote.revoke(InvitationId { id }).await.unwrap();
    assert_eq!(revoked.status, Status::Revoked);

    // A core refusal arrives whole: kind, message and hint, for the face to word.
    let e = remote
        .renew(RenewInput {
            id: 999,
            expires: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Request);
    assert_eq!(e.message, "there is no invitation #999");
    assert_eq!(e.reason, None);
    assert_eq!(
        remote.invitations(ListFilter::default()).await.unwrap(),
        local.invitations(ListFilter::default()).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_refused_and_nothing_is_kept() {
    let server = Server::start().await;
    let code = server.code("Ada");
    server.clock.advance(15 * 60 + 1);
    let owner = Owner::new();
    let e = owner.pair(&server, &code).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Request, "{e}");
    assert!(e.message.contains("expired"), "{e}");
    owner.assert_empty();
    assert!(!server.herald.owners().unwrap()[0].paired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_code_is_refused_and_nothing_is_kept() {
    let server = Server::start().await;
    let code = server.code("Ada");
    Owner::new().pair(&server, &code).await.unwrap();
    let second = Owner::new();
    let e = second.pair(&server, &code).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Request);
    assert!(e.message.contains("already been used"), "{e}");
    second.assert_empty();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_owner_is_refused_and_its_stream_ends() {
    let server = Server::start().await;
    let owner = Owner::new();
    let c = owner.pair(&server, &server.code("Ada")).await.unwrap();
    let client = owner.client();
    let mut events = client.watch(Some(0)).await.unwrap();
    server
        .herald
        .create_invitations(&NewInvitations {
            recipients: vec!["bob@example.com".into()],
            ..NewInvitations::default()
        })
        .unwrap();
    // Everything so far, in order, then the new invitation.
    let mut seen = Vec::new();
    while !seen.contains(&AuditAction::Created) {
        match tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
        {
            Some(Ok(WatchItem::Event(e))) => seen.push(e.entry.action),
            other => panic!("{other:?}"),
        }
    }
    server.herald.remove_owner(c.owner_id).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(3), events.next())
        .await
        .expect("the stream of a removed owner did not end at once");
    let e = match ended {
        Some(Err(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.reason, Some(Reason::NotAuthorized));
    assert!(events.next().await.is_none());
    let e = client.limits(()).await.unwrap_err();
    assert_eq!(e.reason, Some(Reason::NotAuthorized));
    assert!(e.message.contains("access was removed"), "{e}");
}

/// Raw requests, as something other than Herald's client would send them.
async fn raw(
    server: &Server,
    pin: [u8; 32],
    path: &str,
    protocol: &str,
    auth: Option<&str>,
) -> (u16, serde_json::Value) {
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(PinMode::Pin(pin)))
        .build()
        .unwrap();
    let mut r = http
        .post(format!("{}{path}", server.url))
        .header(PROTOCOL_HEADER, protocol)
        .json(&serde_json::Value::Null);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_what_it_cannot_trust_and_says_why() {
    let server = Server::start().await;
    let owner = Owner::new();
    let c = owner.pair(&server, &server.code("Ada")).await.unwrap();
    let pin = c.pin().unwrap();
    let credential = herald_core::secrets::OwnerCredentials::new(
        owner.keyring.shared(),
        Keyring::service_from_env(),
    )
    .get(&c.url)
    .unwrap()
    .unwrap();
    let bearer = format!("Bearer {}", credential.expose().expose_secret());

    // No credential, a forged one: 401, and nothing ran.
    let forged = format!("Bearer herald1.{}.{}", c.owner_id, "A".repeat(43));
    for auth in [None, Some(forged.as_str()), Some("Bearer")] {
        let (status, body) = raw(&server, pin, "/v1/ops/rotate_key", "1", auth).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(body["reason"], "not-authorized");
    }
    assert!(server.herald.key_status().unwrap().versions.len() <= 1);

    // Another protocol: refused before anything, in words naming both.
    let (status, body) = raw(&server, pin, "/v1/ops/limits", "99", Some(&bearer)).await;
    assert_eq!(status, 400);
    assert_eq!(body["reason"], "version");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("protocol 1") && message.contains("99"),
        "{message}"
    );

    // An operation that does not exist, an input that does not fit.
    let (status, body) = raw(&server, pin, "/v1/ops/drop_tables", "1", Some(&bearer)).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("drop_tables"));
    let (status, body) = raw(&server, pin, "/v1/ops/resend", "1", Some(&bearer)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("resend"));

    // The real credential works.
    let (status, _) = raw(&server, pin, "/v1/ops/limits", "1", Some(&bearer)).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_never_reaches_the_server() {
    let server = Server::start().await;
    let owner = Owner::new();
    let c = owner.pair(&server, &server.code("Ada")).await.unwrap();
    let wrong = herald_api::connect::Connection {
        pin: herald_core::owner_tls::pin_text(&[7u8; 32]),
        ..c
    };
    let client = Client::Remote(wrong.remote(owner.keyring.shared()).unwrap());
    let e = client.limits(()).await.unwrap_err();
    assert_eq!(e.reason, Some(Reason::Unreachable), "{e}");
}
