//! The signing key ring: Ed25519 keys kept as versions of one secret (`jwt-signing-key`). The
//! newest version signs; every version still in the store verifies, so a rotation never logs
//! anyone out. The first key is made on first use when none exists.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::store::{Secrets, StoreError, StoreResult};

/// The secret whose versions are the key ring.
pub const SECRET_NAME: &str = "jwt-signing-key";
/// How long the ring is served from memory before the store is read again (a new version
/// written by another instance becomes visible within this).
const REFRESH: Duration = Duration::from_secs(60);

/// What one secret version holds.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    alg: String,
    /// PKCS#8 DER, base64.
    private_key: String,
}

pub struct Key {
    pub kid: String,
    pub created: DateTime<Utc>,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// The public key, base64url (the JWK `x`).
    pub public_x: String,
}

pub struct KeyRing {
    secrets: Arc<dyn Secrets>,
    cached: Mutex<Option<(Instant, Arc<Vec<Key>>)>>,
}

fn make_key(version: &str, created: DateTime<Utc>, value: &str) -> StoreResult<Key> {
    let stored: StoredKey = serde_json::from_str(value)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("signing key {version}: {e}")))?;
    if stored.alg != "EdDSA" {
        return Err(StoreError::Other(anyhow::anyhow!(
            "signing key {version}: unsupported alg {}",
            stored.alg
        )));
    }
    let der = STANDARD
        .decode(&stored.private_key)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("signing key {version}: {e}")))?;
    let signing = ed25519_dalek::pkcs8::DecodePrivateKey::from_pkcs8_der(&der)
        .map(|k: SigningKey| k)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("signing key {version}: {e}")))?;
    let public_x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let decoding = DecodingKey::from_ed_components(&public_x)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("signing key {version}: {e}")))?;
    Ok(Key {
        kid: version.to_owned(),
        created,
        encoding: EncodingKey::from_ed_der(&der),
        decoding,
        public_x,
    })
}

/// A fresh Ed25519 key as a secret value.
fn new_key_value() -> String {
    let signing = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let der = signing
        .to_pkcs8_der()
        .expect("an Ed25519 key encodes as PKCS#8");
    serde_json::to_string(&StoredKey {
        alg: "EdDSA".into(),
        private_key: STANDARD.encode(der.as_bytes()),
    })
    .expect("serialisable")
}

impl KeyRing {
    pub fn new(secrets: Arc<dyn Secrets>) -> Self {
        Self {
            secrets,
            cached: Mutex::new(None),
        }
    }

    /// Every valid key, newest first; makes the first one when there is none.
    pub async fn keys(&self) -> StoreResult<Arc<Vec<Key>>> {
        let mut cached = self.cached.lock().await;
        if let Some((at, keys)) = cached.as_ref()
            && at.elapsed() < REFRESH
        {
            return Ok(keys.clone());
        }
        let mut versions = self.secrets.versions(SECRET_NAME).await?;
        if versions.is_empty() {
            self.secrets.set(SECRET_NAME, &new_key_value()).await?;
            versions = self.secrets.versions(SECRET_NAME).await?;
        }
        let keys: Vec<Key> = versions
            .iter()
            .map(|v| make_key(&v.version, v.created, &v.value))
            .collect::<StoreResult<_>>()?;
        let keys = Arc::new(keys);
        *cached = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// Adds a new newest key when the current one is older than `max_age`; returns whether it
    /// did. Older keys stay and keep verifying.
    pub async fn rotate_if_older_than(&self, max_age: Duration) -> StoreResult<bool> {
        let keys = self.keys().await?;
        let newest = keys.first().map(|k| k.created).unwrap_or_default();
        let age = (Utc::now() - newest).to_std().unwrap_or_default();
        if age < max_age {
            return Ok(false);
        }
        self.secrets.set(SECRET_NAME, &new_key_value()).await?;
        *self.cached.lock().await = None;
        Ok(true)
    }

    /// The JWKS document of every valid key.
    pub async fn jwks(&self) -> StoreResult<serde_json::Value> {
        let keys = self.keys().await?;
        let keys: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": k.public_x,
                    "kid": k.kid,
                    "use": "sig",
                    "alg": "EdDSA",
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }
}
