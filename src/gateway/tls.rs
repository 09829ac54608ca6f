//! TLS for `wss://` (protocol §8) with rustls:
//! - `--tls`: normal WebPKI validation against the bundled Mozilla roots (`webpki-roots`);
//! - `--tls-fingerprint <sha256>`: pin the SHA-256 of the leaf certificate's DER. CA and hostname
//!   checks are then skipped (the gateway's auto-generated certificate is self-signed with no
//!   SAN), but the handshake signature is still verified with the certificate's key. A mismatch
//!   fails the handshake with an error that prints the fingerprint seen.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// How to authenticate the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// WebPKI roots + hostname verification.
    WebPki,
    /// Pin the leaf certificate's SHA-256 (64 lowercase hex chars).
    Pinned(String),
}

/// Normalise a fingerprint as the reference client does: trim, drop a `sha256:`/`sha-256`
/// prefix, remove every non-hex character, lower-case. `None` unless 64 hex digits remain.
pub fn normalize_fingerprint(input: &str) -> Option<String> {
    let mut s = input.trim().to_ascii_lowercase();
    for prefix in ["sha256:", "sha-256:", "sha256", "sha-256"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
            break;
        }
    }
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    (hex.len() == 64).then_some(hex)
}

/// SHA-256 of a DER certificate, lowercase hex.
pub fn fingerprint_of(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Format a hex fingerprint as `AA:BB:…` (what Node's `fingerprint256` prints).
pub fn colon_hex(fp: &str) -> String {
    fp.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug)]
struct PinnedVerifier {
    expected: String,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint_of(end_entity.as_ref());
        if seen == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "gateway tls fingerprint mismatch: expected {}, the gateway presented {} \
                 (sha256 {}); check --tls-fingerprint",
                self.expected,
                seen,
                colon_hex(&seen)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Errors building a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot configure TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// A rustls client configuration for `mode` (ring provider, TLS 1.2+).
pub fn client_config(mode: &TlsMode) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let cfg = match mode {
        TlsMode::WebPki => {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsMode::Pinned(fp) => {
            let verifier = PinnedVerifier {
                expected: fp.clone(),
                algs: signature_algs(&provider),
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(cfg))
}

fn signature_algs(p: &CryptoProvider) -> WebPkiSupportedAlgorithms {
    p.signature_verification_algorithms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_8_fingerprint_normalisation() {
        let fp = "ab".repeat(32);
        assert_eq!(normalize_fingerprint(&fp).as_deref(), Some(fp.as_str()));
        let colons = colon_hex(&fp);
        assert_eq!(normalize_fingerprint(&colons).as_deref(), Some(fp.as_str()));
        assert_eq!(
            normalize_fingerprint(&format!(" sha256:{}", fp.to_uppercase())).as_deref(),
            Some(fp.as_str())
        );
        assert_eq!(
            normalize_fingerprint(&format!("SHA-256 {colons}")).as_deref(),
            Some(fp.as_str())
        );
        assert_eq!(normalize_fingerprint("abcd"), None);
        assert_eq!(normalize_fingerprint(&"ab".repeat(33)), None);
    }

    #[test]
    fn configs_build() {
        assert!(client_config(&TlsMode::WebPki).is_ok());
        assert!(client_config(&TlsMode::Pinned("00".repeat(32))).is_ok());
    }
}
