//! `thumbnails` (queue trigger): `{fileId, ownerId}` -> a 256 px JPEG in
//! `thumbnails/{ownerId}/{fileId}.jpg` and the file's `thumbnail.status` set to `ready`.
//!
//! Safe to run twice (a ready thumbnail is left alone) and after the file is gone (skipped).
//! An image that cannot be decoded is marked `failed` at once: no retry would change it. Other
//! failures fail the invocation so the host retries, until the last attempt the host allows,
//! which marks the thumbnail `failed` and succeeds, so nothing loops or rots in the poison
//! queue with the file stuck at `pending`.

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use crate::files::model::{FileStatus, ThumbnailDoc, ThumbnailStatus};
use crate::files::store::{self as files, FILES, THUMBNAILS};
use crate::files::thumbnail::{self, RenderError};
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;
use crate::store::PutOptions;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    file_id: String,
    owner_id: String,
}

enum Outcome {
    Done {
        bytes: usize,
        width: u32,
        height: u32,
    },
    Skipped(&'static str),
    Failed(String),
}

pub async fn run(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let request: Request = match invocation.trigger_value() {
        Some(Value::String(text)) => serde_json::from_str(&text),
        Some(value) => serde_json::from_value(value),
        None => anyhow::bail!("the invocation carries no queue message"),
    }
    .context("the queue message is not {fileId, ownerId}")?;
    let attempt = invocation.meta_u64("DequeueCount").unwrap_or(1);
    let last_attempt = attempt >= u64::from(state.functions.queues.max_dequeue_count);
    let outcome = match make(&state, &request).await {
        Ok(outcome) => outcome,
        Err(e) if last_attempt => {
            mark_failed(&state, &request, &format!("{e:#}")).await?;
            Outcome::Failed(format!("gave up after {attempt} attempts: {e:#}"))
        }
        Err(e) => {
            return Err(e.context(format!(
                "thumbnail of file {} (attempt {attempt})",
                request.file_id
            )));
        }
    };
    let mut reply = InvocationReply::default();
    let file = &request.file_id;
    reply.log(match &outcome {
        Outcome::Done {
            bytes,
            width,
            height,
        } => format!("thumbnails: file {file}: {width}x{height}, {bytes} bytes"),
        Outcome::Skipped(why) => format!("thumbnails: file {file}: skipped, {why}"),
        Outcome::Failed(why) => format!("thumbnails: file {file}: failed, {why}"),
    });
    Ok(reply)
}

async fn make(state: &AppState, request: &Request) -> anyhow::Result<Outcome> {
    let Some(file) = files::get_own(state, &request.owner_id, &request.file_id).await? else {
        return Ok(Outcome::Skipped("the file no longer exists"));
    };
    if file.status != FileStatus::Ready {
        return Ok(Outcome::Skipped("the upload is not complete"));
    }
    if file.thumbnail.status == ThumbnailStatus::Ready {
        return Ok(Outcome::Skipped("the thumbnail exists"));
    }
    let blobs = &state.stores.blobs;
    let Some(props) = blobs.head(FILES, &file.blob).await? else {
        return Ok(Outcome::Skipped("the file's blob is gone"));
    };
    if props.size > thumbnail::MAX_SOURCE_BYTES {
        let why = format!("the image has {} bytes", props.size);
        mark_failed(state, request, &why).await?;
        return Ok(Outcome::Failed(why));
    }
    let Some((bytes, _)) = blobs.get(FILES, &file.blob).await? else {
        return Ok(Outcome::Skipped("the file's blob is gone"));
    };
    let rendered = match thumbnail::render(bytes).await {
        Ok(rendered) => rendered,
        Err(RenderError::Unreadable(why)) => {
            mark_failed(state, request, &why).await?;
            return Ok(Outcome::Failed(why));
        }
        Err(RenderError::Internal(e)) => return Err(e),
    };
    let name = format!("{}/{}.jpg", file.owner_id, file.id);
    let size = rendered.jpeg.len();
    blobs
        .put(
            THUMBNAILS,
            &name,
            rendered.jpeg.into(),
            PutOptions {
                content_type: Some("image/jpeg".into()),
                ..Default::default()
            },
        )
        .await?;
    let ready = ThumbnailDoc {
        status: ThumbnailStatus::Ready,
        blob: Some(name.clone()),
        error: None,
    };
    if files::set_thumbnail(state, &file.owner_id, &file.id, &ready).await? {
        Ok(Outcome::Done {
            bytes: size,
            width: rendered.width,
            height: rendered.height,
        })
    } else {
        // Deleted while we worked: take the thumbnail back with it.
        blobs.delete(THUMBNAILS, &name).await?;
        Ok(Outcome::Skipped("the file was deleted meanwhile"))
    }
}

async fn mark_failed(state: &AppState, request: &Request, why: &str) -> anyhow::Result<()> {
    let failed = ThumbnailDoc {
        status: ThumbnailStatus::Failed,
        blob: None,
        error: Some(why.chars().take(300).collect()),
    };
    // A file deleted meanwhile needs no mark.
    files::set_thumbnail(state, &request.owner_id, &request.file_id, &failed).await?;
    Ok(())
}
