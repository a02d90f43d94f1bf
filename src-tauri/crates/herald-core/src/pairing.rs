//! Pairing an owner's computer with an always-on Herald: the protocol, with no HTTP, no TLS
//! and no store (the server's side, which keeps its state in the store, is in `owners.rs`).
//!
//! `herald owner add` makes a one-time code such as `7-K3M9Q-T2XHV`: the owner id (which
//! pending pairing to run against, like magic-wormhole's nameplate) and 50 random bits. Both
//! sides turn the secret into a SPAKE2 password, run SPAKE2, and confirm the key with MACs
//! over the whole transcript **and the SHA-256 of the TLS server key's SPKI**: the server puts
//! in the key it serves with, the client the key its TLS connection saw. A TLS-intercepting
//! proxy shows the client its own key, so the confirmations differ and pairing fails; it
//! cannot fix them up without the code, and SPAKE2 gives it nothing to guess the code from
//! offline. A wrong code fails the same way, which is why the client cannot tell the two apart.
//!
//! Two round trips, all sync:
//!
//! 1. client: [`ClientPairing::start`] → [`PairStart`]
//! 2. server: [`crate::Herald::pair_start`] → [`PairReply`] (counts a try)
//! 3. client: [`ClientPairing::finish`] checks the server's confirmation → [`Credential`] and
//!    [`PairFinish`]
//! 4. server: [`crate::Herald::pair_finish`] checks the client's confirmation and keeps a
//!    verifier of the credential.
//!
//! The credential is derived on both sides and never crosses the wire.
//!
//! SPAKE2 runs in its A/B form (client A, server B) rather than the symmetric one: the roles
//! are fixed, so the asymmetric form costs nothing, its distinct blinding points make a message
//! reflected back at its sender fail outright, and the identities bind the owner id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::clock::Timestamp;
use crate::token::CROCKFORD;

/// How long a pairing code works.
pub const CODE_VALID_SECS: i64 = 15 * 60;
/// Pairing attempts a code allows (each [`crate::Herald::pair_start`] is one); then it is
/// locked. The right code still needs one of them.
pub const PAIRING_TRIES: u32 = 5;
/// How long the server waits between a pairing's two steps.
pub const SESSION_SECS: i64 = 60;
/// The port of the owner API, on the public URL's host unless configured otherwise.
pub const OWNER_API_PORT: u16 = 8751;

/// Characters of the code's secret: 10 × 5 bits = 50 bits. With [`PAIRING_TRIES`] online
/// guesses a code, an attacker's chance is 5 in 2^50.
const SECRET_LEN: usize = 10;
/// SPAKE2 messages on Ed25519: a side byte and a point.
const MESSAGE_LEN: usize = 33;
const MAC_LEN: usize = 32;
/// The SHA-256 of a TLS server key's SubjectPublicKeyInfo.
pub type Spki = [u8; 32];

const LABEL: &[u8] = b"herald pairing v1";
const SERVER_ID: &[u8] = b"herald pairing v1 server";

/// Why pairing or an owner's credential was refused. The messages are for the person pairing,
/// and name no command: hints do that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    #[error("that is not a pairing code: a code looks like 7-K3M9Q-T2XHV")]
    CodeFormat,
    #[error("that pairing code is not known to this server; ask for a new one")]
    UnknownCode,
    #[error("that pairing code has expired (codes work for 15 minutes); ask for a new one")]
    Expired,
    #[error("that pairing code has already been used; each code pairs one computer, once")]
    Used,
    #[error(
        "that pairing code was tried wrongly too many times and no longer works; ask for a new one"
    )]
    Locked,
    /// What the client sees when the server's confirmation does not match. A wrong code and a
    /// machine in the middle look exactly the same from here.
    #[error("the pairing code is wrong, or something between you and the server is intercepting the connection{}", tries_note(*tries_left))]
    WrongCodeOrIntercepted { tries_left: u32 },
    /// The code was right, but the TLS key this computer saw is not the server's own: a
    /// machine in the middle (an intercepting proxy, say) holds the connection. Nothing was
    /// stored and nothing it saw helps it.
    #[error("the pairing code is right, but the connection does not end at the Herald server: something between this computer and the server is intercepting it (a TLS-inspecting proxy, say). Nothing was paired; connect from a network without it")]
    Intercepted,
    /// What the server sees when the client's confirmation does not match.
    #[error("the pairing could not be confirmed: the code is wrong or the connection was tampered with{}", tries_note(*tries_left))]
    NotConfirmed { tries_left: u32 },
    #[error("no pairing is under way for that code (its first step was more than a minute ago, or another attempt replaced it); start again")]
    NoSession,
    #[error("the pairing message is malformed")]
    BadMessage,
    /// A missing, malformed, forged, unknown or removed owner credential: one answer for all,
    /// so a caller learns nothing about which.
    #[error("not authorized: this computer is not paired with this Herald, or no longer is")]
    NotAuthorized,
    #[error("there is no owner #{0}")]
    NoSuchOwner(i64),
    /// The key that unlocks waiting codes is gone from the server's keyring (or was replaced):
    /// no code made before can work again.
    #[error("this server's pairing key is no longer in its keyring, so the pairing codes it gave out cannot work; ask for a new one")]
    PairingKeyLost,
}

fn tries_note(left: u32) -> String {
    match left {
        0 => "; the code is now locked".to_owned(),
        1 => "; 1 try left".to_owned(),
        n => format!("; {n} tries left"),
    }
}

impl PairingError {
    pub fn kind(&self) -> crate::ErrorKind {
        // Every one but interception is about the request: a code, a message or a credential.
        if *self == PairingError::Intercepted {
            return crate::ErrorKind::Environment;
        }
        crate::ErrorKind::Request
    }

    /// The way forward, for each face to word; `None` when the message says all there is.
    pub fn hint(&self) -> Option<crate::Hint> {
        use crate::Hint;
        match self {
            PairingError::UnknownCode
            | PairingError::Expired
            | PairingError::Used
            | PairingError::Locked
            | PairingError::NotAuthorized
            | PairingError::PairingKeyLost
            | PairingError::NotConfirmed { tries_left: 0 }
            | PairingError::WrongCodeOrIntercepted { tries_left: 0 } => Some(Hint::AddOwner),
            PairingError::NoSuchOwner(_) => Some(Hint::ListOwners),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The code.

/// A pairing code as typed: the owner id and the secret, normalised. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode {
    pub owner_id: i64,
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PairingCode({}-<redacted>)", self.owner_id)
    }
}

impl PairingCode {
    /// A fresh code for `owner_id`, from the OS CSPRNG.
    pub(crate) fn generate(owner_id: i64) -> Result<PairingCode, getrandom::Error> {
        let mut raw = Zeroizing::new([0u8; 8]);
        getrandom::fill(&mut raw[..7])?;
        let bits = u64::from_be_bytes(*raw) >> 14; // 56 random bits, the top 50 kept
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        for (i, c) in secret.iter_mut().enumerate() {
            *c = CROCKFORD[((bits >> ((SECRET_LEN - 1 - i) * 5)) & 31) as usize];
        }
        Ok(PairingCode { owner_id, secret })
    }

    /// Reads a code as people type it: any case, with or without the dashes, with spaces, O
    /// for 0 and I or L for 1. The id ends at the first dash or blank; a code typed without
    /// any is split before its last ten characters, the secret's fixed length. (Splitting at
    /// the first dash when there is one keeps a secret typed one character short from being
    /// read as another owner's code and using up that owner's tries.)
    pub fn parse(input: &str) -> Result<PairingCode, PairingError> {
        // Longer than any code with room for blanks: refuse before looking at it.
        if input.len() > 64 {
            return Err(PairingError::CodeFormat);
        }
        let trimmed = input.trim();
        let (id, secret_part) = match trimmed.find(is_separator) {
            Some(i) => (normalise(&trimmed[..i])?, normalise(&trimmed[i..])?),
            None => {
                let all = normalise(trimmed)?;
                if all.len() <= SECRET_LEN {
                    return Err(PairingError::CodeFormat);
                }
                let (id, secret) = all.split_at(all.len() - SECRET_LEN);
                (Zeroizing::new(id.to_vec()), Zeroizing::new(secret.to_vec()))
            }
        };
        if id.is_empty() || id.len() > 18 || !id.iter().all(u8::is_ascii_digit) {
            return Err(PairingError::CodeFormat);
        }
        if secret_part.len() != SECRET_LEN {
            return Err(PairingError::CodeFormat);
        }
        let owner_id: i64 = std::str::from_utf8(&id)
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&n| n > 0)
            .ok_or(PairingError::CodeFormat)?;
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        secret.copy_from_slice(&secret_part);
        Ok(PairingCode { owner_id, secret })
    }

    /// `7-K3M9Q-T2XHV`: the id, then the secret in two groups of five, easy to copy by eye.
    pub fn expose(&self) -> SecretString {
        let s = Zeroizing::new(String::from_utf8_lossy(&self.secret[..]).into_owned());
        SecretString::from(format!("{}-{}-{}", self.owner_id, &s[..5], &s[5..]))
    }

    /// The SPAKE2 password both sides use: HKDF-SHA-256 of the secret, salted with the
    /// protocol label, bound to the owner id. Whoever holds it can pair without the code, so
    /// the server stores it only sealed with its [`PairingKey`].
    ///
    /// A deliberately slow KDF would add nothing here: SPAKE2 gives an eavesdropper nothing to
    /// test guesses against, and the stored form is useless without the keyring's key.
    pub(crate) fn password(&self) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(LABEL), &self.secret[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA-256's limit: expand cannot fail.
        let _ = hk.expand(&self.owner_id.to_be_bytes(), &mut out[..]);
        out
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\t' | '_' | '.')
}

/// Upper-case Crockford characters, separators dropped and confusables mapped.
fn normalise(part: &str) -> Result<Zeroizing<Vec<u8>>, PairingError> {
    let mut out = Zeroizing::new(Vec::with_capacity(part.len()));
    for c in part.chars() {
        if is_separator(c) {
            continue;
        }
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return Err(PairingError::CodeFormat);
        }
        out.push(c as u8);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The server's pairing key.

const PAIRING_KEY_LEN: usize = 32;
/// Bytes of [`PairingKey::key_id`] kept beside each sealed password.
pub(crate) const PAIRING_KEY_ID_LEN: usize = 8;

/// 32 random bytes in the server's keyring (never in the database) that seal the SPAKE2
/// password of every waiting code: the row keeps `password XOR HMAC-SHA-256(key, "herald
/// pairing mask v1" ‖ owner id ‖ expires_at)`. Without the key that is 32 bytes of noise, so
/// a copy of the database or a backup taken while a code waits cannot pair, nor test guesses
/// at the code offline. Owner ids are never reused and a code's expiry is part of the mask, so
/// no two codes share a mask. Redacted in `Debug`, wiped when dropped.
#[derive(Clone)]
pub struct PairingKey {
    bytes: Zeroizing<[u8; PAIRING_KEY_LEN]>,
}

impl std::fmt::Debug for PairingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairingKey(<redacted>)")
    }
}

impl PairingKey {
    /// A fresh key from the OS CSPRNG.
    pub(crate) fn generate() -> Result<PairingKey, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; PAIRING_KEY_LEN]);
        getrandom::fill(&mut bytes[..])?;
        Ok(PairingKey { bytes })
    }

    pub(crate) fn to_keyring_text(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(&self.bytes[..]))
    }

    pub(crate) fn from_keyring_text(text: &str) -> Option<PairingKey> {
        let raw = Zeroizing::new(URL_SAFE_NO_PAD.decode(text.trim()).ok()?);
        let mut bytes = Zeroizing::new([0u8; PAIRING_KEY_LEN]);
        if raw.len() != PAIRING_KEY_LEN {
            return None;
        }
        bytes.copy_from_slice(&raw);
        Some(PairingKey { bytes })
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes[..])
            .expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// A public fingerprint stored beside each sealed password, so that a key gone from the
    /// keyring, or replaced, is told apart from a wrong code.
    pub(crate) fn key_id(&self) -> [u8; PAIRING_KEY_ID_LEN] {
        let full = self.mac(&[b"herald pairing key id v1"]);
        let mut out = [0u8; PAIRING_KEY_ID_LEN];
        out.copy_from_slice(&full[..PAIRING_KEY_ID_LEN]);
        out
    }

    /// Seals a password for the database, or unseals one read from it (XOR is its own
    /// inverse).
    pub(crate) fn seal(
        &self,
        password: &[u8; 32],
        owner_id: i64,
        expires_at: Timestamp,
    ) -> Zeroizing<[u8; 32]> {
        let mut mask = Zeroizing::new(self.mac(&[
            b"herald pairing mask v1",
            &owner_id.to_be_bytes(),
            &expires_at.to_be_bytes(),
        ]));
        for (m, p) in mask.iter_mut().zip(password) {
            *m ^= p;
        }
        mask
    }
}

// ---------------------------------------------------------------------------------------------
// The wire.

/// Step 1, client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairStart {
    pub owner_id: i64,
    /// The client's SPAKE2 message.
    #[serde(with = "b64")]
    pub message: Vec<u8>,
}

/// Step 2, server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairReply {
    /// The server's SPAKE2 message.
    #[serde(with = "b64")]
    pub message: Vec<u8>,
    /// A MAC under the shared key over the transcript and the server's SPKI.
    #[serde(with = "b64")]
    pub server_confirm: Vec<u8>,
    /// A MAC under the shared key over the transcript without the SPKI: it lets a client with
    /// the right code tell a machine in the middle (this one matches, the one above does not)
    /// from a wrong code (neither does). It proves knowledge of the shared key only, which a
    /// machine in the middle cannot have.
    #[serde(with = "b64")]
    pub code_confirm: Vec<u8>,
    /// Tries the code has left after this one. Unauthenticated, and only used for the message.
    pub tries_left: u32,
}

/// Step 3, client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairFinish {
    pub owner_id: i64,
    /// A MAC under the shared key over the transcript and the SPKI the client saw.
    #[serde(with = "b64")]
    pub client_confirm: Vec<u8>,
}

/// Bytes on the wire as unpadded base64url.
mod b64 {
    use super::{Engine, URL_SAFE_NO_PAD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        // Owned, not borrowed: a reader-based deserializer cannot lend a &str.
        let text = String::deserialize(d)?;
        // Every field is at most a SPAKE2 message or a MAC: refuse anything much larger unread.
        if text.len() > 128 {
            return Err(serde::de::Error::custom("too long"));
        }
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The credential.

/// What an owner's computer proves itself with: 32 bytes derived from the pairing's key, kept
/// in that computer's keyring; the server keeps only its SHA-256. Redacted in `Debug`, wiped
/// when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub owner_id: i64,
    secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential(owner {}, <redacted>)", self.owner_id)
    }
}

const CREDENTIAL_PREFIX: &str = "herald1.";

impl Credential {
    /// `herald1.<owner id>.<base64url>`: what goes in the `Authorization` header (after
    /// `Bearer `) and in the keyring.
    pub fn expose(&self) -> SecretString {
        let b64 = Zeroizing::new(URL_SAFE_NO_PAD.encode(&self.secret[..]));
        SecretString::from(format!("{CREDENTIAL_PREFIX}{}.{}", self.owner_id, *b64))
    }

    /// Reads the text form; `None` for anything else (the caller says `NotAuthorized`).
    pub fn parse(text: &str) -> Option<Credential> {
        let text = text.trim();
        if text.len() > 100 {
            return None;
        }
        let rest = text.strip_prefix(CREDENTIAL_PREFIX)?;
        let (id, b64) = rest.split_once('.')?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let owner_id: i64 = id.parse().ok().filter(|&n| n > 0)?;
        let mut secret = Zeroizing::new([0u8; 33]);
        let n = URL_SAFE_NO_PAD
            .decode_slice(b64.as_bytes(), &mut secret[..])
            .ok()?;
        if n != 32 {
            return None;
        }
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&secret[..32]);
        Some(Credential {
            owner_id,
            secret: out,
        })
    }

    /// What the server keeps: the credential is 256 uniformly random bits, so a plain hash is
    /// as good as a slow one and lets every request be checked in microseconds.
    pub(crate) fn verifier(&self) -> [u8; 32] {
        Sha256::digest(&self.secret[..]).into()
    }

    /// Whether this credential matches a stored verifier, in constant time.
    pub(crate) fn matches(&self, verifier: &[u8]) -> bool {
        self.verifier().ct_eq(verifier).into()
    }
}

// ---------------------------------------------------------------------------------------------
// The keys both sides derive.

/// What the SPAKE2 key yields once the transcript is fixed.
struct Derived {
    server_confirm: [u8; MAC_LEN],
    code_confirm: [u8; MAC_LEN],
    client_confirm: [u8; MAC_LEN],
    credential: Zeroizing<[u8; 32]>,
}

impl Drop for Derived {
    fn drop(&mut self) {
        self.server_confirm.zeroize();
        self.code_confirm.zeroize();
        self.client_confirm.zeroize();
    }
}

fn client_identity(owner_id: i64) -> Vec<u8> {
    format!("herald pairing v1 owner {owner_id}").into_bytes()
}

/// Length-prefixed parts, so that no two transcripts encode to the same bytes.
fn transcript(owner_id: i64, msg_a: &[u8], msg_b: &[u8], spki: &Spki) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [LABEL, &owner_id.to_be_bytes()[..], msg_a, msg_b, &spki[..]] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// The MAC over the transcript with no TLS key in it: see [`PairReply::code_confirm`].
fn code_confirm(key: &[u8], owner_id: i64, msg_a: &[u8], msg_b: &[u8]) -> [u8; MAC_LEN] {
    let unbound = transcript(owner_id, msg_a, msg_b, &[0u8; 32]);
    let hk = Hkdf::<Sha256>::new(Some(&unbound), key);
    let mut k = Zeroizing::new([0u8; 32]);
    let _ = hk.expand(b"herald pairing v1 code confirm", &mut k[..]);
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&k[..]).expect("HMAC takes a key of any length");
    mac.update(&unbound);
    mac.finalize().into_bytes().into()
}

fn derive(key: &[u8], transcript: &[u8; 32]) -> Derived {
    let hk = Hkdf::<Sha256>::new(Some(transcript), key);
    let confirm_key = |info: &[u8]| {
        let mut k = Zeroizing::new([0u8; 32]);
        let _ = hk.expand(info, &mut k[..]);
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&k[..]).expect("HMAC takes a key of any length");
        mac.update(transcript);
        let out: [u8; MAC_LEN] = mac.finalize().into_bytes().into();
        out
    };
    let server_confirm = confirm_key(b"herald pairing v1 server confirm");
    let client_confirm = confirm_key(b"herald pairing v1 client confirm");
    let mut credential = Zeroizing::new([0u8; 32]);
    let _ = hk.expand(b"herald owner credential v1", &mut credential[..]);
    Derived {
        server_confirm,
        code_confirm: [0; MAC_LEN],
        client_confirm,
        credential,
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

/// The owner's computer between steps 1 and 3. Holds SPAKE2's secret scalar: keep it in
/// memory only, and drop it if pairing is abandoned.
pub struct ClientPairing {
    owner_id: i64,
    spake: Spake2<Ed25519Group>,
    message: Vec<u8>,
}

impl std::fmt::Debug for ClientPairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientPairing(owner {}, <redacted>)", self.owner_id)
    }
}

impl ClientPairing {
    /// Step 1: reads the code as typed and makes the first message.
    pub fn start(code: &str) -> Result<(ClientPairing, PairStart), PairingError> {
        let code = PairingCode::parse(code)?;
        let password = code.password();
        let (spake, message) = Spake2::<Ed25519Group>::start_a(
            &Password::new(&password[..]),
            &Identity::new(&client_identity(code.owner_id)),
            &Identity::new(SERVER_ID),
        );
        let start = PairStart {
            owner_id: code.owner_id,
            message: message.clone(),
        };
        Ok((
            ClientPairing {
                owner_id: code.owner_id,
                spake,
                message,
            },
            start,
        ))
    }

    /// Step 3: checks the server's confirmation against the TLS key this connection saw, and
    /// on success yields the credential to keep and the message that completes pairing.
    pub fn finish(
        self,
        reply: &PairReply,
        seen_spki: &Spki,
    ) -> Result<(Credential, PairFinish), PairingError> {
        if reply.message.len() != MESSAGE_LEN
            || reply.server_confirm.len() != MAC_LEN
            || reply.code_confirm.len() != MAC_LEN
        {
            return Err(PairingError::BadMessage);
        }
        let wrong = PairingError::WrongCodeOrIntercepted {
            tries_left: reply.tries_left,
        };
        let key = Zeroizing::new(
            self.spake
                .finish(&reply.message)
                .map_err(|_| PairingError::BadMessage)?,
        );
        let t = transcript(self.owner_id, &self.message, &reply.message, seen_spki);
        let d = derive(&key, &t);
        if !bool::from(d.server_confirm.ct_eq(&reply.server_confirm[..])) {
            let code_ok = code_confirm(&key, self.owner_id, &self.message, &reply.message);
            if bool::from(code_ok.ct_eq(&reply.code_confirm[..])) {
                return Err(PairingError::Intercepted);
            }
            return Err(wrong);
        }
        let credential = Credential {
            owner_id: self.owner_id,
            secret: d.credential.clone(),
        };
        let finish = PairFinish {
            owner_id: self.owner_id,
            client_confirm: d.client_confirm.to_vec(),
        };
        Ok((credential, finish))
    }
}

// ---------------------------------------------------------------------------------------------
// The server's computation (its state is in the store: see `owners.rs`).

/// What the server keeps between steps 2 and 4: hashes only, so the store never holds the
/// shared key, the confirmation the client must send, or the credential.
pub(crate) struct ServerSession {
    pub reply_message: Vec<u8>,
    pub server_confirm: [u8; MAC_LEN],
    pub code_confirm: [u8; MAC_LEN],
    /// SHA-256 of the client confirmation that will complete pairing.
    pub expected_confirm: [u8; 32],
    /// SHA-256 of the credential the client will hold.
    pub credential_verifier: [u8; 32],
}

/// Step 2's arithmetic: SPAKE2's side B with the stored password, over the client's message.
pub(crate) fn server_respond(
    owner_id: i64,
    password: &[u8],
    client_message: &[u8],
    server_spki: &Spki,
) -> Result<ServerSession, PairingError> {
    if client_message.len() != MESSAGE_LEN {
        return Err(PairingError::BadMessage);
    }
    let (spake, reply_message) = Spake2::<Ed25519Group>::start_b(
        &Password::new(password),
        &Identity::new(&client_identity(owner_id)),
        &Identity::new(SERVER_ID),
    );
    let key = Zeroizing::new(
        spake
            .finish(client_message)
            .map_err(|_| PairingError::BadMessage)?,
    );
    let t = transcript(owner_id, client_message, &reply_message, server_spki);
    let d = derive(&key, &t);
    let credential = Credential {
        owner_id,
        secret: d.credential.clone(),
    };
    Ok(ServerSession {
        code_confirm: code_confirm(&key, owner_id, client_message, &reply_message),
        reply_message,
        server_confirm: d.server_confirm,
        expected_confirm: Sha256::digest(d.client_confirm).into(),
        credential_verifier: credential.verifier(),
    })
}

/// Whether a client confirmation is the one expected, in constant time.
pub(crate) fn confirm_matches(client_confirm: &[u8], expected_hash: &[u8]) -> bool {
    let got: [u8; 32] = Sha256::digest(client_confirm).into();
    got.ct_eq(expected_hash).into()
}

/// When a code made at `now` stops working.
pub(crate) fn code_expiry(now: Timestamp) -> Timestamp {
    now + CODE_VALID_SECS
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn code() -> PairingCode {
        PairingCode::parse("7-K3M9Q-T2XHV").unwrap()
    }

    #[test]
    fn codes_are_read_forgivingly() {
        let c = code();
        assert_eq!(c.owner_id, 7);
        assert_eq!(c.expose().expose_secret(), "7-K3M9Q-T2XHV");
        for typed in [
            "7K3M9QT2XHV",
            "7-k3m9q-t2xhv",
            " 7 K3M9Q T2XHV ",
            "7-K3M9Q-T2XHV\n",
            "7.K3M9Q.T2XHV",
        ] {
            assert_eq!(PairingCode::parse(typed).as_ref(), Ok(&c), "{typed}");
        }
        // Crockford's confusables: O is 0, I and L are 1, in the id and in the secret.
        let with_zero = PairingCode::parse("10-ABC00-11XYZ").unwrap();
        assert_eq!(PairingCode::parse("1o-abcoo-ilxyz"), Ok(with_zero.clone()));
        assert_eq!(with_zero.owner_id, 10);
    }

    #[test]
    fn bad_codes_are_refused() {
        for typed in [
            "",
            "K3M9Q-T2XHV",                      // no id
            "7-K3M9Q-T2XH",                     // one short
            "17-K3M9Q-T2XH",                    // one short: not owner 1's code
            "7K3M9QT2XH",                       // no id
            "A-K3M9Q-T2XHV",                    // id not a number
            "0-K3M9Q-T2XHV",                    // no owner 0
            "7-K3M9Q-T2XHU",                    // U is not Crockford
            "7-K3M9Q-T2XH!",                    // punctuation
            "7-K3M9Q-T2XHVÉ",                   // not ASCII
            "99999999999999999999-K3M9Q-T2XHV", // overflows
        ] {
            assert_eq!(
                PairingCode::parse(typed),
                Err(PairingError::CodeFormat),
                "{typed}"
            );
        }
        assert_eq!(
            PairingCode::parse(&"7".repeat(100)),
            Err(PairingError::CodeFormat)
        );
    }

    #[test]
    fn generated_codes_parse_back_and_differ() {
        let a = PairingCode::generate(42).unwrap();
        let b = PairingCode::generate(42).unwrap();
        assert_ne!(a, b);
        let text = a.expose();
        assert_eq!(text.expose_secret().len(), "42-".len() + 11);
        assert_eq!(PairingCode::parse(text.expose_secret()), Ok(a.clone()));
        assert!(!format!("{a:?}").contains(&text.expose_secret()[3..8]));
    }

    #[test]
    fn credentials_round_trip_and_refuse_junk() {
        let c = Credential {
            owner_id: 3,
            secret: Zeroizing::new([9u8; 32]),
        };
        let text = c.expose();
        assert!(text.expose_secret().starts_with("herald1.3."));
        assert_eq!(Credential::parse(text.expose_secret()), Some(c.clone()));
        assert!(!format!("{c:?}").contains("CQkJ"));
        let t = text.expose_secret();
        for bad in [
            "",
            "herald1.",
            "herald1.3",
            "herald2.3.CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
            &t.replace("herald1.3.", "herald1.x."),
            &t[..t.len() - 1],
            &format!("{t}A"),
        ] {
            assert_eq!(Credential::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sealing_hides_the_password_and_only_its_key_opens_it() {
        let key = PairingKey::generate().unwrap();
        let other = PairingKey::generate().unwrap();
        let password = code().password();
        let sealed = key.seal(&password, 7, 1_000);
        assert_ne!(&sealed[..], &password[..]);
        assert_eq!(&key.seal(&sealed, 7, 1_000)[..], &password[..]);
        // Another key, owner or expiry gives another mask.
        assert_ne!(&other.seal(&sealed, 7, 1_000)[..], &password[..]);
        assert_ne!(&key.seal(&password, 8, 1_000)[..], &sealed[..]);
        assert_ne!(&key.seal(&password, 7, 1_001)[..], &sealed[..]);
        assert_ne!(key.key_id(), other.key_id());
        let back = PairingKey::from_keyring_text(&key.to_keyring_text()).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert!(PairingKey::from_keyring_text("too short").is_none());
        assert_eq!(format!("{key:?}"), "PairingKey(<redacted>)");
    }

    #[test]
    fn the_wire_is_base64url() {
        let s = PairStart {
            owner_id: 7,
            message: vec![0xfb, 0xff],
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"owner_id":7,"message":"-_8"}"#);
        assert_eq!(serde_json::from_str::<PairStart>(&json).unwrap(), s);
    }

    /// The protocol alone, without a store: same code and same SPKI agree; a different SPKI
    /// (a proxy's) does not.
    #[test]
    fn both_sides_agree_only_on_the_same_key() {
        let spki = [1u8; 32];
        let code = PairingCode::generate(5).unwrap();
        let (client, start) = ClientPairing::start(code.expose().expose_secret()).unwrap();
        let s = server_respond(5, &code.password()[..], &start.message, &spki).unwrap();
        let reply = PairReply {
            message: s.reply_message.clone(),
            server_confirm: s.server_confirm.to_vec(),
            code_confirm: s.code_confirm.to_vec(),
            tries_left: 4,
        };
        let (cred, finish) = client.finish(&reply, &spki).unwrap();
        assert!(confirm_matches(&finish.client_confirm, &s.expected_confirm));
        assert!(cred.matches(&s.credential_verifier));

        let (client, start) = ClientPairing::start(code.expose().expose_secret()).unwrap();
        let s = server_respond(5, &code.password()[..], &start.message, &spki).unwrap();
        let reply = PairReply {
            message: s.reply_message.clone(),
            server_confirm: s.server_confirm.to_vec(),
            code_confirm: s.code_confirm.to_vec(),
            tries_left: 4,
        };
        assert_eq!(
            client.finish(&reply, &[2u8; 32]).unwrap_err(),
            PairingError::Intercepted
        );

        // A wrong code fails both confirmations: the client says so, not "intercepted".
        let other = PairingCode::generate(5).unwrap();
        let (client, start) = ClientPairing::start(other.expose().expose_secret()).unwrap();
        let s = server_respond(5, &code.password()[..], &start.message, &spki).unwrap();
        let reply = PairReply {
            message: s.reply_message.clone(),
            server_confirm: s.server_confirm.to_vec(),
            code_confirm: s.code_confirm.to_vec(),
            tries_left: 4,
        };
        assert_eq!(
            client.finish(&reply, &spki).unwrap_err(),
            PairingError::WrongCodeOrIntercepted { tries_left: 4 }
        );
    }
}
