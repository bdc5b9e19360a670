//! Access tokens: EdDSA JWTs with `kid`, 15 minutes, claims `sub`, `role`, `sid`, `jti`, `iss`,
//! `aud`. Verification accepts only EdDSA from our key ring and checks `iss`, `aud` and `exp`;
//! whether the session is still alive is the caller's next check (the cache).

use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;
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

/// Checks signature (EdDSA only, a known `kid`), issuer, audience, expiry and type.
pub async fn verify(
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
    validation.leeway = 5;
    let data = decode::<AccessClaims>(token, &key.decoding, &validation)
        .map_err(|e| TokenError::Invalid(e.to_string()))?;
    if data.claims.typ != "access" {
        return Err(TokenError::Invalid("not an access token".into()));
    }
    Ok(data.claims)
}
