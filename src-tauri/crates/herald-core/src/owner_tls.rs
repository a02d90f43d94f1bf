//! TLS for the owner API (issue #16): the server's identity, and how owners' computers check it.
//!
//! An always-on Herald has no name a public CA would vouch for (a home server, a LAN address),
//! so it makes its own certificate, and owners' computers trust it by **pinning its public
//! key**: the SHA-256 of the key's SubjectPublicKeyInfo (SPKI), learned once while pairing.
//! Pinning the key, not the certificate, is what lets the certificate change freely: the key
//! lives in the keyring and outlives every certificate, and a certificate is made from it anew
//! at each start, so there is no certificate file to renew and renewing never forces owners to
//! pair again. Only losing the key does.
//!
//! Both ends are here, in the core, so the pin is computed by one function for both: the server
//! ([`ServerIdentity`]) and its clients (the window, the CLI, pairing: [`client_config`]). No
//! HTTP here; `herald-server` serves the owner API with the [`rustls::ServerConfig`] made here.
//! The crypto provider is rustls' `ring`, as for SMTP: one provider in the whole tree.

mod identity;
mod verify;

pub use identity::{IdentityError, IdentityOrigin, ServerIdentity};
pub use verify::{client_config, leaf_spki_sha256, PinMismatch, PinMode};

use sha2::{Digest, Sha256};

/// The SHA-256 of a DER-encoded SubjectPublicKeyInfo: what clients pin and pairing binds to.
pub fn spki_sha256(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

/// A pin as people compare it by eye: 64 hex digits in sixteen groups of four
/// (`3f0a 91c2 …`), the form the server prints and a face shows beside the pairing code.
pub fn fingerprint(pin: &[u8; 32]) -> String {
    let hex: Vec<String> = pin
        .chunks(2)
        .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
        .collect();
    hex.join(" ")
}

/// A pin as software keeps it (a config file, the pairing exchange): unpadded base64url,
/// 43 characters.
pub fn pin_text(pin: &[u8; 32]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pin)
}

/// Reads a pin in either form [`fingerprint`] or [`pin_text`] writes, hex with or without
/// spaces and colons; `None` for anything that is not exactly 32 bytes.
pub fn parse_pin(text: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    let hex: String = text.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let mut pin = [0u8; 32];
        for (i, byte) in pin.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        return Some(pin);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_printed_forms_read_back() {
        let pin: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        let f = fingerprint(&pin);
        assert_eq!(f.len(), 16 * 4 + 15);
        assert!(f.starts_with("030a 1118 "), "{f}");
        assert_eq!(parse_pin(&f), Some(pin));
        assert_eq!(parse_pin(&f.replace(' ', ":")), Some(pin));
        assert_eq!(parse_pin(&f.to_uppercase()), Some(pin));
        assert_eq!(pin_text(&pin).len(), 43);
        assert_eq!(parse_pin(&pin_text(&pin)), Some(pin));
        assert_eq!(parse_pin(&f[..f.len() - 2]), None);
        assert_eq!(parse_pin("not a pin"), None);
        assert_eq!(parse_pin(""), None);
    }
}
