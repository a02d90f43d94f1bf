//! Pairing this computer with an always-on Herald, and the connection it leaves behind.
//!
//! `pair` runs the four steps of `herald_core::pairing` over the owner API's TLS, recording
//! the key the server's TLS presented (its SPKI hash) and binding the pairing to it, so that a
//! machine in the middle makes pairing fail and learns nothing. What stays afterwards: the
//! credential, in this computer's OS keyring only, and the [`Connection`] (the address, the
//! pinned key, the owner id: nothing secret) in the data folder's `server.json`. Every later
//! request goes to the pinned key and no other.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald_core::owner_tls::{client_config, parse_pin, pin_text, PinMode};
use herald_core::pairing::{ClientPairing, Spki};
use herald_core::secrets::{Keyring, OwnerCredentials, SecretStore};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Reason, Result};
use crate::http::Hello;
use crate::remote::{self, Remote};
use crate::PROTOCOL;

/// The file in the data folder that says this computer acts through a server.
pub const CONNECTION_FILE: &str = "server.json";

/// Where this computer's Herald lives when it is not here. Nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `https://host:port`
    pub url: String,
    /// The server's TLS key, as pinned at pairing (base64url SHA-256 of its SPKI).
    pub pin: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub paired_at: herald_core::Timestamp,
}

impl Connection {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CONNECTION_FILE)
    }

    /// The connection of this data folder, if it has one.
    pub fn load(data_dir: &Path) -> Result<Option<Connection>> {
        let path = Connection::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ApiError::environment(format!(
                    "could not read {}: {e}",
                    path.display()
                )))
            }
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            ApiError::environment(format!(
                "{} is damaged ({e}); forget the server and pair again",
                path.display()
            ))
            .with_hint(herald_core::Hint::Disconnect)
        })
    }

    /// Writes it whole or not at all (a temporary file renamed into place).
    fn save(&self, data_dir: &Path) -> Result<()> {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(data_dir)?;
            let tmp = data_dir.join(format!("{CONNECTION_FILE}.tmp"));
            let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, Connection::path(data_dir))
        };
        write().map_err(|e| {
            ApiError::environment(format!(
                "could not write the connection into {}: {e}",
                data_dir.display()
            ))
        })
    }

    pub fn pin(&self) -> Result<Spki> {
        parse_pin(&self.pin).ok_or_else(|| {
            ApiError::environment("the pinned server key in server.json is damaged; pair again")
                .with_hint(herald_core::Hint::Disconnect)
        })
    }

    /// The client for this connection, with the credential from the keyring.
    pub fn remote(&self, store: Arc<dyn SecretStore>) -> Result<Remote> {
        let credentials = OwnerCredentials::new(store, Keyring::service_from_env());
        let credential = credentials
            .get(&self.url)
            .map_err(herald_core::Error::from)?
            .ok_or_else(|| {
                ApiError::request(format!(
                    "this computer's credential for {} is missing from the OS keyring",
                    self.url
                ))
                .with_hint(herald_core::Hint::Disconnect)
            })?;
        Remote::new(
            &self.url,
            client_config(PinMode::Pin(self.pin()?)),
            credential.expose(),
        )
    }

    /// Forgets the server: the credential leaves the keyring, the file the data folder.
    pub fn forget(&self, data_dir: &Path, store: Arc<dyn SecretStore>) -> Result<()> {
        OwnerCredentials::new(store, Keyring::service_from_env())
            .delete(&self.url)
            .map_err(herald_core::Error::from)?;
        std::fs::remove_file(Connection::path(data_dir)).map_err(|e| {
            ApiError::environment(format!("could not remove {}: {e}", CONNECTION_FILE))
        })
    }
}

/// `https://host:port` as typed, checked: the owner API speaks only HTTPS to a pairing client.
pub fn server_url(typed: &str) -> Result<String> {
    let url = reqwest::Url::parse(typed.trim()).map_err(|e| {
        ApiError::request(format!(
            "{typed:?} is not a server address ({e}); write it as https://HOST:PORT"
        ))
    })?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(ApiError::request(format!(
            "{typed:?} is not a server address; write it as https://HOST:PORT (the owner API is always HTTPS)"
        )));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    Ok(format!(
        "https://{}:{port}",
        url.host_str().unwrap_or_default()
    ))
}

/// Pairs this computer as the owner the code names, with the Herald at `url`, and keeps the
/// credential in `store` and the connection in `data_dir`. On any failure nothing is kept:
/// not in the keyring, not in the data folder.
pub async fn pair(
    url: &str,
    code: &str,
    data_dir: &Path,
    store: Arc<dyn SecretStore>,
    now: herald_core::Timestamp,
) -> Result<Connection> {
    let url = server_url(url)?;
    let (client, start) = ClientPairing::start(code).map_err(herald_core::Error::from)?;
    let (mode, seen) = PinMode::capture();
    let http = remote::http_client(client_config(mode))?;

    // Who is there, and do we speak the same protocol?
    let hello = http
        .get(format!("{url}/v1/hello"))
        .send()
        .await
        .map_err(|e| remote::unreachable(&url, &e))?;
    let hello: Hello = remote::answer(&url, hello).await.and_then(|v| {
        serde_json::from_value(v).map_err(|e| remote::not_herald(&url, &e.to_string()))
    })?;
    if hello.protocol != PROTOCOL {
        return Err(ApiError::request(format!(
            "the Herald server at {url} (version {}) speaks owner protocol {} and this computer's Herald (version {}) speaks {PROTOCOL}: update the older of the two",
            hello.herald,
            hello.protocol,
            env!("CARGO_PKG_VERSION")
        ))
        .with_reason(Reason::Version));
    }

    let reply = post(&http, &url, "pair/start", &start).await?;
    let reply: herald_core::pairing::PairReply =
        serde_json::from_value(reply).map_err(|e| remote::not_herald(&url, &e.to_string()))?;
    let spki = seen
        .lock()
        .map_err(|_| ApiError::environment("the TLS key the server presented was lost"))?
        .ok_or_else(|| remote::not_herald(&url, "no TLS key was seen"))?;
    let (credential, finish) = client
        .finish(&reply, &spki)
        .map_err(herald_core::Error::from)?;

    // Kept before the server is told, so that a paired server never has a credential this
    // computer lost; taken back out if the last step fails.
    let credentials = OwnerCredentials::new(store, Keyring::service_from_env());
    credentials
        .set(&url, &credential)
        .map_err(herald_core::Error::from)?;
    let finished = async {
        let owner = post(&http, &url, "pair/finish", &finish).await?;
        let owner: herald_core::Owner =
            serde_json::from_value(owner).map_err(|e| remote::not_herald(&url, &e.to_string()))?;
        // The same key on the last step as on the first: one server throughout.
        let last = seen.lock().ok().and_then(|s| *s);
        if last != Some(spki) {
            return Err(herald_core::Error::from(herald_core::PairingError::Intercepted).into());
        }
        let connection = Connection {
            url: url.clone(),
            pin: pin_text(&spki),
            owner_id: owner.id,
            owner_name: owner.name,
            paired_at: now,
        };
        connection.save(data_dir)?;
        Ok::<_, ApiError>(connection)
    }
    .await;
    if finished.is_err() {
        let _ = credentials.delete(&url);
    }
    finished
}

async fn post<T: Serialize>(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    body: &T,
) -> Result<serde_json::Value> {
    let response = http
        .post(format!("{url}/v1/{path}"))
        .json(body)
        .send()
        .await
        .map_err(|e| remote::unreachable(url, &e))?;
    remote::answer(url, response).await
}
