//! `emails` (queue trigger on the outbox): delivers one email. A message that is not an email
//! fails, so the host retries it and finally moves it to `emails-poison` where it can be seen.

use anyhow::Context;
use serde_json::Value;

use crate::email::Email;
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

pub async fn run(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let email: Email = match invocation.trigger_value() {
        Some(Value::String(text)) => serde_json::from_str(&text),
        Some(value) => serde_json::from_value(value),
        None => anyhow::bail!("the invocation carries no queue message"),
    }
    .context("the queue message is not an email")?;
    let attempt = invocation.meta_u64("DequeueCount").unwrap_or(1);
    state
        .email
        .send(&email)
        .await
        .with_context(|| format!("delivering email {} (attempt {attempt})", email.id))?;
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "emails: delivered {} email {} (attempt {attempt})",
        email.kind, email.id
    ));
    Ok(reply)
}
