//! The node's Ed25519 device identity (`<state>/identity/device.json`, protocol §3.3–3.4, §4.5)
//! and the device-proof payloads it signs in `connect`.
//!
//! - `device.id` = lowercase hex SHA-256 of the raw 32-byte public key;
//! - `publicKey` / `signature` = base64url without padding;
//! - the file stores SPKI / PKCS#8 PEM exactly like the TypeScript host, so the files are
//!   interchangeable. A missing file creates a new identity; an unreadable or inconsistent one is
//!   an error (never silently replaced: a new identity means pairing again).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::state::{StateError, read_state_file, write_atomic_0600};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (followed by the 32-byte key).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of an Ed25519 PKCS#8 v1 private key (followed by the 32-byte seed).
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

const FIX: &str = "restore it from a backup, or delete it to create a new device identity \
                   (the node must then be approved again with `openclaw devices approve`)";

/// Which device-proof payload version to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    V2,
    V3,
}

/// Fields of the device-proof payload (protocol §3.4).
#[derive(Debug, Clone)]
pub struct ProofFields<'a> {
    pub client_id: &'a str,
    pub client_mode: &'a str,
    pub role: &'a str,
    pub scopes: &'a [String],
    pub signed_at_ms: u64,
    /// `auth.token ?? auth.deviceToken ?? ""`.
    pub token: &'a str,
    pub nonce: &'a str,
    pub platform: &'a str,
    pub device_family: &'a str,
}

/// Trim and lower-case ASCII A–Z only (no Unicode folding), as the gateway normalises v3 fields.
fn lower_ascii(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// The pipe-joined payload string for `device_id`.
pub fn proof_payload(version: SignatureVersion, device_id: &str, f: &ProofFields<'_>) -> String {
    let scopes = f.scopes.join(",");
    let base = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}",
        device_id,
        f.client_id,
        f.client_mode,
        f.role,
        scopes,
        f.signed_at_ms,
        f.token,
        f.nonce.trim()
    );
    match version {
        SignatureVersion::V2 => format!("v2|{base}"),
        SignatureVersion::V3 => format!(
            "v3|{base}|{}|{}",
            lower_ascii(f.platform),
            lower_ascii(f.device_family)
        ),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceFile {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_key_pem: Option<String>,
    /// Legacy variant: raw base64 keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_key: Option<String>,
    #[serde(default)]
    created_at_ms: u64,
}

/// An Ed25519 device identity.
pub struct DeviceIdentity {
    key: SigningKey,
    device_id: String,
    public_key_b64url: String,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl DeviceIdentity {
    /// An identity from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let raw = key.verifying_key().to_bytes();
        Self {
            device_id: hex::encode(Sha256::digest(raw)),
            public_key_b64url: URL_SAFE_NO_PAD.encode(raw),
            key,
        }
    }

    /// A fresh random identity.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("identity").join("device.json")
    }

    /// Load `identity/device.json`, creating a new identity when the file does not exist.
    pub fn load_or_create(state_dir: &Path) -> Result<Self, StateError> {
        let path = Self::path(state_dir);
        match read_state_file(&path)? {
            Some(text) => {
                let (ident, rewrite) = Self::parse(&path, &text)?;
                if rewrite {
                    ident.save(&path)?;
                }
                Ok(ident)
            }
            None => {
                let ident = Self::generate();
                ident.save(&path)?;
                Ok(ident)
            }
        }
    }

    /// Returns the identity and whether the file should be rewritten (stale `deviceId`).
    fn parse(path: &Path, text: &str) -> Result<(Self, bool), StateError> {
        let corrupt = |message: String| StateError::Corrupt {
            path: path.to_path_buf(),
            message,
            fix: FIX,
        };
        let file: DeviceFile =
            serde_json::from_str(text).map_err(|e| corrupt(format!("invalid JSON: {e}")))?;
        let seed: [u8; 32] = if let Some(pem_text) = &file.private_key_pem {
            let p = pem::parse(pem_text)
                .map_err(|e| corrupt(format!("privateKeyPem is not PEM: {e}")))?;
            let der = p.contents();
            if p.tag() != "PRIVATE KEY"
                || der.len() != PKCS8_PREFIX.len() + 32
                || der[..PKCS8_PREFIX.len()] != PKCS8_PREFIX
            {
                return Err(corrupt(
                    "privateKeyPem is not an Ed25519 PKCS#8 private key".into(),
                ));
            }
            der[PKCS8_PREFIX.len()..]
                .try_into()
                .map_err(|_| corrupt("privateKeyPem has a bad length".into()))?
        } else if let Some(raw) = &file.private_key {
            let bytes = URL_SAFE_NO_PAD
                .decode(raw.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(raw))
                .map_err(|e| corrupt(format!("privateKey is not base64: {e}")))?;
            match bytes.len() {
                32 | 64 => bytes[..32]
                    .try_into()
                    .map_err(|_| corrupt("privateKey has a bad length".into()))?,
                n => return Err(corrupt(format!("privateKey has {n} bytes, expected 32"))),
            }
        } else {
            return Err(corrupt("no privateKeyPem".into()));
        };
        let ident = Self::from_seed(seed);
        if let Some(pub_pem) = &file.public_key_pem {
            let p = pem::parse(pub_pem)
                .map_err(|e| corrupt(format!("publicKeyPem is not PEM: {e}")))?;
            if p.contents() != ident.spki_der().as_slice() {
                return Err(corrupt(
                    "publicKeyPem does not match privateKeyPem".to_string(),
                ));
            }
        }
        let rewrite = file.device_id != ident.device_id
            || file.version != 1
            || file.private_key_pem.is_none();
        Ok((ident, rewrite))
    }

    fn spki_der(&self) -> Vec<u8> {
        let mut v = SPKI_PREFIX.to_vec();
        v.extend_from_slice(&self.key.verifying_key().to_bytes());
        v
    }

    fn pkcs8_der(&self) -> Vec<u8> {
        let mut v = PKCS8_PREFIX.to_vec();
        v.extend_from_slice(&self.key.to_bytes());
        v
    }

    fn save(&self, path: &Path) -> Result<(), StateError> {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let cfg = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        let file = DeviceFile {
            version: 1,
            device_id: self.device_id.clone(),
            public_key_pem: Some(pem::encode_config(
                &pem::Pem::new("PUBLIC KEY", self.spki_der()),
                cfg,
            )),
            private_key_pem: Some(pem::encode_config(
                &pem::Pem::new("PRIVATE KEY", self.pkcs8_der()),
                cfg,
            )),
            public_key: None,
            private_key: None,
            created_at_ms: created,
        };
        let mut text = serde_json::to_string_pretty(&file).map_err(|e| StateError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        write_atomic_0600(path, text.as_bytes())
    }

    /// 64 lowercase hex chars.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Raw public key, base64url without padding (43 chars).
    pub fn public_key_b64url(&self) -> &str {
        &self.public_key_b64url
    }

    /// Sign `payload` (UTF-8 bytes); base64url without padding (86 chars).
    pub fn sign(&self, payload: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.key.sign(payload.as_bytes()).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_seed() -> [u8; 32] {
        let mut s = [0u8; 32];
        for (i, b) in s.iter_mut().enumerate() {
            *b = i as u8;
        }
        s
    }

    #[test]
    fn spec_3_4_test_vector() {
        let id = DeviceIdentity::from_seed(vector_seed());
        assert_eq!(
            id.public_key_b64url(),
            "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
        );
        assert_eq!(
            id.device_id(),
            "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c"
        );
        let payload = proof_payload(
            SignatureVersion::V3,
            id.device_id(),
            &ProofFields {
                client_id: "node-host",
                client_mode: "node",
                role: "node",
                scopes: &[],
                signed_at_ms: 1737264000000,
                token: "shared-token",
                nonce: "00000000-0000-4000-8000-000000000000",
                platform: "linux",
                device_family: "Linux",
            },
        );
        assert_eq!(
            payload,
            "v3|56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c|node-host|node|node||1737264000000|shared-token|00000000-0000-4000-8000-000000000000|linux|linux"
        );
        assert_eq!(
            id.sign(&payload),
            "2rsspaxD3xWjUN6Es0C9KNnIVmOMJnq1w-EdOUCmzn0ptkYOYkhh0B2AiHexGwcGhUzt9Eg10Qccw6lURPDYAg"
        );
    }

    #[test]
    fn v2_payload_has_no_platform_fields() {
        let p = proof_payload(
            SignatureVersion::V2,
            "d",
            &ProofFields {
                client_id: "node-host",
                client_mode: "node",
                role: "node",
                scopes: &[],
                signed_at_ms: 5,
                token: "",
                nonce: " n ",
                platform: "linux",
                device_family: "Linux",
            },
        );
        assert_eq!(p, "v2|d|node-host|node|node||5||n");
    }

    #[test]
    fn identity_persists_as_pem_0600_and_reloads_identically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = DeviceIdentity::load_or_create(dir.path()).unwrap();
        let path = DeviceIdentity::path(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("BEGIN PRIVATE KEY"), "{text}");
        assert!(text.contains("BEGIN PUBLIC KEY"), "{text}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = DeviceIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(a.device_id(), b.device_id());
        assert_eq!(a.public_key_b64url().len(), 43);
        assert_eq!(a.sign("x").len(), 86);
    }

    #[test]
    fn corrupt_identity_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = DeviceIdentity::path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"version\":1,\"privateKeyPem\":\"garbage\"}").unwrap();
        let err = DeviceIdentity::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("device.json"), "{err}");
        assert!(err.contains("devices approve"), "{err}");
        // the file is left untouched
        assert!(std::fs::read_to_string(&path).unwrap().contains("garbage"));
    }

    #[test]
    fn stale_device_id_in_file_is_recomputed() {
        let dir = tempfile::tempdir().unwrap();
        let a = DeviceIdentity::load_or_create(dir.path()).unwrap();
        let path = DeviceIdentity::path(dir.path());
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["deviceId"] = "wrong".into();
        std::fs::write(&path, v.to_string()).unwrap();
        let b = DeviceIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(a.device_id(), b.device_id());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains(a.device_id())
        );
    }
}
