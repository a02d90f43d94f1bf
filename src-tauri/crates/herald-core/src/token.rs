//! Invitation tokens and typed codes.
//!
//! A token is `base64url(format ‖ key version ‖ nonce ‖ HMAC-SHA256)`, 71 characters. The MAC
//! covers everything the token vouches for: a purpose label, the key version, the invitation id,
//! the normalised email, the expiry and the per-link nonce. Only the nonce and key version
//! travel in the token (the nonce is how the link is found); the rest comes from the store at
//! verification time, so changing the email or expiry in the database kills the link instead of
//! moving it. The database holds the nonce but never the MAC, and the key lives only in the OS
//! keyring: neither alone can produce a valid link.
//!
//! The typed code is a second MAC under a different purpose label, cut to 40 bits and written
//! as 8 Crockford base-32 characters. It is only ever checked for a known invitation and email,
//! with attempts limited, so 40 bits are plenty.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::clock::Timestamp;

pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
const FORMAT_V1: u8 = 1;
const WIRE_LEN: usize = 1 + 4 + NONCE_LEN + MAC_LEN;
/// Length of a token in characters; anything else is rejected before any work is done.
pub const TOKEN_LEN: usize = (WIRE_LEN * 8).div_ceil(6);
pub const CODE_LEN: usize = 8;
pub(crate) const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What a MAC is for. Each purpose has its own label, so a token made for one can never pass
/// as another (an unsubscribe token is no invitation link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The link in the invitation mail: accept or decline.
    Invitation,
    /// The short code typed on the confirmation site.
    Code,
    /// The one-click unsubscribe link (RFC 8058).
    Unsubscribe,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Invitation => b"herald/invitation/v1",
            Purpose::Code => b"herald/code/v1",
            Purpose::Unsubscribe => b"herald/unsubscribe/v1",
        }
    }
}

/// Everything a token vouches for.
#[derive(Debug, Clone, Copy)]
pub struct Claims<'a> {
    pub key_version: u32,
    pub invitation_id: i64,
    pub email: &'a str,
    pub expires_at: Timestamp,
    pub nonce: &'a [u8; NONCE_LEN],
}

/// A 256-bit HMAC key. The bytes are wiped when dropped; the prepared HMAC state is kept so
/// that each MAC costs two SHA-256 blocks fewer.
#[derive(Clone)]
pub struct HmacKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    prepared: Hmac<Sha256>,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKey({})", self.key_id())
    }
}

impl HmacKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<HmacKey, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(bytes.as_mut())?;
        Ok(HmacKey::from_bytes(&bytes))
    }

    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> HmacKey {
        let prepared =
            <Hmac<Sha256> as Mac>::new_from_slice(bytes).expect("HMAC accepts keys of any length");
        HmacKey {
            bytes: Zeroizing::new(*bytes),
            prepared,
        }
    }

    /// The form kept in the keyring (keyrings store text most portably).
    pub fn to_keyring_text(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.bytes.as_ref()))
    }

    pub fn from_keyring_text(text: &str) -> Option<HmacKey> {
        let raw = Zeroizing::new(URL_SAFE_NO_PAD.decode(text.trim()).ok()?);
        let bytes: &[u8; KEY_LEN] = raw.as_slice().try_into().ok()?;
        Some(HmacKey::from_bytes(bytes))
    }

    /// A public fingerprint (16 hex digits) stored beside the key version, so Herald notices
    /// when the keyring holds a different key than the one its links were made with.
    pub fn key_id(&self) -> String {
        let mut m = self.prepared.clone();
        m.update(b"herald/key-id/v1");
        let out = m.finalize().into_bytes();
        out[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(&self, purpose: Purpose, c: &Claims<'_>) -> [u8; MAC_LEN] {
        let mut m = self.prepared.clone();
        m.update(purpose.label());
        m.update(&[0]);
        m.update(&c.key_version.to_be_bytes());
        m.update(&c.invitation_id.to_be_bytes());
        // Length-prefixed so that no two claim sets encode to the same bytes.
        m.update(&(c.email.len() as u32).to_be_bytes());
        m.update(c.email.as_bytes());
        m.update(&c.expires_at.to_be_bytes());
        m.update(c.nonce);
        m.finalize().into_bytes().into()
    }
}

/// A minted token. It has no `Display` and its `Debug` is redacted, so it cannot slip into a
/// log line or a message by accident; the mailer asks for it explicitly.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The typed code, redacted like [`Token`].
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

impl Code {
    /// `ABCDEFGH`, as stored nowhere and compared in constant time.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `ABCD-EFGH`: two groups are easier to copy by eye.
    pub fn expose_grouped(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

pub fn mint(key: &HmacKey, purpose: Purpose, claims: &Claims<'_>) -> Token {
    let mut wire = [0u8; WIRE_LEN];
    wire[0] = FORMAT_V1;
    wire[1..5].copy_from_slice(&claims.key_version.to_be_bytes());
    wire[5..5 + NONCE_LEN].copy_from_slice(claims.nonce);
    wire[5 + NONCE_LEN..].copy_from_slice(&key.mac(purpose, claims));
    Token(URL_SAFE_NO_PAD.encode(wire))
}

/// The parts of a token that can be read without the key. Reading them proves nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Parsed {
    pub key_version: u32,
    pub nonce: [u8; NONCE_LEN],
    mac: [u8; MAC_LEN],
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parsed(v{}, <redacted>)", self.key_version)
    }
}

/// Why a token was refused. Deliberately one variant: a caller must not be able to tell a
/// forger which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this link is not valid")]
pub struct Malformed;

/// Reads a token's structure. Length is checked first, so oversized input costs nothing; the
/// base64 decoder is strict (no padding, canonical trailing bits), so every flipped character
/// either fails here or changes the bytes the MAC covers.
pub fn parse(token: &str) -> Result<Parsed, Malformed> {
    if token.len() != TOKEN_LEN {
        return Err(Malformed);
    }
    // One spare byte: the decoder's size estimate rounds up to whole 4-character groups.
    let mut wire = [0u8; WIRE_LEN + 1];
    let n = URL_SAFE_NO_PAD
        .decode_slice(token.as_bytes(), &mut wire)
        .map_err(|_| Malformed)?;
    if n != WIRE_LEN || wire[0] != FORMAT_V1 {
        return Err(Malformed);
    }
    let mut key_version = [0u8; 4];
    key_version.copy_from_slice(&wire[1..5]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&wire[5..5 + NONCE_LEN]);
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(&wire[5 + NONCE_LEN..WIRE_LEN]);
    Ok(Parsed {
        key_version: u32::from_be_bytes(key_version),
        nonce,
        mac,
    })
}

/// Checks a parsed token against the claims the store holds for its nonce. Constant-time in
/// the MAC comparison.
pub fn verify(key: &HmacKey, purpose: Purpose, claims: &Claims<'_>, token: &Parsed) -> bool {
    let expected = key.mac(purpose, claims);
    let mac_ok: bool = expected.ct_eq(&token.mac).into();
    // The version and nonce are how the claims were found; checking them is not secret.
    mac_ok & (token.key_version == claims.key_version) & (&token.nonce == claims.nonce)
}

pub fn code(key: &HmacKey, claims: &Claims<'_>) -> Code {
    let mac = key.mac(Purpose::Code, claims);
    let bits = u64::from_be_bytes([0, 0, 0, mac[0], mac[1], mac[2], mac[3], mac[4]]);
    let s = (0..CODE_LEN)
        .rev()
        .map(|i| CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char)
        .collect();
    Code(s)
}

/// Reads a code as people type it: any case, with spaces or hyphens, O for 0 and I or L for 1.
pub fn normalise_code(input: &str) -> Option<[u8; CODE_LEN]> {
    let mut out = [0u8; CODE_LEN];
    let mut n = 0;
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) || n == CODE_LEN {
            return None;
        }
        out[n] = c as u8;
        n += 1;
    }
    (n == CODE_LEN).then_some(out)
}

/// Checks a typed code in constant time.
pub fn verify_code(key: &HmacKey, claims: &Claims<'_>, typed: &str) -> bool {
    let Some(typed) = normalise_code(typed) else {
        return false;
    };
    code(key, claims).0.as_bytes().ct_eq(&typed).into()
}

/// A random per-link nonce from the OS CSPRNG.
pub fn new_nonce() -> Result<[u8; NONCE_LEN], getrandom::Error> {
    let mut n = [0u8; NONCE_LEN];
    getrandom::fill(&mut n)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NONCE: [u8; NONCE_LEN] = [3; NONCE_LEN];

    fn key() -> HmacKey {
        HmacKey::from_bytes(&[1; KEY_LEN])
    }

    fn claims() -> Claims<'static> {
        Claims {
            key_version: 1,
            invitation_id: 42,
            email: "ada@example.com",
            expires_at: 1_900_000_000,
            nonce: &NONCE,
        }
    }

    fn accepts(token: &str, c: &Claims<'_>) -> bool {
        parse(token).is_ok_and(|p| verify(&key(), Purpose::Invitation, c, &p))
    }

    #[test]
    fn a_minted_token_verifies_and_is_url_safe() {
        let t = mint(&key(), Purpose::Invitation, &claims());
        assert_eq!(t.expose().len(), TOKEN_LEN);
        assert!(t
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(accepts(t.expose(), &claims()));
    }

    #[test]
    fn every_claim_is_bound() {
        let t = mint(&key(), Purpose::Invitation, &claims());
        let other_nonce = [4; NONCE_LEN];
        let variants = [
            Claims {
                key_version: 2,
                ..claims()
            },
            Claims {
                invitation_id: 43,
                ..claims()
            },
            Claims {
                email: "eve@example.com",
                ..claims()
            },
            Claims {
                expires_at: 1_900_000_001,
                ..claims()
            },
            Claims {
                nonce: &other_nonce,
                ..claims()
            },
        ];
        for c in &variants {
            assert!(!accepts(t.expose(), c), "accepted with {c:?}");
        }
    }

    #[test]
    fn another_key_or_purpose_is_refused() {
        let t = mint(&key(), Purpose::Invitation, &claims());
        let p = parse(t.expose()).unwrap();
        let other = HmacKey::from_bytes(&[2; KEY_LEN]);
        assert!(!verify(&other, Purpose::Invitation, &claims(), &p));
        assert!(!verify(&key(), Purpose::Unsubscribe, &claims(), &p));
        let u = mint(&key(), Purpose::Unsubscribe, &claims());
        assert!(!accepts(u.expose(), &claims()));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let t = mint(&key(), Purpose::Invitation, &claims());
        let c = code(&key(), &claims());
        let p = parse(t.expose()).unwrap();
        for s in [
            format!("{t:?}"),
            format!("{c:?}"),
            format!("{p:?}"),
            format!("{:?}", key()),
        ] {
            assert!(!s.contains(t.expose()) && !s.contains(c.expose()), "{s}");
        }
    }

    #[test]
    fn keys_round_trip_through_keyring_text() {
        let k = HmacKey::generate().unwrap();
        let back = HmacKey::from_keyring_text(&k.to_keyring_text()).unwrap();
        assert_eq!(k.key_id(), back.key_id());
        assert_ne!(k.key_id(), key().key_id());
        assert!(HmacKey::from_keyring_text("too short").is_none());
    }

    #[test]
    fn codes_are_typed_forgivingly() {
        let c = code(&key(), &claims());
        assert_eq!(c.expose().len(), CODE_LEN);
        let grouped = c.expose_grouped().to_lowercase();
        assert!(verify_code(&key(), &claims(), &grouped));
        assert!(verify_code(&key(), &claims(), &format!(" {} ", c.expose())));
        assert!(!verify_code(&key(), &claims(), "0000-0000") || c.expose() == "00000000");
        assert!(!verify_code(&key(), &claims(), ""));
        assert!(!verify_code(&key(), &claims(), &format!("{}0", c.expose())));
        let other = Claims {
            invitation_id: 7,
            ..claims()
        };
        assert!(!verify_code(&key(), &other, c.expose()) || code(&key(), &other) == c);
    }

    proptest! {
        #[test]
        fn any_flipped_bit_is_refused(pos in 0usize..TOKEN_LEN, bit in 0u8..6) {
            let t = mint(&key(), Purpose::Invitation, &claims());
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut bytes = t.expose().as_bytes().to_vec();
            let idx = alphabet.iter().position(|&b| b == bytes[pos]).unwrap();
            bytes[pos] = alphabet[idx ^ (1 << bit)];
            let forged = String::from_utf8(bytes).unwrap();
            prop_assert!(!accepts(&forged, &claims()));
        }

        #[test]
        fn truncated_or_extended_tokens_are_refused(cut in 0usize..TOKEN_LEN, extra in "[A-Za-z0-9_-]{1,8}") {
            let t = mint(&key(), Purpose::Invitation, &claims());
            let extended = format!("{}{}", t.expose(), extra);
            prop_assert!(!accepts(&t.expose()[..cut], &claims()));
            prop_assert!(!accepts(&extended, &claims()));
        }

        #[test]
        fn random_strings_are_refused(s in "\\PC{0,100}") {
            prop_assert!(!accepts(&s, &claims()));
        }

        #[test]
        fn random_well_formed_tokens_are_refused(bytes in proptest::collection::vec(any::<u8>(), 52)) {
            let mut wire = vec![FORMAT_V1];
            wire.extend_from_slice(&bytes);
            let s = URL_SAFE_NO_PAD.encode(&wire);
            prop_assert!(!accepts(&s, &claims()));
        }
    }
}
