//! Blob Storage through `azure_storage_blob` 1.x. With managed identity the client carries a
//! bearer token and signed URLs are user-delegation SAS (`azure_storage_sas`); with an account
//! key (a connection string, Azurite) requests are signed by [`SharedKeyPolicy`] and URLs are
//! service SAS signed with the key.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, RequestContent};
use azure_storage_blob::models::{
    BlobClientDownloadOptions, BlobClientGetPropertiesResultHeaders,
    BlobClientStartCopyFromUrlOptions, BlobClientStartCopyFromUrlResultHeaders,
    BlobClientUploadOptions, BlobContainerClientListBlobsOptions, BlockLookupList, CopyStatus,
    KeyInfo, ListBlobsIncludeItem,
};
use azure_storage_blob::{BlobContainerClient, BlobServiceClient, BlobServiceClientOptions};
use azure_storage_common::models::UserDelegationKey;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use tokio::sync::Mutex;

use super::shared_key::{SharedKey, SharedKeyPolicy};
use super::{base_url, store_error, to_chrono, to_offset};
use crate::settings::{Settings, StorageSettings};
use crate::store::embedded::{check_container, check_name};
use crate::store::{
    BlobItem, BlobProps, Blobs, Page, PutOptions, ReadHeaders, SasAccess, StoreError, StoreResult,
};

enum Signer {
    Key(SharedKey),
    /// A user delegation key, fetched on first need and reused until shortly before expiry.
    Delegation(Mutex<Option<(UserDelegationKey, DateTime<Utc>)>>),
}

pub struct AzureBlobs {
    service: BlobServiceClient,
    account: String,
    signer: Signer,
    /// Containers known to exist, so an upload URL never points into a missing container.
    ensured: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The account name: from the connection string, or the first label of the endpoint host
/// (`https://<account>.blob.core.windows.net`).
fn account_of(storage: &StorageSettings) -> String {
    match storage {
        StorageSettings::SharedKey { account, .. } => account.clone(),
        StorageSettings::Identity { blob_endpoint, .. } => blob_endpoint
            .host_str()
            .and_then(|h| h.split('.').next())
            .unwrap_or_default()
            .to_owned(),
    }
}

pub(crate) fn shared_key_options(storage: &StorageSettings) -> (ClientOptions, Option<SharedKey>) {
    let mut options = ClientOptions {
        transport: Some(super::transport::shared()),
        // The SDK's default is 8 tries over up to a minute: a service that is down must fail
        // the call at once (its deadline and breaker are in store/guarded.rs), and a request
        // that needs the work done later records it in the outbox instead of waiting. One
        // quick retry still covers a dropped connection or a single transient answer.
        retry: azure_core::http::RetryOptions::fixed(azure_core::http::FixedRetryOptions {
            delay: azure_core::time::Duration::milliseconds(100),
            max_retries: 1,
            max_total_elapsed: azure_core::time::Duration::seconds(1),
        }),
        ..Default::default()
    };
    let key = match storage {
        StorageSettings::SharedKey { account, key, .. } => {
            let key = SharedKey {
                account: account.clone(),
                key: azure_core::credentials::Secret::new(key.expose().to_owned()),
            };
            options
                .per_try_policies
                .push(Arc::new(SharedKeyPolicy(key.clone())));
            Some(key)
        }
        StorageSettings::Identity { .. } => None,
    };
    (options, key)
}

pub(crate) fn token_credential(
    storage: &StorageSettings,
    settings: &Settings,
) -> anyhow::Result<Option<Arc<dyn TokenCredential>>> {
    Ok(match storage {
        StorageSettings::Identity { .. } => Some(super::credential(settings)?),
        StorageSettings::SharedKey { .. } => None,
    })
}

impl AzureBlobs {
    pub fn new(storage: &StorageSettings, settings: &Settings) -> anyhow::Result<Self> {
        let (client_options, key) = shared_key_options(storage);
        let (endpoint, _) = storage.endpoints();
        let service = BlobServiceClient::new(
            base_url(endpoint),
            token_credential(storage, settings)?,
            Some(BlobServiceClientOptions {
                client_options,
                ..Default::default()
            }),
        )?;
        Ok(Self {
            service,
            account: account_of(storage),
            signer: match key {
                Some(key) => Signer::Key(key),
                None => Signer::Delegation(Mutex::new(None)),
            },
            ensured: Default::default(),
        })
    }

    fn container(&self, container: &str) -> BlobContainerClient {
        self.service.blob_container_client(container)
    }

    /// Creates a container the first time a write finds it missing (infra provisions them
    /// in Azure; emulators and fresh accounts start empty).
    async fn create_container(&self, container: &str) -> StoreResult<()> {
        match self.container(container).create(None).await {
            Ok(_) => {}
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 409) => {}
            Err(e) => return Err(store_error(e)),
        }
        self.ensured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(container.to_owned());
        Ok(())
    }

    /// Once per container and process: a client uploading through a signed URL cannot create
    /// the container itself.
    async fn ensure_container(&self, container: &str) -> StoreResult<()> {
        let known = self
            .ensured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(container);
        if known {
            return Ok(());
        }
        self.create_container(container).await
    }

    async fn delegation_key(
        &self,
        cache: &Mutex<Option<(UserDelegationKey, DateTime<Utc>)>>,
        until: DateTime<Utc>,
    ) -> StoreResult<UserDelegationKey> {
        let mut guard = cache.lock().await;
        if let Some((key, expires)) = guard.as_ref()
            && *expires > until
        {
            return Ok(key.clone());
        }
        // A key lives up to 7 days; ask for one that outlives this URL by a day so most
        // URLs reuse it.
        let start = Utc::now() - chrono::Duration::minutes(5);
        let expiry =
            (until + chrono::Duration::days(1)).min(Utc::now() + chrono::Duration::days(6));
        let info = KeyInfo {
            start: Some(to_offset(start)),
            expiry: Some(to_offset(expiry)),
            ..Default::default()
        };
        let content: RequestContent<KeyInfo, azure_core::http::XmlFormat> =
            info.try_into().map_err(store_error)?;
        let key = self
            .service
            .get_user_delegation_key(content, None)
            .await
            .map_err(store_error)?
            .into_model()
            .map_err(store_error)?;
        *guard = Some((key.clone(), expiry));
        Ok(key)
    }
}

fn is_code(e: &azure_core::Error, code: &str) -> bool {
    matches!(e.kind(), ErrorKind::HttpResponse { error_code: Some(c), .. } if c == code)
}

#[async_trait]
impl Blobs for AzureBlobs {
    async fn put(
        &self,
        container: &str,
        name: &str,
        data: Bytes,
        options: PutOptions,
    ) -> StoreResult<BlobProps> {
        check_container(container)?;
        check_name(name)?;
        let blob = self.container(container).blob_client(name);
        let upload_options = || {
            let mut o = BlobClientUploadOptions {
                blob_content_type: options.content_type.clone(),
                metadata: (!options.metadata.is_empty())
                    .then(|| options.metadata.iter().cloned().collect::<HashMap<_, _>>()),
                ..Default::default()
            };
            if options.if_not_exists {
                o = o.if_not_exists();
            }
            o
        };
        let mut result = blob
            .upload(data.clone().into(), Some(upload_options()))
            .await;
        if let Err(e) = &result
            && is_code(e, "ContainerNotFound")
        {
            self.create_container(container).await?;
            result = blob
                .upload(data.clone().into(), Some(upload_options()))
                .await;
        }
        let uploaded = result.map_err(store_error)?;
        Ok(BlobProps {
            size: data.len() as u64,
            content_type: options.content_type,
            etag: uploaded.etag.map(|e| e.to_string()),
            last_modified: uploaded.last_modified.map(to_chrono),
            metadata: options.metadata,
        })
    }

    async fn get(&self, container: &str, name: &str) -> StoreResult<Option<(Bytes, BlobProps)>> {
        check_container(container)?;
        check_name(name)?;
        // Properties first: a download's properties describe only its first range.
        let Some(props) = self.head(container, name).await? else {
            return Ok(None);
        };
        let blob = self.container(container).blob_client(name);
        match blob.download(None).await {
            Ok(response) => {
                let bytes = response.body.collect().await.map_err(store_error)?;
                Ok(Some((bytes, props)))
            }
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn read_prefix(
        &self,
        container: &str,
        name: &str,
        len: u64,
    ) -> StoreResult<Option<Bytes>> {
        check_container(container)?;
        check_name(name)?;
        let blob = self.container(container).blob_client(name);
        let options = BlobClientDownloadOptions {
            range: Some((0..len.max(1)).into()),
            ..Default::default()
        };
        match blob.download(Some(options)).await {
            Ok(response) => Ok(Some(response.body.collect().await.map_err(store_error)?)),
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => Ok(None),
            // An empty blob has no byte 0 to start a range at.
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 416) => {
                Ok(Some(Bytes::new()))
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn head(&self, container: &str, name: &str) -> StoreResult<Option<BlobProps>> {
        check_container(container)?;
        check_name(name)?;
        let blob = self.container(container).blob_client(name);
        let response = match blob.get_properties(None).await {
            Ok(r) => r,
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        let mut metadata: Vec<(String, String)> = response
            .metadata()
            .map_err(store_error)?
            .into_iter()
            .collect();
        metadata.sort();
        Ok(Some(BlobProps {
            size: response.content_length().map_err(store_error)?.unwrap_or(0),
            content_type: response.content_type().map_err(store_error)?,
            etag: response.etag().map_err(store_error)?.map(|e| e.to_string()),
            last_modified: response
                .last_modified()
                .map_err(store_error)?
                .map(to_chrono),
            metadata,
        }))
    }

    async fn delete(&self, container: &str, name: &str) -> StoreResult<bool> {
        check_container(container)?;
        check_name(name)?;
        match self
            .container(container)
            .blob_client(name)
            .delete(None)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 404) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn promote(&self, container: &str, from: &str, to: &str) -> StoreResult<BlobProps> {
        check_container(container)?;
        check_name(from)?;
        check_name(to)?;
        // The source is read through a short read SAS, which authorizes it whether this client
        // signs with the account key or carries a managed identity's token.
        let expires = Utc::now() + chrono::Duration::minutes(15);
        let source = self
            .signed_url(
                container,
                from,
                SasAccess::Read,
                expires,
                &ReadHeaders::default(),
            )
            .await?;
        let target = self.container(container).blob_client(to);
        let options = BlobClientStartCopyFromUrlOptions {
            if_none_match: Some("*".into()),
            ..Default::default()
        };
        let started = match target
            .start_copy_from_url(source.to_string(), Some(options))
            .await
        {
            Ok(r) => r,
            Err(e) if is_code(&e, "CannotVerifyCopySource") || is_code(&e, "BlobNotFound") => {
                return Err(StoreError::NotFound);
            }
            Err(e) => return Err(store_error(e)),
        };
        // Within one account a copy is usually done when it is accepted; a pending one is
        // asked after until it ends (the guard's transfer deadline bounds the wait).
        let mut status = started.copy_status().map_err(store_error)?;
        let mut wait = std::time::Duration::from_millis(50);
        while status == Some(CopyStatus::Pending) {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(1));
            status = target
                .get_properties(None)
                .await
                .map_err(store_error)?
                .copy_status()
                .map_err(store_error)?;
        }
        if matches!(status, Some(CopyStatus::Failed | CopyStatus::Aborted)) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "copying blob {from} to {to} ended {status:?}"
            )));
        }
        self.discard(container, from).await?;
        self.head(container, to).await?.ok_or(StoreError::NotFound)
    }

    async fn discard(&self, container: &str, name: &str) -> StoreResult<()> {
        check_container(container)?;
        check_name(name)?;
        // Delete Blob leaves a never-committed blob's staged blocks for the service to collect
        // within a week; committing an empty list drops them now, then the empty blob goes.
        let empty = BlockLookupList {
            latest: Some(Vec::new()),
            ..Default::default()
        };
        let block_blob = self
            .container(container)
            .blob_client(name)
            .block_blob_client();
        let content = empty.try_into().map_err(store_error)?;
        match block_blob.commit_block_list(content, None).await {
            Ok(_) => {}
            Err(e) if is_code(&e, "ContainerNotFound") => return Ok(()),
            Err(e) => return Err(store_error(e)),
        }
        self.delete(container, name).await.map(|_| ())
    }

    async fn list(
        &self,
        container: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: u32,
    ) -> StoreResult<Page<BlobItem>> {
        check_container(container)?;
        let options = BlobContainerClientListBlobsOptions {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            marker: continuation.map(str::to_owned),
            maxresults: Some(max.clamp(1, 5000) as i32),
            include: Some(vec![ListBlobsIncludeItem::Metadata]),
            ..Default::default()
        };
        let mut pages = self
            .container(container)
            .list_blobs(Some(options))
            .map_err(store_error)?
            .into_pages();
        let page = match pages.try_next().await {
            Ok(Some(page)) => page.into_model().map_err(store_error)?,
            Ok(None) => {
                return Ok(Page {
                    items: vec![],
                    continuation: None,
                });
            }
            Err(e) if is_code(&e, "ContainerNotFound") => {
                return Ok(Page {
                    items: vec![],
                    continuation: None,
                });
            }
            Err(e) => return Err(store_error(e)),
        };
        let items = page
            .blob_items
            .into_iter()
            .filter_map(|item| {
                let name = item.name?;
                let props = item.properties.unwrap_or_default();
                let mut metadata: Vec<(String, String)> = item
                    .metadata
                    .and_then(|m| m.values)
                    .map(|m| m.into_iter().collect())
                    .unwrap_or_default();
                metadata.sort();
                Some(BlobItem {
                    name,
                    props: BlobProps {
                        size: props.content_length.unwrap_or(0),
                        content_type: props.content_type,
                        etag: props.etag.map(|e| e.to_string()),
                        last_modified: props.last_modified.map(to_chrono),
                        metadata,
                    },
                })
            })
            .collect();
        Ok(Page {
            items,
            continuation: page.next_marker.filter(|m| !m.is_empty()),
        })
    }

    async fn signed_url(
        &self,
        container: &str,
        name: &str,
        access: SasAccess,
        expires: DateTime<Utc>,
        headers: &ReadHeaders,
    ) -> StoreResult<url::Url> {
        check_container(container)?;
        check_name(name)?;
        if access != SasAccess::Read {
            self.ensure_container(container).await?;
        }
        let mut url = base_url(self.container(container).url());
        url.path_segments_mut()
            .map_err(|_| StoreError::bug("storage URL cannot be a base"))?
            .pop_if_empty()
            .extend(name.split('/'));
        let query = match &self.signer {
            Signer::Key(key) => key
                .blob_sas(
                    container,
                    name,
                    match access {
                        SasAccess::Read => "r",
                        // Create only: with `w` the URL could overwrite the checked upload.
                        SasAccess::Create => "c",
                        // Put Block and Put Block List need `w`, Get Block List `r`; the
                        // staging blob is copied away before it is checked (files::complete).
                        SasAccess::Stage => "rw",
                    },
                    expires,
                    headers,
                )
                .map_err(store_error)?,
            Signer::Delegation(cache) => {
                let key = self.delegation_key(cache, expires).await?;
                let mut builder = azure_storage_sas::SasBuilder::new(
                    self.account.clone(),
                    &key,
                    to_offset(expires),
                )
                .map_err(store_error)?
                .blob(container, name);
                if let Some(v) = &headers.content_type {
                    builder = builder.content_type(v);
                }
                if let Some(v) = &headers.content_disposition {
                    builder = builder.content_disposition(v);
                }
                match access {
                    SasAccess::Read => builder.read().build(),
                    SasAccess::Create => builder.create().build(),
                    SasAccess::Stage => builder.read().write().build(),
                }
            }
        };
        url.set_query(Some(&query));
        Ok(url)
    }

    /// The account answers and every container exists: one missing is made (as a write
    /// would), and named when that fails.
    async fn ping(&self) -> StoreResult<()> {
        for name in crate::store::schema::BLOB_CONTAINERS {
            match self.container(name).get_properties(None).await {
                Ok(_) => {}
                Err(e) if is_code(&e, "ContainerNotFound") => {
                    if let Err(e) = self.create_container(name).await {
                        tracing::warn!("blob container {name} is missing and was not made: {e}");
                        return Err(StoreError::Missing(format!("blob container {name}")));
                    }
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }
}
