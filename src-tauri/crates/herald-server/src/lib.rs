//! The confirmation site: what `herald serve` runs on an always-on host, and what the window
//! runs in-process. For now it answers a health check; the invitee's pages (accept, decline,
//! typed code) build on this router.
//!
//! Handlers only translate HTTP to `herald_core` calls; those are synchronous (SQLite, the
//! keyring), so they run on tokio's blocking pool and never stall the event loop.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use herald_core::Herald;
use serde::Serialize;
use tokio::net::TcpListener;

/// Loopback by default: exposing the site is a decision the owner makes with `--bind`.
pub const DEFAULT_BIND: &str = "127.0.0.1:8750";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: the port is already in use (is another `herald serve` running?); stop that program or choose another port with --bind")]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: permission denied (ports below 1024 need special rights); choose a port above 1024 with --bind")]
    PermissionDenied { addr: SocketAddr },
    #[error("cannot listen on {addr}: this machine has no such address; use 127.0.0.1, 0.0.0.0 or one of its own addresses with --bind")]
    AddrNotAvailable { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] io::Error),
}

/// Binds the listening socket, with an error that says what to do for the usual failures.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| match source.kind() {
            io::ErrorKind::AddrInUse => ServeError::AddrInUse { addr },
            io::ErrorKind::PermissionDenied => ServeError::PermissionDenied { addr },
            io::ErrorKind::AddrNotAvailable => ServeError::AddrNotAvailable { addr },
            _ => ServeError::Bind { addr, source },
        })
}

pub fn router(herald: Arc<Herald>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .with_state(herald)
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn run(
    listener: TcpListener,
    herald: Arc<Herald>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, router(herald))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

/// 200 when the store answers, 503 otherwise; says nothing about invitations.
async fn health(State(herald): State<Arc<Herald>>) -> (StatusCode, Json<Health>) {
    let ok = tokio::task::spawn_blocking(move || herald.general().is_ok())
        .await
        .unwrap_or(false);
    let (code, status) = if ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (
        code,
        Json(Health {
            status,
            version: env!("CARGO_PKG_VERSION"),
        }),
    )
}
