//! Two-factor sign-in with TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, as every
//! authenticator app takes it) and one-time recovery codes.
//!
//! The shared secret is kept sealed (AES-256-GCM) under a key held in the secrets store
//! (`mfa-key`, Key Vault in Azure), so a copy of the user documents alone does not give the
//! second factor away. A code is accepted one step either side of now, and never twice: the
//! step it matched is stored, and a code of that step or an earlier one is refused. Recovery
//! codes are stored as SHA-256 hashes and removed when used.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, TOTP};

use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::StoreError;

const KEY_NAME: &str = "mfa-key";
const STEP: u64 = 30;
const DIGITS: usize = 6;
pub const RECOVERY_CODES: usize = 10;

/// The second factor as stored on the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaDoc {
    /// Sealed secret of the confirmed factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Sealed secret of a set-up not confirmed yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// SHA-256 of each unused recovery code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery: Vec<String>,
    /// The last time step a code was accepted for.
    #[serde(default)]
    pub last_step: u64,
}

impl MfaDoc {
    pub fn enabled(&self) -> bool {
        self.secret.is_some()
    }
}

pub fn invalid() -> ApiError {
    ApiError::new(Code::MfaInvalid, "The code is wrong, expired or used.")
}

/// The sealing key's versions, made on first use.
async fn keys(state: &AppState) -> ApiResult<Vec<crate::store::SecretVersion>> {
    let secrets = &state.stores.secrets;
    let mut versions = secrets.versions(KEY_NAME).await?;
    if versions.is_empty() {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        secrets.set(KEY_NAME, &STANDARD.encode(key)).await?;
        versions = secrets.versions(KEY_NAME).await?;
    }
    Ok(versions)
}

fn cipher(value: &str) -> ApiResult<Aes256Gcm> {
    let key = STANDARD
        .decode(value)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("mfa key: {e}")))?;
    Aes256Gcm::new_from_slice(&key).map_err(|e| ApiError::internal(anyhow::anyhow!("mfa key: {e}")))
}

/// `{keyVersion}.{nonce}.{ciphertext}`, base64 parts.
async fn seal(state: &AppState, secret: &[u8]) -> ApiResult<String> {
    let versions = keys(state).await?;
    let newest = &versions[0];
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(&newest.value)?
        .encrypt(Nonce::from_slice(&nonce), secret)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("sealing the mfa secret failed")))?;
    Ok(format!(
        "{}.{}.{}",
        newest.version,
        STANDARD.encode(nonce),
        STANDARD.encode(sealed)
    ))
}

async fn open(state: &AppState, sealed: &str) -> ApiResult<Vec<u8>> {
    let broken = || ApiError::internal(anyhow::anyhow!("a sealed mfa secret does not open"));
    let mut parts = sealed.splitn(3, '.');
    let (Some(version), Some(nonce), Some(data)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(broken());
    };
    let versions = keys(state).await?;
    let key = versions
        .iter()
        .find(|v| v.version == version)
        .ok_or(StoreError::NotFound)
        .map_err(|_| broken())?;
    let nonce = STANDARD.decode(nonce).map_err(|_| broken())?;
    let data = STANDARD.decode(data).map_err(|_| broken())?;
    if nonce.len() != 12 {
        return Err(broken());
    }
    cipher(&key.value)?
        .decrypt(Nonce::from_slice(&nonce), data.as_slice())
        .map_err(|_| broken())
}

fn totp(secret: Vec<u8>, account: &str) -> ApiResult<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP,
        secret,
        Some("portal".into()),
        account.to_owned(),
    )
    .map_err(|e| ApiError::internal(anyhow::anyhow!("totp: {e}")))
}

/// A new factor for `account` (shown in authenticator apps): its sealed secret, the base32
/// secret and the `otpauth://` URI.
pub async fn new_secret(state: &AppState, account: &str) -> ApiResult<(String, String, String)> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    let generator = totp(secret.clone(), account)?;
    Ok((
        seal(state, &secret).await?,
        generator.get_secret_base32(),
        generator.get_url(),
    ))
}

/// The step `code` matches for the sealed secret, one step of drift either way, if any.
pub async fn matching_step(state: &AppState, sealed: &str, code: &str) -> ApiResult<Option<u64>> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let generator = totp(open(state, sealed).await?, "")?;
    let now = chrono::Utc::now().timestamp().max(0) as u64 / STEP;
    Ok([now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| {
            let expected = generator.generate(step * STEP);
            // Compared in constant time: a code is a secret.
            expected.len() == code.len()
                && expected
                    .bytes()
                    .zip(code.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }))
}

/// Ten recovery codes (`xxxxx-xxxxx`, base32) and their hashes.
pub fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut raw = [0u8; 7];
            rand::rng().fill_bytes(&mut raw);
            let text = data_encoding::BASE32_NOPAD.encode(&raw).to_lowercase();
            format!("{}-{}", &text[..5], &text[5..10])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

pub fn recovery_hash(code: &str) -> String {
    crate::auth::sessions::hash(&code.trim().to_lowercase())
}
