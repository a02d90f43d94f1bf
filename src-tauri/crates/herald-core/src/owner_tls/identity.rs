//! The owner API's key, kept in the keyring, and the certificate made from it at each start.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ErrorKind;
use crate::secrets::{Keyring, KeyringError};

/// The names every certificate carries, so that a client on the server itself can connect
/// by any of them.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error("{name:?} cannot be named in the owner API's certificate: it is neither a host name nor an IP address")]
    BadName { name: String },
    #[error("cannot make the owner API's TLS key or certificate: {detail}")]
    Crypto { detail: String },
}

impl IdentityError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            IdentityError::BadName { .. } => ErrorKind::Request,
            IdentityError::Keyring(_) | IdentityError::Crypto { .. } => ErrorKind::Environment,
        }
    }

    /// The way forward: the keyring's own (unlock it, start one on a server).
    pub fn hint(&self) -> Option<crate::Hint> {
        match self {
            IdentityError::Keyring(e) => e.hint(),
            IdentityError::BadName { .. } | IdentityError::Crypto { .. } => None,
        }
    }
}

fn crypto(e: impl std::fmt::Display) -> IdentityError {
    IdentityError::Crypto {
        detail: e.to_string(),
    }
}

/// Where [`ServerIdentity::load_or_create`] got the key from. Anything but `Kept` means a key
/// owners have never seen: every owner paired before must pair again, and the face says so in
/// its log (it alone knows whether any owner was paired, which tells a first start from a
/// lost key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOrigin {
    /// The key from the keyring: pins made while pairing still hold.
    Kept,
    /// There was no key in the keyring (a first start, or the entry was lost); a new one was
    /// made and stored.
    Made,
    /// The keyring's entry held no key Herald can read (edited by hand, or written by another
    /// program); it was replaced by a new one, which is no worse: the old one could not serve.
    Replaced,
}

impl IdentityOrigin {
    /// Whether owners paired before this start can no longer connect.
    pub fn owners_must_pair_again(self) -> bool {
        self != IdentityOrigin::Kept
    }
}

/// The owner API's key pair (ECDSA P-256, which every TLS stack speaks), and the pin owners
/// keep of it. `Debug` shows the fingerprint, never the key.
pub struct ServerIdentity {
    key: rcgen::KeyPair,
    spki_sha256: [u8; 32],
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// The key kept in `keyring`; when there is none (or none Herald can read), a new one,
    /// stored there before it is used so that what owners pin survives a restart. A locked or
    /// unreachable keyring is an error (with the keyring's hints): a key that could not be
    /// stored would change at the next start and strand every owner.
    pub fn load_or_create(
        keyring: &Keyring,
    ) -> Result<(ServerIdentity, IdentityOrigin), IdentityError> {
        let origin = match keyring.owner_api_tls_key()? {
            Some(pem) => match ServerIdentity::from_pkcs8_pem(pem.expose_secret()) {
                Ok(identity) => return Ok((identity, IdentityOrigin::Kept)),
                Err(_) => IdentityOrigin::Replaced,
            },
            None => IdentityOrigin::Made,
        };
        let identity = ServerIdentity::generate()?;
        keyring.set_owner_api_tls_key(&identity.to_pkcs8_pem())?;
        Ok((identity, origin))
    }

    /// A new key, kept nowhere: for tests, and for whoever stores it themselves.
    pub fn generate() -> Result<ServerIdentity, IdentityError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(crypto)?;
        Ok(ServerIdentity::from_key(key))
    }

    /// The key from its PKCS#8 PEM text, as the keyring keeps it.
    pub fn from_pkcs8_pem(pem: &str) -> Result<ServerIdentity, IdentityError> {
        let key = rcgen::KeyPair::from_pem(pem).map_err(crypto)?;
        Ok(ServerIdentity::from_key(key))
    }

    fn from_key(key: rcgen::KeyPair) -> ServerIdentity {
        use rcgen::PublicKeyData as _;
        let spki_sha256 = super::spki_sha256(&key.subject_public_key_info());
        ServerIdentity { key, spki_sha256 }
    }

    /// The private key as PKCS#8 PEM text, wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> SecretString {
        SecretString::from(self.key.serialize_pem())
    }

    /// The SHA-256 of the public key's SubjectPublicKeyInfo: what clients pin, and what
    /// pairing binds to. The same for every certificate made from this key.
    pub fn spki_sha256(&self) -> [u8; 32] {
        self.spki_sha256
    }

    /// [`Self::spki_sha256`] as people compare it (see [`super::fingerprint`]).
    pub fn fingerprint(&self) -> String {
        super::fingerprint(&self.spki_sha256)
    }

    /// A new self-signed certificate for this key, naming `localhost`, `127.0.0.1`, `::1` and
    /// `names` (host names or IP addresses, such as the public URL's host; `[…]` around an IPv6
    /// address is fine). Made at each start, so it never needs renewing; its dates matter to no
    /// Herald client (they check the key, not the certificate), only to tools that look.
    pub fn certificate(
        &self,
        names: &[impl AsRef<str>],
    ) -> Result<CertificateDer<'static>, IdentityError> {
        let mut sans: Vec<String> = Vec::new();
        let given = names.iter().map(|n| n.as_ref().trim());
        for name in LOOPBACK_NAMES.into_iter().chain(given) {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            let name = match name.parse::<IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => name.to_ascii_lowercase(),
            };
            if !name.is_empty() && !sans.contains(&name) {
                sans.push(name);
            }
        }
        let mut params = rcgen::CertificateParams::default();
        for name in sans {
            let san = match name.parse::<IpAddr>() {
                Ok(ip) => rcgen::SanType::IpAddress(ip),
                Err(_) => match rcgen::string::Ia5String::try_from(name.as_str()) {
                    Ok(dns) if plausible_host(&name) => rcgen::SanType::DnsName(dns),
                    _ => return Err(IdentityError::BadName { name }),
                },
            };
            params.subject_alt_names.push(san);
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Herald owner API");
        // A fresh serial each time: two different certificates with one issuer and serial
        // confuse the tools that look at them.
        let mut serial = [0u8; 16];
        getrandom::fill(&mut serial).map_err(crypto)?;
        serial[0] &= 0x7f;
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(397);
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&self.key).map_err(crypto)?;
        Ok(cert.der().clone())
    }

    /// The rustls server configuration the owner API listens with: a new certificate (see
    /// [`Self::certificate`]), this key, TLS 1.2 and 1.3, HTTP/1.1.
    pub fn server_config(
        &self,
        names: &[impl AsRef<str>],
    ) -> Result<Arc<rustls::ServerConfig>, IdentityError> {
        let cert = self.certificate(names)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(crypto)?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(crypto)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A DNS name as certificates carry it: labels of letters, digits and hyphens (IDNs in their
/// `xn--` form), optionally one leading `*.`.
fn plausible_host(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner_tls::leaf_spki_sha256;
    use crate::secrets::{MemoryKeyring, MemoryKeyringFailure};

    fn keyring() -> (MemoryKeyring, Keyring) {
        let memory = MemoryKeyring::new();
        let keyring = Keyring::new(memory.shared(), "svc", "install");
        (memory, keyring)
    }

    #[test]
    fn the_key_is_made_once_and_kept() {
        let (memory, keyring) = keyring();
        let (first, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
        assert_eq!(origin, IdentityOrigin::Made);
        assert!(origin.owners_must_pair_again());
        assert_eq!(memory.accounts("svc"), vec!["install/owner-api-tls-key"]);
        let (again, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
        assert_eq!(origin, IdentityOrigin::Kept);
        assert_eq!(again.spki_sha256(), first.spki_sha256());
        assert!(!format!("{again:?}").contains("PRIVATE"), "{again:?}");

        keyring.delete_owner_api_tls_key().unwrap();
        let (lost, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
        assert_eq!(origin, IdentityOrigin::Made);
        assert_ne!(lost.spki_sha256(), first.spki_sha256());

        keyring
            .set_owner_api_tls_key(&SecretString::from("not a key"))
            .unwrap();
        let (replaced, origin) = ServerIdentity::load_or_create(&keyring).unwrap();
        assert_eq!(origin, IdentityOrigin::Replaced);
        let (kept, _) = ServerIdentity::load_or_create(&keyring).unwrap();
        assert_eq!(kept.spki_sha256(), replaced.spki_sha256());
    }

    #[test]
    fn a_locked_keyring_is_an_error_and_nothing_is_made() {
        let (memory, keyring) = keyring();
        memory.fail_with(Some(MemoryKeyringFailure::Locked));
        let e = ServerIdentity::load_or_create(&keyring).unwrap_err();
        assert!(matches!(
            e,
            IdentityError::Keyring(KeyringError::Locked { .. })
        ));
        assert_eq!(e.kind(), ErrorKind::Environment);
        assert_eq!(
            e.hint(),
            KeyringError::Locked {
                detail: String::new()
            }
            .hint()
        );
        // A key that cannot be stored is not used: it would change at the next start.
        memory.fail_with(Some(MemoryKeyringFailure::Refused));
        assert!(matches!(
            ServerIdentity::load_or_create(&keyring),
            Err(IdentityError::Keyring(KeyringError::Refused { .. }))
        ));
        memory.fail_with(None);
        assert!(memory.accounts("svc").is_empty());
    }

    #[test]
    fn every_certificate_carries_the_same_key_and_the_names_asked_for() {
        let identity = ServerIdentity::generate().unwrap();
        let names = [
            "herald.example.org",
            "[2001:db8::1]",
            "192.0.2.7",
            "LOCALHOST",
        ];
        let a = identity.certificate(&names).unwrap();
        let b = identity.certificate(&[] as &[&str]).unwrap();
        assert_ne!(a, b);
        assert_eq!(leaf_spki_sha256(&a).unwrap(), identity.spki_sha256());
        assert_eq!(leaf_spki_sha256(&b).unwrap(), identity.spki_sha256());
        let der = a.as_ref();
        let has = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"herald.example.org") && has(b"localhost"));
        assert!(has(&[192, 0, 2, 7]) && has(&[127, 0, 0, 1]));
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert!(has(&v6.octets()));

        let pem = identity.to_pkcs8_pem();
        let reread = ServerIdentity::from_pkcs8_pem(pem.expose_secret()).unwrap();
        assert_eq!(reread.spki_sha256(), identity.spki_sha256());
        assert!(identity.server_config(&names).is_ok());
    }

    #[test]
    fn names_that_are_no_host_are_refused() {
        let identity = ServerIdentity::generate().unwrap();
        for bad in [
            "https://herald.example.org/",
            "two words",
            "a..b",
            "-x.org",
            "é.org",
        ] {
            assert!(
                matches!(
                    identity.certificate(&[bad]),
                    Err(IdentityError::BadName { .. })
                ),
                "{bad}"
            );
        }
    }
}
