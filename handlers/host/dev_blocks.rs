//! The block operations of the local blob endpoint, with Blob Storage's query parameters, XML
//! bodies and answers, so `@azure/storage-blob`'s `uploadData` (Put Block per 4 MiB, then Put
//! Block List) and a resumed upload (Get Block List of the uncommitted blocks) work unchanged:
//! - `PUT ?comp=block&blockid=<base64>`: stages the body as the block; 201.
//! - `PUT ?comp=blocklist` with `<BlockList><Latest>id</Latest>...</BlockList>`: writes the
//!   listed staged blocks, in order, as the blob and drops the staged ones; 201 with `ETag`.
//! - `GET ?comp=blocklist&blocklisttype=committed|uncommitted|all`: the `<BlockList>`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::events::Event;

use super::dev_blobs::{MAX_UPLOAD_BYTES, blob_error, header_str, receive};
use crate::error::{ApiError, Code};
use crate::store::PutOptions;
use crate::store::embedded::{Block, FolderBlobs, MAX_BLOCKS};

/// A block list of 50,000 ids of 88 base64 characters, with its tags, stays under this.
const MAX_LIST_BYTES: usize = 8 * 1024 * 1024;

pub async fn put_block(
    blobs: &FolderBlobs,
    container: &str,
    name: &str,
    id: &str,
    request: Request,
) -> Result<Response, ApiError> {
    crate::store::embedded::check_block_id(id).map_err(blob_error)?;
    let headers = request.headers().clone();
    let temp = receive(blobs, &headers, request).await?;
    blobs
        .stage_block(container, name, id, &temp)
        .await
        .map_err(blob_error)?;
    Ok(StatusCode::CREATED.into_response())
}

pub async fn put_block_list(
    blobs: &FolderBlobs,
    container: &str,
    name: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), MAX_LIST_BYTES)
        .await
        .map_err(|_| invalid_list("The block list is too long or was cut off."))?;
    let ids = parse_block_list(&body)?;
    let options = PutOptions {
        content_type: header_str(&headers, "x-ms-blob-content-type").map(str::to_owned),
        metadata: Vec::new(),
        if_not_exists: false,
    };
    let props = blobs
        .commit_blocks(container, name, &ids, MAX_UPLOAD_BYTES, options)
        .await
        .map_err(blob_error)?;
    let mut response = StatusCode::CREATED.into_response();
    if let Some(etag) = props.etag.and_then(|e| e.parse().ok()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

fn invalid_list(detail: &str) -> ApiError {
    ApiError::new(Code::InvalidBlockList, detail)
}

/// The ids of a Put Block List body, in order. `Latest`, `Uncommitted` and `Committed` all
/// name a block here: the local store keeps no committed blocks apart from the blob, so only
/// staged ones can be listed (a list naming another is refused, as Blob Storage refuses an
/// unknown block).
fn parse_block_list(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut ids = Vec::new();
    let mut inside: Option<Vec<u8>> = None;
    let mut saw_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) => {
                let tag = tag.name().as_ref().to_vec();
                match tag.as_slice() {
                    b"BlockList" => saw_root = true,
                    b"Latest" | b"Uncommitted" | b"Committed" if saw_root => inside = Some(tag),
                    _ => return Err(invalid_list("The block list has an unknown element.")),
                }
            }
            Ok(Event::Text(text)) if inside.is_some() => {
                let id = text
                    .decode()
                    .map_err(|_| invalid_list("A block id is not text."))?
                    .trim()
                    .to_owned();
                if ids.len() >= MAX_BLOCKS {
                    return Err(invalid_list("A blob has at most 50,000 blocks."));
                }
                ids.push(id);
            }
            Ok(Event::End(_)) => inside = None,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(invalid_list("The block list is not XML.")),
        }
    }
    if !saw_root {
        return Err(invalid_list("Send <BlockList> with the block ids."));
    }
    Ok(ids)
}

pub async fn get_block_list(
    blobs: &FolderBlobs,
    container: &str,
    name: &str,
    kind: &str,
) -> Result<Response, ApiError> {
    let (committed, uncommitted) = match kind {
        "committed" => (true, false),
        "uncommitted" => (false, true),
        "all" => (true, true),
        _ => {
            return Err(ApiError::new(
                Code::InvalidRequest,
                "Use blocklisttype committed, uncommitted or all.",
            ));
        }
    };
    let committed = if committed {
        blobs.committed(container, name).await.map_err(blob_error)?
    } else {
        Vec::new()
    };
    let uncommitted = if uncommitted {
        blobs
            .uncommitted(container, name)
            .await
            .map_err(blob_error)?
    } else {
        Vec::new()
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>{}{}</BlockList>",
        blocks_xml("CommittedBlocks", &committed),
        blocks_xml("UncommittedBlocks", &uncommitted)
    );
    let mut response = Body::from(xml).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml"),
    );
    Ok(response)
}

/// Block ids are checked base64 when staged, so they need no escaping.
fn blocks_xml(tag: &str, blocks: &[Block]) -> String {
    let inner: String = blocks
        .iter()
        .map(|b| {
            format!(
                "<Block><Name>{}</Name><Size>{}</Size></Block>",
                b.id, b.size
            )
        })
        .collect();
    format!("<{tag}>{inner}</{tag}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_lists_parse_as_the_sdk_sends_them() {
        let body = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><BlockList><Latest>QUFB</Latest><Latest>QkJC</Latest></BlockList>"#;
        assert_eq!(parse_block_list(body).unwrap(), ["QUFB", "QkJC"]);
        assert!(parse_block_list(b"<Other/>").is_err());
        assert!(parse_block_list(b"<BlockList><Bad>x</Bad></BlockList>").is_err());
        assert!(parse_block_list(b"not xml <").is_err());
    }
}
