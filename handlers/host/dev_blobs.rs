//! `/api/dev/blobs/{container}/{*name}`: the local stand-in for Blob Storage's signed URLs, so
//! a client uploads and downloads with the same code locally as against a SAS in Azure.
//! PUT behaves like Put Blob with the create-only SAS of upload URLs (needs `x-ms-blob-type:
//! BlockBlob`, answers 201, and 409 `BLOB_ALREADY_EXISTS` when the blob exists); GET answers the
//! bytes with their content type. Local mode only.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::store::{Blobs, PutOptions, ReadHeaders, SasAccess, StoreError};

/// The largest upload the local endpoint takes (the `video` category's maximum).
pub const MAX_UPLOAD_BYTES: u64 = 500 * 1024 * 1024;

#[derive(Deserialize)]
pub struct Signature {
    sp: String,
    se: i64,
    sig: String,
    rsct: Option<String>,
    rscd: Option<String>,
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

pub async fn put_blob(
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    Query(sig): Query<Signature>,
    request: Request,
) -> Result<Response, ApiError> {
    let blobs = state.dev_blobs.as_ref().ok_or_else(denied)?;
    if !blobs.verify(
        &container,
        &name,
        SasAccess::Create,
        &sig.sp,
        sig.se,
        &sig.headers(),
        &sig.sig,
    ) {
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
    if blobs
        .head(&container, &name)
        .await
        .map_err(blob_error)?
        .is_some()
    {
        return Err(already_exists());
    }
    let declared =
        header_str(&headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
        return Err(too_large());
    }
    // Stream to a temporary file: a large upload never sits in memory.
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
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(e);
    }
    let options = PutOptions {
        // Put Blob takes the blob's type from x-ms-blob-content-type (what the SDKs send),
        // else from Content-Type.
        content_type: header_str(&headers, "x-ms-blob-content-type")
            .or_else(|| header_str(&headers, header::CONTENT_TYPE.as_str()))
            .map(str::to_owned),
        metadata: Vec::new(),
        if_not_exists: true,
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

pub async fn get_blob(
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    Query(sig): Query<Signature>,
) -> Result<Response, ApiError> {
    let blobs = state.dev_blobs.as_ref().ok_or_else(denied)?;
    if !blobs.verify(
        &container,
        &name,
        SasAccess::Read,
        &sig.sp,
        sig.se,
        &sig.headers(),
        &sig.sig,
    ) {
        return Err(denied());
    }
    let (file, props) = blobs
        .open_blob(&container, &name)
        .await
        .map_err(blob_error)?
        .ok_or_else(|| ApiError::new(Code::BlobNotFound, "No such blob."))?;
    // As Blob Storage does: the signed overrides win over what the blob was stored with.
    let content_type = sig
        .rsct
        .or(props.content_type)
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    let value = |v: &str| {
        v.parse::<axum::http::HeaderValue>()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("blob metadata is not a valid header")))
    };
    headers.insert(header::CONTENT_TYPE, value(&content_type)?);
    headers.insert(header::CONTENT_LENGTH, props.size.into());
    if let Some(disposition) = &sig.rscd {
        headers.insert(header::CONTENT_DISPOSITION, value(disposition)?);
    }
    Ok(response)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn too_large() -> ApiError {
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

fn blob_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict => already_exists(),
        StoreError::BadInput(bad) => ApiError::new(Code::InvalidBlobName, bad.message()),
        other => other.into(),
    }
}
