//! What the integration tests of every Herald crate share: seeded randomness, real mounts,
//! a database snapshot, smtp-sink, a TLS-intercepting proxy. Each piece is here because at
//! least two crates' tests need it the same way; fixtures that need Herald's own types stay
//! in each crate's `tests/common` (this crate must not depend on herald-core, see Cargo.toml).

mod mount;
mod rng;
mod smtp_sink;
mod snapshot;
mod tls_interceptor;

pub use mount::Mount;
pub use rng::{seed, Rng};
pub use smtp_sink::start_smtp_sink;
pub use snapshot::snapshot;
pub use tls_interceptor::TlsInterceptor;

use std::path::Path;

/// Whether the tests run as root (mounts need it; smtp-sink refuses to run as root).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A loopback port free a moment ago (the usual race is harmless on a test machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A number from the environment, for the knobs that make a test longer or replay it.
pub fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

/// Undoes quoted-printable soft breaks and `=3D`, enough to read links back out of a message.
pub fn unfold_qp(s: &str) -> String {
    s.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// A path as the `&str` a command line wants.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}
