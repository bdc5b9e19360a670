//! Key Vault secrets through `azure_security_keyvault_secrets` 1.x. Versions of one secret are
//! the key ring: the newest is current, older enabled ones stay valid for verification. The
//! caller (the key ring) decides how often to look; each look lists the versions (one call, so a
//! version added or disabled elsewhere is seen at once) and fetches only values it has not seen,
//! since a version's value never changes.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_security_keyvault_secrets::models::{SecretClientGetSecretOptions, SetSecretParameters};
use azure_security_keyvault_secrets::{ResourceExt, SecretClient, SecretClientOptions};
use chrono::Utc;
use futures::TryStreamExt;
use tokio::sync::Mutex;

use super::{store_error, to_chrono};
use crate::store::{SecretVersion, Secrets, StoreError, StoreResult};

/// A key ring needs the current version and the few before it, not years of history.
const MAX_VERSIONS: usize = 10;

pub struct KeyVaultSecrets {
    client: SecretClient,
    /// Values by (secret, version): immutable once written.
    values: Mutex<HashMap<(String, String), String>>,
}

impl KeyVaultSecrets {
    /// `options` lets tests point at a local fake (its transport and challenge checks).
    pub fn new(
        uri: &url::Url,
        credential: Arc<dyn TokenCredential>,
        options: Option<SecretClientOptions>,
    ) -> anyhow::Result<Self> {
        let mut options = options.unwrap_or_default();
        if options.client_options.transport.is_none() {
            options.client_options.transport = Some(super::transport::shared());
        }
        Ok(Self {
            client: SecretClient::new(uri.as_str(), credential, Some(options))?,
            values: Mutex::new(HashMap::new()),
        })
    }

    async fn fetch(&self, name: &str) -> StoreResult<Vec<SecretVersion>> {
        let pager = self
            .client
            .list_secret_properties_versions(name, None)
            .map_err(store_error)?;
        let listed: Vec<_> = match pager.try_collect().await {
            Ok(items) => items,
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => return Ok(vec![]),
            Err(e) => return Err(store_error(e)),
        };
        let mut enabled: Vec<(String, chrono::DateTime<Utc>)> = listed
            .into_iter()
            .filter(|p| {
                p.attributes
                    .as_ref()
                    .and_then(|a| a.enabled)
                    .unwrap_or(true)
            })
            .filter_map(|p| {
                let created = p
                    .attributes
                    .as_ref()
                    .and_then(|a| a.created)
                    .map(to_chrono)
                    .unwrap_or_default();
                let version = p.resource_id().ok()?.version?;
                Some((version, created))
            })
            .collect();
        enabled.sort_by_key(|v| std::cmp::Reverse(v.1));
        enabled.truncate(MAX_VERSIONS);
        let mut versions = Vec::with_capacity(enabled.len());
        for (version, created) in enabled {
            let key = (name.to_owned(), version.clone());
            if let Some(value) = self.values.lock().await.get(&key) {
                versions.push(SecretVersion {
                    version,
                    value: value.clone(),
                    created,
                });
                continue;
            }
            let options = SecretClientGetSecretOptions {
                secret_version: Some(version.clone()),
                ..Default::default()
            };
            let secret = self
                .client
                .get_secret(name, Some(options))
                .await
                .map_err(store_error)?
                .into_model()
                .map_err(store_error)?;
            let value = secret.value.unwrap_or_default();
            self.values.lock().await.insert(key, value.clone());
            versions.push(SecretVersion {
                version,
                value,
                created,
            });
        }
        Ok(versions)
    }
}

#[async_trait]
impl Secrets for KeyVaultSecrets {
    async fn versions(&self, name: &str) -> StoreResult<Vec<SecretVersion>> {
        self.fetch(name).await
    }

    async fn set(&self, name: &str, value: &str) -> StoreResult<SecretVersion> {
        let parameters = SetSecretParameters {
            value: Some(value.to_owned()),
            ..Default::default()
        };
        let secret = self
            .client
            .set_secret(name, parameters.try_into().map_err(store_error)?, None)
            .await
            .map_err(store_error)?
            .into_model()
            .map_err(store_error)?;
        let version = secret
            .resource_id()
            .ok()
            .and_then(|id| id.version)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("Key Vault returned no version")))?;
        Ok(SecretVersion {
            version,
            value: value.to_owned(),
            created: secret
                .attributes
                .and_then(|a| a.created)
                .map(to_chrono)
                .unwrap_or_else(Utc::now),
        })
    }

    async fn ping(&self) -> StoreResult<()> {
        // Any answer from the vault (a missing secret is a 404) proves it is reachable and
        // that our identity can authenticate.
        match self.client.get_secret("readiness-probe", None).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }
}
