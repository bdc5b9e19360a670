//! `/api/dev/blobs/{container}/{*name}`: the local stand-in for Blob Storage's signed URLs, so
//! a client uploads and downloads with the same code locally as against a SAS in Azure.
//! PUT behaves like Put Blob (needs `x-ms-blob-type: BlockBlob`, answers 201; with the
//! create-only SAS of upload URLs, 409 `BLOB_ALREADY_EXISTS` when the blob exists); with
//! `comp=block` and `comp=blocklist` like Put Block and Put Block List (blocks.rs), which a
//! staging URL (`sp=rw`) allows. GET answers the bytes with their content type and serves
//! `Range` requests (206), or with `comp=blocklist` the block list. Local mode only.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::store::embedded::FolderBlobs;
use crate::store::{BadInput, Blobs, PutOptions, ReadHeaders, SasAccess, StoreError};

/// The largest upload the local endpoint takes (the `video` category's maximum).
pub const MAX_UPLOAD_BYTES: u64 = 500 * 1024 * 1024;

#[derive(Deserialize)]
pub struct Signature {
    sp: String,
    se: i64,
    sig: String,
    rsct: Option<String>,
    rscd: Option<String>,
    /// `block` or `blocklist`: the block operations.
    comp: Option<String>,
    blockid: Option<String>,
    /// Get Block List: `committed` (the default), `uncommitted` or `all`.
    blocklisttype: Option<String>,
}

impl Signature {
    fn headers(&self) -> ReadHeaders {
        ReadHeaders {
            content_type: self.rsct.clone(),
            content_disposition: self.rscd.clone(),
        }
    }
}

fn denied() -> ApiError {
    ApiError::new(
        Code::SignatureInvalid,
        "The signed URL is invalid, expired, or does not allow this operation.",
    )
}

impl Signature {
    /// Whether this URL allows `wanted` on the blob.
    fn allows(&self, blobs: &FolderBlobs, container: &str, name: &str, wanted: SasAccess) -> bool {
        blobs.verify(
            container,
            name,
            wanted,
            &self.sp,
            self.se,
            &self.headers(),
            &self.sig,
        )
    }
}

pub async fn put_blob(
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    Query(sig): Query<Signature>,
    request: Request,
) -> Result<Response, ApiError> {
    let blobs = state.dev_blobs.as_ref().ok_or_else(denied)?;
    match sig.comp.as_deref() {
        None => {}
        Some("block") | Some("blocklist") => {
            if !sig.allows(blobs, &container, &name, SasAccess::Stage) {
                return Err(denied());
            }
            return if sig.comp.as_deref() == Some("block") {
                let id = sig.blockid.as_deref().unwrap_or_default();
                super::dev_blocks::put_block(blobs, &container, &name, id, request).await
            } else {
                super::dev_blocks::put_block_list(blobs, &container, &name, request).await
            };
        }
        Some(_) => return Err(unknown_comp()),
    }
    // Create-only with `sp=c` (upload URLs); a staging URL may replace its blob.
    let create_only = sig.allows(blobs, &container, &name, SasAccess::Create);
    if !create_only && !sig.allows(blobs, &container, &name, SasAccess::Stage) {
        return Err(denied());
    }
    let headers = request.headers().clone();
    if header_str(&headers, "x-ms-blob-type") != Some("BlockBlob") {
        return Err(ApiError::new(
            Code::MissingBlobType,
            "Send x-ms-blob-type: BlockBlob, as Azure Blob Storage requires.",
        ));
    }
    // Upload URLs create, never overwrite: once `complete` has checked the bytes, the same URL
    // cannot swap them. Refused before the body is read; the commit below settles a race.
    if create_only
        && blobs
            .head(&container, &name)
            .await
            .map_err(blob_error)?
            .is_some()
    {
        return Err(already_exists());
    }
    let temp = receive(blobs, &headers, request).await?;
    let options = PutOptions {
        // Put Blob takes the blob's type from x-ms-blob-content-type (what the SDKs send),
        // else from Content-Type.
        content_type: header_str(&headers, "x-ms-blob-content-type")
            .or_else(|| header_str(&headers, header::CONTENT_TYPE.as_str()))
            .map(str::to_owned),
        metadata: Vec::new(),
        if_not_exists: create_only,
    };
    let props = blobs
        .commit(&container, &name, &temp, options)
        .await
        .map_err(blob_error)?;
    let mut response = StatusCode::CREATED.into_response();
    if let Some(etag) = props.etag.and_then(|e| e.parse().ok()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Streams a request body to a temporary file (a large upload never sits in memory), at most
/// [`MAX_UPLOAD_BYTES`]; returns the file's path.
pub(super) async fn receive(
    blobs: &FolderBlobs,
    headers: &HeaderMap,
    request: Request,
) -> Result<std::path::PathBuf, ApiError> {
    let declared =
        header_str(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
        return Err(too_large());
    }
    let temp = blobs.temp_path();
    let written =
        async {
            let mut file = tokio::fs::File::create(&temp)
                .await
                .map_err(ApiError::internal)?;
            let mut stream = request.into_body().into_data_stream();
            let mut total: u64 = 0;
            while let Some(chunk) = stream.try_next().await.map_err(|_| {
                ApiError::new(Code::UploadInterrupted, "The upload body was cut off.")
            })? {
                total += chunk.len() as u64;
                if total > MAX_UPLOAD_BYTES {
                    return Err(too_large());
                }
                file.write_all(&chunk).await.map_err(ApiError::internal)?;
            }
            file.sync_all().await.map_err(ApiError::internal)?;
            Ok(())
        }
        .await;
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            Err(e)
        }
    }
}

pub async fn get_blob(
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    Query(sig): Query<Signature>,
    request: Request,
) -> Result<Response, ApiError> {
    let blobs = state.dev_blobs.as_ref().ok_or_else(denied)?;
    if !sig.allows(blobs, &container, &name, SasAccess::Read) {
        return Err(denied());
    }
    match sig.comp.as_deref() {
        None => {}
        Some("blocklist") => {
            // Get Block List needs a staging URL's `r`, which a plain read URL also has.
            let kind = sig.blocklisttype.as_deref().unwrap_or("committed");
            return super::dev_blocks::get_block_list(blobs, &container, &name, kind).await;
        }
        Some(_) => return Err(unknown_comp()),
    }
    let (path, props) = blobs
        .blob_path(&container, &name)
        .await
        .map_err(blob_error)?
        .ok_or_else(|| ApiError::new(Code::BlobNotFound, "No such blob."))?;
    // tower-http's ServeFile answers `Range` (206 with Content-Range, 416), conditional
    // requests and HEAD as a file server should, so a <video> element can seek.
    let (parts, _) = request.into_parts();
    let mut plain = axum::http::Request::from_parts(parts, Body::empty());
    // Conditional requests against Last-Modified would let a browser keep bytes the signed
    // overrides below no longer describe; the blob's ETag is not the file's.
    for name in [header::IF_MODIFIED_SINCE, header::IF_UNMODIFIED_SINCE] {
        plain.headers_mut().remove(name);
    }
    let served = tower_http::services::ServeFile::new(&path)
        .try_call(plain)
        .await
        .map_err(ApiError::internal)?;
    let mut response = served.map(Body::new);
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::new(Code::BlobNotFound, "No such blob."));
    }
    // As Blob Storage does: the signed overrides win over what the blob was stored with.
    let content_type = sig
        .rsct
        .or(props.content_type)
        .unwrap_or_else(|| "application/octet-stream".into());
    let headers = response.headers_mut();
    let value = |v: &str| {
        v.parse::<axum::http::HeaderValue>()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("blob metadata is not a valid header")))
    };
    headers.insert(header::CONTENT_TYPE, value(&content_type)?);
    if let Some(disposition) = &sig.rscd {
        headers.insert(header::CONTENT_DISPOSITION, value(disposition)?);
    }
    if let Some(etag) = &props.etag {
        headers.insert(header::ETAG, value(etag)?);
    }
    Ok(response)
}

fn unknown_comp() -> ApiError {
    ApiError::new(
        Code::InvalidRequest,
        "The local blob endpoint knows comp=block and comp=blocklist only.",
    )
}

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn too_large() -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        "The upload is larger than the local blob endpoint accepts.",
    )
}

fn already_exists() -> ApiError {
    ApiError::new(
        Code::BlobAlreadyExists,
        "The blob exists; an upload URL creates a blob but never overwrites it.",
    )
}

pub(super) fn blob_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict => already_exists(),
        StoreError::BadInput(BadInput::BlockId) => {
            ApiError::new(Code::InvalidBlockId, BadInput::BlockId.message())
        }
        StoreError::BadInput(BadInput::BlockList) => {
            ApiError::new(Code::InvalidBlockList, BadInput::BlockList.message())
        }
        StoreError::BadInput(BadInput::TooLarge) => too_large(),
        StoreError::BadInput(bad) => ApiError::new(Code::InvalidBlobName, bad.message()),
        other => other.into(),
    }
}
