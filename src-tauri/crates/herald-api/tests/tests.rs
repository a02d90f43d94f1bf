//! The owner operations over the owner API, in one process but over real TLS on loopback:
//! pairing with an injected clock, the credential and the protocol checks, and the same
//! answers in-process and remotely. The two-process story (`herald serve` and `herald
//! connect`) is in the app's tests/remote.rs.

mod owner_api;
