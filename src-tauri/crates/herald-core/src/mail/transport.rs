//! The SMTP sessions: STARTTLS required, implicit TLS, or plaintext (which the settings allow
//! only to this machine or by explicit choice); AUTH with the password from the keyring; idle
//! sessions reused across a batch; timeouts so a silent server cannot hold the outbox.
//!
//! lettre speaks SMTP, but Herald opens the sockets: lettre's own transport leaves Nagle's
//! algorithm on, and since it writes a message's end (`.`) separately from its body, every mail
//! then waits 40 ms for the server's delayed ACK (lettre/lettre#1159). With TCP_NODELAY a
//! session sends as fast as the server answers.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{
    ClientId, Extension, MailBodyParameter, MailParameter, RcptParameter,
};
use lettre::transport::smtp::response::Response;
use lettre::{Address, Message};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::ErrorKind;
use crate::hint::Hint;
use crate::outbox::Delivery;
use crate::settings::{Smtp, TlsMode};

/// The longest any one step (connecting, a whole transaction) may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// A session idle longer than this is asked whether it is still there (NOOP) before reuse...
const CHECK_AFTER: Duration = Duration::from_secs(2);
/// ...and one idle longer than this is closed: servers drop idle clients after a few minutes.
const CLOSE_AFTER: Duration = Duration::from_secs(60);
/// AUTH mechanisms, best first; both only ever run over TLS or to this machine.
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP is not set up yet")]
    NotConfigured,
    #[error("the SMTP settings cannot be used: {0}")]
    Settings(String),
    #[error("the invitation mail could not be written: {0}")]
    Template(String),
    #[error("{0:?} cannot be used as a mail address")]
    Address(String),
    #[error("the invitation mail could not be assembled: {0}")]
    Build(String),
}

impl MailError {
    /// How a face should treat it: no settings is the owner's to fix; the rest is Herald's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MailError::NotConfigured => ErrorKind::Request,
            _ => ErrorKind::Environment,
        }
    }

    /// The way forward, for each face to word.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            MailError::NotConfigured => Some(Hint::SetSmtp),
            MailError::Settings(_) => Some(Hint::CheckSmtp),
            _ => None,
        }
    }
}

/// A configured mail server and its idle sessions. Clones share the sessions; as many mails
/// go out side by side as callers send at once.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Smtp,
    sender: String,
    /// The address bounces go to (`MAIL FROM`): the bounce address of the settings, or else
    /// the sender.
    envelope_from: Address,
    credentials: Option<Credentials>,
    tls: TlsSetup,
    hello: ClientId,
    idle: Mutex<Vec<Idle>>,
}

enum TlsSetup {
    None,
    /// lettre upgrades the session after EHLO.
    Starttls(TlsParameters),
    /// TLS from the first byte: rustls, before lettre sees the stream.
    Implicit(tokio_rustls::TlsConnector, ServerName<'static>),
}

struct Idle {
    session: Session,
    since: Instant,
}

/// An open SMTP session and what its server offers beyond what lettre tracks.
struct Session {
    conn: AsyncSmtpConnection,
    /// The server announced DSN (RFC 3461): bounces can be asked to carry headers only.
    dsn: bool,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

/// Why a session could not be had or used.
enum Problem {
    /// lettre's own report: SMTP replies, STARTTLS, AUTH, a broken stream.
    Smtp(lettre::transport::smtp::Error),
    /// The host could not be found or reached: worth retrying.
    Network(String),
    /// The server's certificate or TLS failed: the settings or the server must change.
    Tls(String),
    Timeout(&'static str),
}

impl Mailer {
    /// Sessions are opened when first needed, so this never touches the network. `sender` is
    /// the From address: its domain is the name Herald greets the server with (EHLO), so the
    /// greeting says nothing about the machine Herald runs on, and it receives bounces unless
    /// the settings name a bounce address.
    pub fn new(
        settings: &Smtp,
        sender: &str,
        password: Option<SecretString>,
    ) -> Result<Mailer, MailError> {
        let parse = |a: &str| -> Result<Address, MailError> {
            a.parse().map_err(|_| MailError::Address(a.to_owned()))
        };
        let envelope_from = parse(settings.bounce_address.as_deref().unwrap_or(sender))?;
        let hello = ClientId::Domain(parse(sender)?.domain().to_owned());
        let tls = match settings.tls {
            TlsMode::Starttls => TlsSetup::Starttls(tls_parameters(settings)?),
            TlsMode::Tls => {
                let name = ServerName::try_from(settings.host.clone())
                    .map_err(|e| MailError::Settings(format!("{}: {e}", settings.host)))?;
                TlsSetup::Implicit(rustls_connector(settings)?, name)
            }
            TlsMode::None => TlsSetup::None,
        };
        let credentials = match (&settings.user, password) {
            (Some(user), Some(password)) => Some(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            )),
            _ => None,
        };
        Ok(Mailer {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                sender: sender.to_owned(),
                envelope_from,
                credentials,
                tls,
                hello,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn settings(&self) -> &Smtp {
        &self.inner.settings
    }

    pub fn sender(&self) -> &str {
        &self.inner.sender
    }

    /// Sends one message and says what the server made of it, in the server's own words.
    pub async fn send(&self, message: &Message) -> Delivery {
        let message_id = message
            .headers()
            .get_raw("Message-ID")
            .unwrap_or_default()
            .to_owned();
        let envelope = match Envelope::new(
            Some(self.inner.envelope_from.clone()),
            message.envelope().to().to_vec(),
        ) {
            Ok(e) => e,
            Err(e) => {
                return Delivery::Failed {
                    reason: one_line(&format!("the mail has no recipient: {e}")),
                    hint: None,
                }
            }
        };
        let body = message.formatted();
        let mut session = match self.checkout().await {
            Ok(s) => s,
            Err(p) => return p.delivery(),
        };
        if let Some(reason) = unsupported(&session, &envelope, &body) {
            self.checkin(session);
            return Delivery::Failed { reason, hint: None };
        }
        let sent = transaction(&mut session, &envelope, &message_id, &body);
        match tokio::time::timeout(TIMEOUT, sent).await {
            Ok(Ok(response)) => {
                self.checkin(session);
                let words: Vec<&str> = response.message().collect();
                let reply = format!("{} {}", response.code(), words.join(" "));
                Delivery::Sent {
                    message_id,
                    reply: reply.trim().to_owned(),
                }
            }
            // The session has been closed after any error; it is dropped here.
            Ok(Err(e)) => Problem::Smtp(e).delivery(),
            Err(_) => Problem::Timeout("sending the message").delivery(),
        }
    }

    /// Says goodbye (QUIT) to every idle session: after a batch, not to hold the server's slots.
    pub async fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.idle());
        for mut i in idle {
            let _ = tokio::time::timeout(Duration::from_secs(5), i.session.conn.quit()).await;
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        // A panic elsewhere cannot leave the list half-changed: push and pop are whole.
        self.inner.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn checkout(&self) -> Result<Session, Problem> {
        loop {
            let Some(mut idle) = self.idle().pop() else {
                return tokio::time::timeout(TIMEOUT, self.open())
                    .await
                    .map_err(|_| Problem::Timeout("connecting"))?;
            };
            let age = idle.since.elapsed();
            if age < CHECK_AFTER {
                return Ok(idle.session);
            }
            if age < CLOSE_AFTER
                && tokio::time::timeout(TIMEOUT, idle.session.conn.test_connected())
                    .await
                    .unwrap_or(false)
            {
                return Ok(idle.session);
            }
            idle.session.conn.abort().await;
        }
    }

    fn checkin(&self, session: Session) {
        if !session.conn.has_broken() {
            self.idle().push(Idle {
                session,
                since: Instant::now(),
            });
        }
    }

    /// Connects (TCP_NODELAY), says EHLO, secures the session as configured and logs in.
    async fn open(&self) -> Result<Session, Problem> {
        let inner = &self.inner;
        let (host, port) = (inner.settings.host.as_str(), inner.settings.port);
        let tcp = connect_tcp(host, port).await?;
        tcp.set_nodelay(true)
            .map_err(|e| Problem::Network(e.to_string()))?;
        let mut session = match &inner.tls {
            TlsSetup::None => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &inner.hello)
                    .await
                    .map_err(Problem::Smtp)?
            }
            TlsSetup::Starttls(params) => {
                let mut s =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &inner.hello)
                        .await
                        .map_err(Problem::Smtp)?;
                // Fails if the server does not offer STARTTLS: it is required, never optional.
                s.starttls(params.clone(), &inner.hello)
                    .await
                    .map_err(Problem::Smtp)?;
                s
            }
            TlsSetup::Implicit(connector, name) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(tls_problem)?;
                AsyncSmtpConnection::connect_with_transport(
                    Box::new(ImplicitTls(stream)),
                    &inner.hello,
                )
                .await
                .map_err(Problem::Smtp)?
            }
        };
        // lettre keeps only the extensions it uses from the greeting, so ask again for the
        // rest (before AUTH: a new EHLO resets the session state on some servers).
        let dsn = match session.command(Ehlo::new(inner.hello.clone())).await {
            Ok(r) => offers_dsn(&r),
            Err(e) => {
                session.abort().await;
                return Err(Problem::Smtp(e));
            }
        };
        if let Some(credentials) = &inner.credentials {
            if let Err(e) = session.auth(&MECHANISMS, credentials).await {
                session.abort().await;
                return Err(Problem::Smtp(e));
            }
        }
        Ok(Session { conn: session, dsn })
    }
}

/// Whether an EHLO answer lists DSN (RFC 3461).
fn offers_dsn(ehlo: &Response) -> bool {
    ehlo.message()
        .any(|line| line.split_whitespace().next() == Some("DSN"))
}

/// What the message needs that the server does not offer (the checks lettre's own `send`
/// makes): a server without SMTPUTF8 cannot take a non-ASCII address, nor one without
/// 8BITMIME a body that is not ASCII.
fn unsupported(session: &Session, envelope: &Envelope, body: &[u8]) -> Option<String> {
    let info = session.conn.server_info();
    if non_ascii(envelope) && !info.supports_feature(Extension::SmtpUtfEight) {
        return Some("the address has characters outside ASCII and this mail server does not accept them (it does not offer SMTPUTF8)".to_owned());
    }
    if !body.is_ascii() && !info.supports_feature(Extension::EightBitMime) {
        return Some("the mail has characters outside ASCII and this mail server does not accept them (it does not offer 8BITMIME)".to_owned());
    }
    None
}

/// Whether an envelope address needs SMTPUTF8.
fn non_ascii(envelope: &Envelope) -> bool {
    envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii())
}

/// One mail transaction: MAIL, RCPT, DATA and the message. Where the server offers DSN, a
/// bounce is asked to carry the headers only (`RET=HDRS`) and to come only for a failure
/// (`NOTIFY=FAILURE`): a bounce that quoted the whole mail would put the invitee's live link
/// and code in the bounce address's mailbox. `ENVID` lets a bounce be matched to its mail.
/// Any error closes the session, as lettre does.
async fn transaction(
    session: &mut Session,
    envelope: &Envelope,
    message_id: &str,
    body: &[u8],
) -> Result<Response, lettre::transport::smtp::Error> {
    let conn = &mut session.conn;
    let mut mail = Vec::new();
    let mut rcpt = Vec::new();
    // `unsupported` has checked that the server takes these.
    if non_ascii(envelope) {
        mail.push(MailParameter::SmtpUtfEight);
    }
    if !body.is_ascii() {
        mail.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if session.dsn {
        mail.push(MailParameter::Other {
            keyword: "RET".to_owned(),
            value: Some("HDRS".to_owned()),
        });
        mail.push(MailParameter::Other {
            keyword: "ENVID".to_owned(),
            value: Some(xtext(message_id.trim_matches(['<', '>']))),
        });
        rcpt.push(RcptParameter::Other {
            keyword: "NOTIFY".to_owned(),
            value: Some("FAILURE".to_owned()),
        });
    }
    let result = async {
        conn.command(Mail::new(envelope.from().cloned(), mail))
            .await?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), rcpt.clone())).await?;
        }
        conn.command(Data).await?;
        conn.message(body).await
    }
    .await;
    if result.is_err() {
        conn.abort().await;
    }
    result
}

/// RFC 3461's xtext: printable ASCII but `+` and `=` as itself, everything else as `+XX`.
fn xtext(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'!'..=b'~' if b != b'+' && b != b'=' => (b as char).to_string(),
            _ => format!("+{b:02X}"),
        })
        .collect()
}

async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, Problem> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Problem::Network(format!("cannot look up {host}: {e}")))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
        }
    }
    Err(Problem::Network(
        last.unwrap_or_else(|| format!("{host} has no address")),
    ))
}

/// A failed TLS handshake: a certificate or protocol problem is for the owner to fix; a
/// dropped connection during it is worth retrying.
fn tls_problem(e: io::Error) -> Problem {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(tls) => Problem::Tls(tls.to_string()),
        None => Problem::Network(format!("TLS handshake: {e}")),
    }
}

impl Problem {
    fn delivery(self) -> Delivery {
        match self {
            // 5xx (including 535, a wrong password): the server will not change its mind.
            Problem::Smtp(e) if e.is_permanent() => Delivery::Failed {
                reason: one_line(&e.to_string()),
                hint: None,
            },
            // No STARTTLS on offer, or a certificate that does not verify: the settings or the
            // server must change first, and retrying would only hide that. lettre reports a
            // certificate that does not verify as a connection error; its text is the only way
            // to tell it from a network failure.
            Problem::Smtp(e)
                if e.is_client() || e.is_tls() || e.to_string().contains("certificate") =>
            {
                Delivery::Failed {
                    reason: one_line(&e.to_string()),
                    hint: Some(Hint::CheckSmtp),
                }
            }
            Problem::Tls(e) => Delivery::Failed {
                reason: one_line(&format!("TLS failed: {e}")),
                hint: Some(Hint::CheckSmtp),
            },
            // 4xx, refused or dropped connections. A connection lost after the data was sent
            // may still have delivered: a retry can then mean one duplicate.
            Problem::Smtp(e) => Delivery::Retry {
                reason: one_line(&e.to_string()),
            },
            Problem::Network(e) => Delivery::Retry {
                reason: one_line(&e),
            },
            Problem::Timeout(what) => Delivery::Retry {
                reason: format!(
                    "the mail server did not answer within {}s while {what}",
                    TIMEOUT.as_secs()
                ),
            },
        }
    }
}

/// A rustls stream in the shape lettre takes.
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The rustls client for implicit TLS: Mozilla's roots plus the configured CA file, exactly
/// what lettre's STARTTLS trusts, and the host name always checked.
fn rustls_connector(settings: &Smtp) -> Result<tokio_rustls::TlsConnector, MailError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &settings.ca_file {
        let pem = read_ca_file(path)?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                MailError::Settings(format!("the CA file {path} is not a PEM certificate: {e}"))
            })?;
            roots.add(cert).map_err(|e| {
                MailError::Settings(format!("the CA file {path} cannot be trusted: {e}"))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailError::Settings(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn read_ca_file(path: &str) -> Result<Vec<u8>, MailError> {
    std::fs::read(path)
        .map_err(|e| MailError::Settings(format!("cannot read the CA file {path}: {e}")))
}

/// Certificates are always verified against the host name; a CA file only adds a root.
fn tls_parameters(settings: &Smtp) -> Result<TlsParameters, MailError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = read_ca_file(path)?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            MailError::Settings(format!("the CA file {path} is not a PEM certificate: {e}"))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| MailError::Settings(e.to_string()))
}

/// Checks a CA file when it is configured, so a wrong path fails `smtp set`, not a send.
/// Returns its absolute path, which is what the settings keep.
pub fn check_ca_file(path: &std::path::Path) -> Result<String, crate::validate::ValidationError> {
    let shown = path.display().to_string();
    let err = |reason: String| crate::validate::ValidationError::CaFile {
        path: shown.clone(),
        reason,
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    let pem = std::fs::read(&absolute).map_err(|e| err(e.to_string()))?;
    Certificate::from_pem(&pem).map_err(|_| err("it holds no PEM certificate".to_owned()))?;
    Ok(absolute.display().to_string())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
