//! The app's integration tests, in one test binary (ripgrep's layout): one link instead of one
//! per file. They run the built `herald` binary, which uses the OS keyring: run them inside
//! `scripts/with-keyring.sh`. One file's tests: `cargo test --test integration faults::`.

// What the tests share: an environment per test (data folder, keyring service), smtp-sink.
mod common;

// The command line, end to end.
mod cli;
// Crashes and a locked keyring.
mod faults;
// Remote mode: two Herald processes, a server and an owner's computer paired with it.
mod remote;
// A full disk and a read-only data folder (Linux only).
mod storage;
