//! `archive-messages` (timer, `0 0 2 * * *`): moves old chat messages to blobs; see
//! `chat::archive` for how a crash at any step is recovered.

use crate::chat::archive::{self, Options};
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

pub async fn run(state: AppState, _invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let started = std::time::Instant::now();
    let options = Options::from_settings(&state);
    let summary = archive::run(&state, &options).await?;
    let ms = started.elapsed().as_millis() as u64;
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "archive-messages: {} messages in {} parts, {} bytes, {ms} ms{}",
        summary.messages,
        summary.parts,
        summary.bytes,
        if summary.resumed {
            ", after finishing the previous run's part"
        } else {
            ""
        }
    ));
    reply.return_value = serde_json::to_value(&summary)?;
    reply.return_value["durationMs"] = ms.into();
    super::record_run(&state, "archive-messages", &reply.return_value).await?;
    Ok(reply)
}
