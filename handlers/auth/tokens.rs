//! Access tokens: EdDSA JWTs with `kid`, 15 minutes, claims `sub`, `role`, `sid`, `jti`, `iss`,
//! `aud`. Verification accepts only EdDSA from our key ring and checks `iss`, `aud` and `exp`;
//! whether the session is still alive is the caller's next check (the cache). A token verified
//! once is answered from memory after that (see [`verify`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::{KeyRing, Verified};
use crate::settings::AuthSettings;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub sub: String,
    pub role: String,
    pub sid: String,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Always `access`: nothing else this service signs can pass for an access token.
    pub typ: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Signs an access token for a user's session; returns it with its lifetime in seconds.
pub async fn issue(
    keys: &KeyRing,
    settings: &AuthSettings,
    user_id: &str,
    role: &str,
    session_id: &str,
) -> Result<(String, u64), StoreError> {
    let ring = keys.keys().await?;
    let key = ring
        .first()
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("no signing key")))?;
    let now = chrono::Utc::now().timestamp();
    let ttl = settings.access_token_ttl.as_secs();
    let claims = AccessClaims {
        sub: user_id.to_owned(),
        role: role.to_owned(),
        sid: session_id.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        iat: now,
        exp: now + ttl as i64,
        typ: "access".into(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let token = encode(&header, &claims, &key.encoding)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("signing: {e}")))?;
    Ok((token, ttl))
}

/// The clock skew `exp` is allowed (jsonwebtoken's leeway).
const LEEWAY_SECONDS: u64 = 5;

/// Checks signature (EdDSA only, a known `kid`), issuer, audience, expiry and type.
///
/// A token verified before is answered from the ring's cache of verified tokens (by the
/// SHA-256 of the whole token, so no other string can hit it) while it is unexpired and the
/// ring has not changed: the Ed25519 check is most of a signed-in request's CPU, and a client
/// sends the same token for 15 minutes. Whether its session is still alive is not cached: the
/// caller checks that on every request.
pub async fn verify(
    keys: &KeyRing,
    settings: &AuthSettings,
    token: &str,
) -> Result<AccessClaims, TokenError> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(hit) = keys.verified.get(&digest)
        && hit.generation == keys.generation()
        && Instant::now() < hit.until
    {
        return Ok(hit.claims.clone());
    }
    let generation = keys.generation();
    let claims = verify_signed(keys, settings, token).await?;
    // Reusable until expiry (with the leeway `verify_signed` allowed), at most a refresh.
    let left = u64::try_from(claims.exp - chrono::Utc::now().timestamp())
        .unwrap_or(0)
        .saturating_add(LEEWAY_SECONDS);
    let until = Instant::now() + Duration::from_secs(left).min(keys.refresh());
    keys.verified.insert(
        digest,
        Arc::new(Verified {
            claims: claims.clone(),
            generation,
            until,
        }),
    );
    Ok(claims)
}

async fn verify_signed(
    keys: &KeyRing,
    settings: &AuthSettings,
    token: &str,
) -> Result<AccessClaims, TokenError> {
    let header = decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Invalid(format!(
            "algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| TokenError::Invalid("no kid".into()))?;
    let ring = keys.keys_knowing(&kid).await?;
    let key = ring
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| TokenError::Invalid("unknown kid".into()))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let data = decode::<AccessClaims>(token, &key.decoding, &validation)
        .map_err(|e| TokenError::Invalid(e.to_string()))?;
    if data.claims.typ != "access" {
        return Err(TokenError::Invalid("not an access token".into()));
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::store::embedded::FileSecrets;

    fn settings(ttl: &str) -> AuthSettings {
        let ttl = ttl.to_owned();
        Settings::from_lookup(move |k| (k == "ACCESS_TOKEN_TTL_SECONDS").then(|| ttl.clone()))
            .unwrap()
            .auth
    }

    async fn ring(dir: &tempfile::TempDir, retire_after: Duration, refresh: Duration) -> KeyRing {
        let secrets = Arc::new(FileSecrets::new(&dir.path().join("secrets.json")));
        KeyRing::new(secrets, retire_after, refresh)
    }

    #[tokio::test]
    async fn a_token_seen_before_is_checked_like_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings("900");
        let keys = ring(&dir, Duration::from_secs(960), Duration::from_secs(60)).await;
        let (token, _) = issue(&keys, &settings, "u1", "user", "s1").await.unwrap();
        let first = verify(&keys, &settings, &token).await.unwrap();
        let again = verify(&keys, &settings, &token).await.unwrap();
        assert_eq!(first, again);
        // Another string never hits the entry of the one verified.
        let mut tampered = token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            verify(&keys, &settings, &tampered).await,
            Err(TokenError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_cached_token_expires_with_its_exp() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings("1");
        let keys = ring(&dir, Duration::from_secs(960), Duration::from_secs(60)).await;
        let (token, _) = issue(&keys, &settings, "u1", "user", "s1").await.unwrap();
        verify(&keys, &settings, &token).await.unwrap();
        // Past exp and the 5 s leeway.
        tokio::time::sleep(Duration::from_millis(7_100)).await;
        assert!(matches!(
            verify(&keys, &settings, &token).await,
            Err(TokenError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_cached_token_stops_verifying_when_its_key_leaves_the_ring() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings("900");
        // A superseded key retires at once.
        let keys = ring(&dir, Duration::ZERO, Duration::from_secs(60)).await;
        let (token, _) = issue(&keys, &settings, "u1", "user", "s1").await.unwrap();
        verify(&keys, &settings, &token).await.unwrap();
        assert!(keys.rotate_if_older_than(Duration::ZERO).await.unwrap());
        // A new ring (the rotation's reload) without the old key: the cached answer no longer
        // counts, and the token is refused.
        keys.keys().await.unwrap();
        assert!(matches!(
            verify(&keys, &settings, &token).await,
            Err(TokenError::Invalid(_))
        ));
    }
}
