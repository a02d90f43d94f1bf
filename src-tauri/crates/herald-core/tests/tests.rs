//! herald-core's integration tests, in one test binary (ripgrep's layout): one link instead of
//! one per file. Run one file's tests with its module name as the filter, e.g.
//! `cargo test -p herald-core --test integration smtp_faults::`.

// What the tests share: fixtures, helpers, the outbox worker on its own runtime.
mod common;

// Owners acting through the owner API, named in what they do.
mod acting;
// Invitations, links, keys and the SMTP settings, against SQLite files and a keyring.
mod lifecycle;
// The outbox against a real SMTP server (Postfix's smtp-sink).
mod outbox;
// A Herald moved to another computer: export, import.
mod moving;
// What the owner's window reads.
mod owner_views;
// Owners' computers pairing with an always-on Herald, and their credentials.
mod pairing;
// A whole batch against a misbehaving SMTP server.
mod smtp_faults;
// The store on a full disk, a read-only folder, and copied mid-write.
mod storage_faults;
