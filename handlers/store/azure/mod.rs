//! The Azure implementations: Cosmos DB, Blob and Queue Storage, Key Vault (official 1.x SDK
//! crates) and Redis (the `redis` crate's connection manager). Every client is built once,
//! without a network call, and connects on first use.

pub mod blob;
pub mod cosmos;
mod cosmos_query;
pub mod keyvault;
pub mod queue;
pub mod redis;
pub mod shared_key;
pub mod transport;

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};

use super::StoreError;
use crate::settings::Settings;

/// The app's identity in Azure: the user-assigned managed identity named by `AZURE_CLIENT_ID`,
/// or the system-assigned one. Building it reads the environment only.
pub fn credential(settings: &Settings) -> anyhow::Result<Arc<dyn TokenCredential>> {
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: settings
            .azure_client_id
            .clone()
            .map(UserAssignedId::ClientId),
        client_options: azure_core::http::ClientOptions {
            transport: Some(transport::shared()),
            ..Default::default()
        },
    };
    Ok(ManagedIdentityCredential::new(Some(options))?)
}

/// Maps an SDK error by its HTTP status to the store's error kinds.
pub(crate) fn store_error(e: azure_core::Error) -> StoreError {
    match e.kind() {
        ErrorKind::HttpResponse { status, .. } => match u16::from(*status) {
            404 => StoreError::NotFound,
            409 => StoreError::Conflict,
            412 => StoreError::PreconditionFailed,
            408 | 429 | 500..=599 => StoreError::Unavailable(e.into()),
            _ => StoreError::Other(e.into()),
        },
        ErrorKind::Connection | ErrorKind::Io | ErrorKind::Credential => {
            StoreError::Unavailable(e.into())
        }
        _ => StoreError::Other(e.into()),
    }
}

/// Converts between the SDK's `time` types and the app's `chrono` ones.
pub(crate) fn to_chrono(t: azure_core::time::OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

pub(crate) fn to_offset(t: chrono::DateTime<chrono::Utc>) -> azure_core::time::OffsetDateTime {
    azure_core::time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .unwrap_or(azure_core::time::OffsetDateTime::UNIX_EPOCH)
}

/// Storage clients append path segments to the service URL, so it must not end in `/` (that
/// would make an empty segment: `account//container`).
pub(crate) fn base_url(url: &url::Url) -> url::Url {
    let mut url = url.clone();
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    url
}
