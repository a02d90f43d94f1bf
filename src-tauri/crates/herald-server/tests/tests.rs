//! herald-server's integration tests, in one test binary (ripgrep's layout): one link instead
//! of one per file. Run one file's tests with its module name as the filter, e.g.
//! `cargo test -p herald-server --test integration hostile::`.

// The fixtures: a team's Herald, reached through the router or the real server.
mod common;

// Hostile input against the real server: brute force, malformed HTTP, slow clients, Unicode.
mod hostile;
// The owner API's transport: TLS with Herald's own key, pinning, the site's limits.
mod owner_api;
// What the pages say and do.
mod site;
