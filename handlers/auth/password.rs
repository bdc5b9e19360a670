//! Passwords: argon2id with the design's parameters, hashed and verified on the blocking pool
//! behind a semaphore, so a burst of logins waits its turn instead of allocating 64 MiB each
//! at once. Unknown accounts are checked against a dummy hash so they take as long as known
//! ones. Strength is judged by zxcvbn.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::settings::AuthSettings;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: OnceLock<String>,
}

impl Passwords {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("setting ARGON2_MEMORY_KIB/ITERATIONS/PARALLELISM: {e}"))?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(settings.argon2_max_concurrency.max(1))),
            dummy: OnceLock::new(),
        })
    }

    fn argon(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon(params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing: {e}"))
        })
        .await?
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is no account,
    /// so both cases cost the same.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = match hash {
            Some(h) => h.to_owned(),
            None => match self.dummy.get() {
                Some(d) => d.clone(),
                None => {
                    let d = self.hash("dummy password for unknown accounts").await?;
                    self.dummy.get_or_init(|| d).clone()
                }
            },
        };
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        let params = self.params.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            Self::argon(params)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .await?;
        Ok(ok && known)
    }
}

/// Problems with a new password, for the `errors` of a 400; empty when it is acceptable.
pub fn problems(password: &str, user_inputs: &[&str]) -> Vec<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return vec![format!("Use at least {MIN_LENGTH} characters.")];
    }
    if length > MAX_LENGTH {
        return vec![format!("Use at most {MAX_LENGTH} characters.")];
    }
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    if (estimate.score() as u8) < 3 {
        let mut out = vec!["This password is too easy to guess.".to_owned()];
        if let Some(feedback) = estimate.feedback() {
            out.extend(feedback.suggestions().iter().map(|s| s.to_string()));
        }
        return out;
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_short_passwords_are_refused() {
        assert!(!problems("password123", &[]).is_empty());
        assert!(!problems("qwertyuiop", &[]).is_empty());
        assert!(!problems("short", &[]).is_empty());
        assert!(!problems(&"x".repeat(129), &[]).is_empty());
        assert!(problems("correct horse battery staple 42", &[]).is_empty());
        assert!(!problems("ada.lovelace@example.com", &["ada.lovelace@example.com"]).is_empty());
    }
}
