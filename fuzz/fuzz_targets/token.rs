//! Invitation tokens and typed codes, as the confirmation site reads them from a URL or a form.
//!
//! - Arbitrary text through `parse`, `verify` and `verify_code` against a fixed key and claims
//!   never panics, and verifies only if it is the one token minted for those claims and
//!   that purpose (an unsubscribe token is no invitation).
//! - Any claims (input-derived) mint a token that parses and verifies, and a code that
//!   verifies however it is typed; neither passes for another purpose.
//! - A minted token put through input-driven edits (bit flips, replaced, inserted or removed
//!   characters, truncation) never verifies unless the edits left it unchanged.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use herald_core::token::{self, Claims, HmacKey, Purpose, KEY_LEN, NONCE_LEN, TOKEN_LEN};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Edit {
    FlipBit { pos: u8, bit: u8 },
    Replace { pos: u8, byte: u8 },
    Insert { pos: u8, byte: u8 },
    Remove { pos: u8 },
    Truncate { len: u8 },
    Append { byte: u8 },
}

/// Input-derived claims and edits for the round trip.
#[derive(Arbitrary, Debug)]
struct Derived<'a> {
    key: [u8; KEY_LEN],
    key_version: u32,
    invitation_id: i64,
    expires_at: i64,
    nonce: [u8; NONCE_LEN],
    edits: Vec<Edit>,
    email: &'a str,
}

/// The input is `TOKEN \0 CODE \0 REST`: what an attacker puts in `/i/<token>` and in the code
/// form, as plain text so that seeds can be written by hand (a real token and code), then
/// bytes for [`Derived`]. A NUL never occurs in a real token or code, so nothing is lost.
fn split(data: &[u8]) -> (&str, &str, &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let raw = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    let text = |b| std::str::from_utf8(b).unwrap_or_default();
    (text(raw), text(code), rest)
}

const FIXED_NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

fn fixed_claims() -> Claims<'static> {
    Claims {
        key_version: 1,
        invitation_id: 42,
        email: "ada@example.com",
        expires_at: 1_900_000_000,
        nonce: &FIXED_NONCE,
    }
}

fn accepts(key: &HmacKey, purpose: Purpose, claims: &Claims<'_>, s: &str) -> bool {
    match token::parse(s) {
        Ok(p) => token::verify(key, purpose, claims, &p),
        Err(_) => false,
    }
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let at = |pos: u8, len: usize| (pos as usize) % len.max(1);
    match *edit {
        Edit::FlipBit { pos, bit } if !bytes.is_empty() => {
            let i = at(pos, bytes.len());
            bytes[i] ^= 1 << (bit % 8);
        }
        Edit::Replace { pos, byte } if !bytes.is_empty() => {
            let i = at(pos, bytes.len());
            bytes[i] = byte;
        }
        Edit::Insert { pos, byte } => {
            let i = at(pos, bytes.len() + 1);
            bytes.insert(i, byte);
        }
        Edit::Remove { pos } if !bytes.is_empty() => {
            let i = at(pos, bytes.len());
            bytes.remove(i);
        }
        Edit::Truncate { len } => bytes.truncate(len as usize),
        Edit::Append { byte } => bytes.push(byte),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let (raw, typed_code, rest) = split(data);
    let Ok(input) = Derived::arbitrary(&mut Unstructured::new(rest)) else {
        return;
    };
    // 1. Arbitrary text against the fixed key and claims.
    let key = HmacKey::from_bytes(&[1; KEY_LEN]);
    let fixed = fixed_claims();
    let valid = token::mint(&key, Purpose::Invitation, &fixed);
    let unsubscribe = token::mint(&key, Purpose::Unsubscribe, &fixed);
    if let Ok(parsed) = token::parse(raw) {
        // Only a canonical, URL-safe token of the right length gets this far.
        assert_eq!(raw.len(), TOKEN_LEN);
        assert!(raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let ok = token::verify(&key, Purpose::Invitation, &fixed, &parsed);
        assert_eq!(ok, raw == valid.expose(), "a forged token verified");
        let ok = token::verify(&key, Purpose::Unsubscribe, &fixed, &parsed);
        assert_eq!(
            ok,
            raw == unsubscribe.expose(),
            "a forged unsubscribe token verified"
        );
    }
    let real_code = token::code(&key, &fixed);
    if token::verify_code(&key, &fixed, typed_code) {
        assert_eq!(
            token::normalise_code(typed_code).as_ref().map(|c| &c[..]),
            Some(real_code.expose().as_bytes()),
            "a wrong code verified"
        );
    }

    // 2. Round trip with input-derived claims.
    let key = HmacKey::from_bytes(&input.key);
    let claims = Claims {
        key_version: input.key_version,
        invitation_id: input.invitation_id,
        email: input.email,
        expires_at: input.expires_at,
        nonce: &input.nonce,
    };
    let minted = token::mint(&key, Purpose::Invitation, &claims);
    assert_eq!(minted.expose().len(), TOKEN_LEN);
    let parsed = token::parse(minted.expose()).expect("a minted token parses");
    assert_eq!(parsed.key_version, input.key_version);
    assert_eq!(parsed.nonce, input.nonce);
    assert!(token::verify(&key, Purpose::Invitation, &claims, &parsed));
    assert!(!token::verify(&key, Purpose::Unsubscribe, &claims, &parsed));
    let code = token::code(&key, &claims);
    assert!(token::verify_code(&key, &claims, code.expose()));
    assert!(token::verify_code(
        &key,
        &claims,
        &code.expose_grouped().to_lowercase()
    ));

    // 3. Edits to a valid token.
    let mut bytes = minted.expose().as_bytes().to_vec();
    for edit in &input.edits {
        apply(&mut bytes, edit);
    }
    let changed = bytes != minted.expose().as_bytes();
    let forged = String::from_utf8_lossy(&bytes);
    assert_eq!(
        accepts(&key, Purpose::Invitation, &claims, &forged),
        !changed,
        "an edited token verified (or an unedited one did not)"
    );
});
