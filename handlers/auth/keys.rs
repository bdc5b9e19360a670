//! The signing key ring: Ed25519 keys kept as versions of one secret (`jwt-signing-key`). The
//! newest version signs; every version still in the store verifies, so a rotation never logs
//! anyone out. The first key is made on first use when none exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
/// After a failed reload, how long the last good ring is served before the store is tried
/// again: a Key Vault hiccup neither fails signed-in requests nor gets a call per request.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The least time between two reloads caused by an unknown `kid`.
const UNKNOWN_KID_RELOAD: Duration = Duration::from_secs(5);

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
    /// How long a superseded key keeps verifying: the longest an access token it signed can
    /// still be alive.
    retire_after: Duration,
    /// How long the ring is served from memory before the store is read again (a new version
    /// written by another instance becomes visible within this).
    refresh: Duration,
    /// [`UNKNOWN_KID_RELOAD`]; shorter in tests.
    unknown_kid_reload: Duration,
    cached: Mutex<Option<Loaded>>,
    /// Changes whenever a reload finds another set of key ids: an entry of
    /// [`KeyRing::verified`] counts only for the generation it was verified in.
    generation: AtomicU64,
    /// Access tokens this ring verified, by the SHA-256 of the whole token (see
    /// `tokens::verify`).
    pub(super) verified: quick_cache::sync::Cache<[u8; 32], Arc<Verified>>,
}

/// A token's verified claims, the ring generation they were verified in, and until when they
/// may be reused: never past the token's expiry, nor past the ring's own refresh interval (so
/// a key withdrawn from the store stops verifying as soon as a reload would notice).
pub(super) struct Verified {
    pub claims: super::tokens::AccessClaims,
    pub generation: u64,
    pub until: Instant,
}

/// How many verified tokens are kept: about 15 minutes of distinct sessions of a busy
/// instance, a few hundred bytes each.
const VERIFIED_KEPT: usize = 50_000;

/// The last good ring and when to read the store again.
struct Loaded {
    keys: Arc<Vec<Key>>,
    /// The last time the store was read, whether that worked or not.
    attempted: Instant,
    next_reload: Instant,
}

/// Of the versions (newest first), those that may still verify a token: the newest, and each
/// older one whose successor appeared less than `retire_after` ago.
fn still_valid(
    versions: &[crate::store::SecretVersion],
    retire_after: Duration,
    now: DateTime<Utc>,
) -> Vec<&crate::store::SecretVersion> {
    let mut out = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let superseded_at = i.checked_sub(1).map(|newer| versions[newer].created);
        let valid =
            superseded_at.is_none_or(|at| (now - at).to_std().unwrap_or_default() < retire_after);
        if valid {
            out.push(version);
        }
    }
    out
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
    pub fn new(secrets: Arc<dyn Secrets>, retire_after: Duration, refresh: Duration) -> Self {
        Self {
            secrets,
            retire_after,
            refresh,
            unknown_kid_reload: UNKNOWN_KID_RELOAD,
            cached: Mutex::new(None),
            generation: AtomicU64::new(0),
            verified: quick_cache::sync::Cache::new(VERIFIED_KEPT),
        }
    }

    /// How long the ring is served before the store is read again.
    pub(super) fn refresh(&self) -> Duration {
        self.refresh
    }

    /// The generation of the key ids last loaded.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Every valid key, newest first; makes the first one when there is none. When the store
    /// cannot be read, the last good ring keeps serving (and the store is retried a few
    /// seconds later); only a ring that never loaded is an error.
    pub async fn keys(&self) -> StoreResult<Arc<Vec<Key>>> {
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        if let Some(loaded) = cached.as_ref()
            && now < loaded.next_reload
        {
            return Ok(loaded.keys.clone());
        }
        match self.load().await {
            Ok(keys) => {
                let kids = |ring: &[Key]| ring.iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
                let changed = cached
                    .as_ref()
                    .is_none_or(|old| kids(&old.keys) != kids(&keys));
                if changed {
                    // A key left (or joined) the ring: what it verified must be checked again.
                    self.generation.fetch_add(1, Ordering::AcqRel);
                    self.verified.clear();
                }
                *cached = Some(Loaded {
                    keys: keys.clone(),
                    attempted: now,
                    next_reload: now + self.refresh,
                });
                Ok(keys)
            }
            Err(e) => match cached.as_mut() {
                Some(loaded) => {
                    tracing::warn!(
                        "signing keys could not be reloaded, serving the last good ones: {e}"
                    );
                    loaded.attempted = now;
                    loaded.next_reload = now + RETRY_AFTER_FAILURE;
                    Ok(loaded.keys.clone())
                }
                None => Err(e),
            },
        }
    }

    /// Reads the ring from the store.
    async fn load(&self) -> StoreResult<Arc<Vec<Key>>> {
        let mut versions = self.secrets.versions(SECRET_NAME).await?;
        if versions.is_empty() {
            self.secrets.set(SECRET_NAME, &new_key_value()).await?;
            versions = self.secrets.versions(SECRET_NAME).await?;
        }
        let keys: Vec<Key> = still_valid(&versions, self.retire_after, Utc::now())
            .into_iter()
            .map(|v| make_key(&v.version, v.created, &v.value))
            .collect::<StoreResult<_>>()?;
        Ok(Arc::new(keys))
    }

    /// Makes the next [`KeyRing::keys`] read the store, keeping the current ring as the
    /// fallback should that read fail.
    async fn reload_next(&self) {
        if let Some(loaded) = self.cached.lock().await.as_mut() {
            loaded.next_reload = Instant::now();
        }
    }

    /// The ring, reloaded first when it does not know `kid` and was loaded more than a few
    /// seconds ago: a key another instance has just added verifies at once instead of after
    /// the cache's minute, while tokens with made-up ids reload the vault at most every
    /// [`UNKNOWN_KID_RELOAD`].
    pub async fn keys_knowing(&self, kid: &str) -> StoreResult<Arc<Vec<Key>>> {
        let keys = self.keys().await?;
        if keys.iter().any(|k| k.kid == kid) {
            return Ok(keys);
        }
        {
            let mut cached = self.cached.lock().await;
            let Some(loaded) = cached.as_mut() else {
                return Ok(keys);
            };
            if loaded.attempted.elapsed() < self.unknown_kid_reload {
                return Ok(keys);
            }
            loaded.next_reload = Instant::now();
        }
        self.keys().await
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
        self.reload_next().await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SecretVersion;

    fn version(name: &str, minutes_ago: i64) -> SecretVersion {
        SecretVersion {
            version: name.into(),
            value: String::new(),
            created: Utc::now() - chrono::Duration::minutes(minutes_ago),
        }
    }

    #[test]
    fn a_superseded_key_verifies_only_while_its_tokens_can_live() {
        let fifteen = Duration::from_secs(16 * 60);
        let versions = [version("c", 5), version("b", 60), version("a", 24 * 60)];
        let valid: Vec<&str> = still_valid(&versions, fifteen, Utc::now())
            .iter()
            .map(|v| v.version.as_str())
            .collect();
        // b was superseded 5 minutes ago: still valid. a was superseded an hour ago: retired.
        assert_eq!(valid, ["c", "b"]);
        assert_eq!(
            still_valid(&versions[2..], fifteen, Utc::now()).len(),
            1,
            "the newest always signs"
        );
    }

    /// Two instances share the vault: a key one of them adds is known to the other as soon as
    /// a token names it, not a cache interval later; a made-up id is simply unknown.
    #[tokio::test]
    async fn a_key_added_elsewhere_is_found_when_a_token_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let secrets: Arc<dyn Secrets> = Arc::new(crate::store::embedded::FileSecrets::new(
            &dir.path().join("keys.json"),
        ));
        let retire = Duration::from_secs(16 * 60);
        let minute = Duration::from_secs(60);
        let a = KeyRing::new(secrets.clone(), retire, minute);
        let mut b = KeyRing::new(secrets, retire, minute);
        b.unknown_kid_reload = Duration::ZERO;
        let first = b.keys().await.unwrap()[0].kid.clone();
        assert_eq!(a.keys().await.unwrap()[0].kid, first);

        assert!(a.rotate_if_older_than(Duration::ZERO).await.unwrap());
        let newest = a.keys().await.unwrap()[0].kid.clone();
        assert_ne!(newest, first);
        assert_eq!(
            b.keys().await.unwrap()[0].kid,
            first,
            "b still serves its cache"
        );
        let ring = b.keys_knowing(&newest).await.unwrap();
        assert_eq!(ring[0].kid, newest, "reloaded for the unknown kid");
        assert!(
            ring.iter().any(|k| k.kid == first),
            "the old key still verifies"
        );
        let ring = b.keys_knowing("made-up").await.unwrap();
        assert!(ring.iter().all(|k| k.kid != "made-up"));
    }
}
