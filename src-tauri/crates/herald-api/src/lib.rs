//! Herald's owner operations, declared once (`ops.rs`), and the three ways they run: in-process
//! over this computer's data folder ([`Local`]), served to paired owners as the owner API
//! ([`http::router`]), and called over that API from an owner's computer ([`Remote`]). The
//! faces hold a [`Client`] and do not care which.

mod client;
pub mod connect;
pub mod error;
mod feed;
pub mod http;
mod local;
pub mod ops;
mod remote;
pub mod types;

pub use client::{Client, WatchItem};
pub use connect::{Connection, CONNECTION_FILE};
pub use error::{ApiError, Reason, Result};
pub use feed::Feed;
pub use local::{Local, OnChange};
pub use ops::{Operations, Request, PROTOCOL};
pub use remote::{Remote, PROTOCOL_HEADER};
