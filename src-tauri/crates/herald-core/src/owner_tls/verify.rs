//! How owners' computers check the owner API: by the key, not by a CA or a host name.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// What a client accepts as the owner API.
#[derive(Debug, Clone)]
pub enum PinMode {
    /// Only a server whose key has this SPKI SHA-256 (learned while pairing). Host name, CA
    /// and dates are not looked at: the key is the whole identity, so the server can be
    /// reached by any address and its certificate can change at every start.
    Pin([u8; 32]),
    /// Any server, recording the SPKI SHA-256 of the one it talked to, for pairing: the
    /// pairing protocol then binds the code to that pin, so a machine in the middle (whose
    /// key is recorded instead) gains nothing. Recorded only once the server has proved, by
    /// its handshake signature, that it holds the key; the last handshake wins.
    Capture(Arc<Mutex<Option<[u8; 32]>>>),
}

impl PinMode {
    /// Capture mode and the slot it records into.
    pub fn capture() -> (PinMode, Arc<Mutex<Option<[u8; 32]>>>) {
        let slot = Arc::new(Mutex::new(None));
        (PinMode::Capture(slot.clone()), slot)
    }
}

/// Why a pinned connection was refused: the server's key is not the one paired with (another
/// server, a machine in the middle, or the server lost its key). Inside the rustls error as
/// `CertificateError::Other`, so a client can find it with `downcast_ref` and say "pair again"
/// rather than "TLS failed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server's key is not the one paired with (fingerprint {})", super::fingerprint(.found))]
pub struct PinMismatch {
    pub found: [u8; 32],
}

impl PinMismatch {
    /// The mismatch somewhere among `error`'s causes (a reqwest or hyper error, an
    /// `io::Error` around the rustls one), if that is why a connection failed: how a client
    /// tells "this is not the server you paired with" from any other failure.
    pub fn find_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a PinMismatch> {
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) =
            error.downcast_ref::<rustls::Error>()
        {
            return other.0.downcast_ref::<PinMismatch>();
        }
        // `io::Error` leaves the error it wraps out of `source()`; look inside it.
        let wrapped = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| PinMismatch::find_in(inner));
        wrapped.or_else(|| error.source().and_then(PinMismatch::find_in))
    }
}

/// The SPKI SHA-256 of a certificate's key.
pub fn leaf_spki_sha256(cert: &CertificateDer<'_>) -> Result<[u8; 32], rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    Ok(super::spki_sha256(&parsed.subject_public_key_info()))
}

/// A rustls client configuration (ring provider, TLS 1.2 and 1.3) that trusts the owner API
/// as `mode` says. Give it to reqwest with `ClientBuilder::tls_backend_preconfigured` (alias
/// `use_preconfigured_tls`). Capture mode does not resume sessions, so that every connection
/// shows its key.
pub fn client_config(mode: PinMode) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let capture = matches!(mode, PinMode::Capture(_));
    let verifier = Arc::new(SpkiVerifier {
        mode,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring's provider has cipher suites for both default versions; only a provider
        // without any could fail here.
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    if capture {
        config.resumption = rustls::client::Resumption::disabled();
    }
    config
}

#[derive(Debug)]
struct SpkiVerifier {
    mode: PinMode,
    algorithms: WebPkiSupportedAlgorithms,
}

impl SpkiVerifier {
    /// After the handshake signature is verified: in capture mode, the key has now proved
    /// itself and is recorded.
    fn proved(&self, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if let PinMode::Capture(slot) = &self.mode {
            let spki = leaf_spki_sha256(cert)?;
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(spki);
        }
        Ok(())
    }
}

impl ServerCertVerifier for SpkiVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let found = leaf_spki_sha256(end_entity)?;
        match &self.mode {
            // Not secret, but compared in constant time anyway: it costs nothing.
            PinMode::Pin(pin)
                if bool::from(subtle::ConstantTimeEq::ct_eq(&pin[..], &found[..])) =>
            {
                Ok(ServerCertVerified::assertion())
            }
            PinMode::Pin(_) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(PinMismatch { found })),
            ))),
            PinMode::Capture(_) => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let valid = rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)?;
        self.proved(cert)?;
        Ok(valid)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let valid = rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)?;
        self.proved(cert)?;
        Ok(valid)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
