//! The connection loop both listeners share, the confirmation site's and the owner API's, so
//! the limits that keep a slow or hostile client from holding connections are written once.
//!
//! It is Herald's own rather than `axum::serve`, because that one gives hyper no timer: without
//! it hyper enforces no header-read timeout, so a client that sends one header byte a second (or
//! nothing at all after connecting) holds its connection, a task and a socket forever, and
//! enough of them exhaust the process's file descriptors. Here every connection must send a
//! complete request head within [`HEADER_READ_TIMEOUT`] (idle keep-alive connections included),
//! and a head larger than [`MAX_HEADER_BYTES`] is refused with 431 instead of being buffered
//! further; the request itself is then bounded by the router's own time limit and body cap.
//! Over TLS, the handshake must also be over within [`HEADER_READ_TIMEOUT`]: a client that
//! opens a connection and never finishes its hello is the same slow client one layer down.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::ServeError;

/// A client must have sent its whole request head this long after connecting (and after its
/// TLS handshake, if any), or after its previous request on a kept-alive connection; otherwise
/// the connection is closed. A TLS handshake gets as long again.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head (request line and headers) read: real browsers send 1–2 KiB,
/// and every link is a short path. Larger heads get 431 instead of up to 400 KiB of buffer.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// How long a stopping listener waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` completes, then
/// lets requests in flight finish for at most [`SHUTDOWN_GRACE`]. `what` names the listener in
/// the owner's log. The handlers learn the client's address as axum's own `serve` would tell
/// them, from `ConnectInfo<SocketAddr>`.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    what: &'static str,
) -> Result<(), ServeError> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e, what).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        // Taken now, so that a stop waits for connections still in their TLS handshake too.
        let watcher = graceful.watcher();
        let tls = tls.clone();
        // A client that breaks off, fails its handshake or sends garbage ends only its own
        // connection; hyper has already answered what could be answered (400, 431), and there
        // is nobody to tell the rest to.
        tokio::spawn(async move {
            match tls {
                None => {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = watcher.watch(http1().serve_connection(io, service)).await;
                }
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    let Ok(Ok(stream)) = tokio::time::timeout(HEADER_READ_TIMEOUT, handshake).await
                    else {
                        return;
                    };
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = watcher.watch(http1().serve_connection(io, service)).await;
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

/// HTTP/1.1 with the header-read timeout and the head size cap.
fn http1() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEADER_BYTES);
    builder
}

/// What to do when `accept` fails. A client that gave up between connecting and being
/// accepted is no problem of ours; anything else (usually "too many open files" under a
/// flood) goes to the owner's log and is waited out for a second, instead of spinning or
/// stopping the listener.
async fn accept_failed(e: &io::Error, what: &str) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::warn!("{what}: cannot accept a connection ({e}); trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
