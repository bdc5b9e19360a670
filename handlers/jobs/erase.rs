//! `erase-user` (queue trigger on `erasures`): erases everything stored about one user through
//! the GDPR registry. Safe to run again: every eraser removes what is left.

use anyhow::Context;
use serde_json::Value;

use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

pub async fn run(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let message: Value = match invocation.trigger_value() {
        Some(Value::String(text)) => serde_json::from_str(&text),
        Some(value) => Ok(value),
        None => anyhow::bail!("the invocation carries no queue message"),
    }
    .context("the queue message is not JSON")?;
    let user_id = message["userId"]
        .as_str()
        .context("the queue message names no userId")?
        .to_owned();
    let mut reply = InvocationReply::default();
    let Some(user) = crate::users::store::get(&state, &user_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        reply.log(format!("erase-user: {user_id} is already gone"));
        return Ok(reply);
    };
    let report = crate::users::gdpr::erase(&state, &user)
        .await
        .map_err(|e| anyhow::anyhow!("erasing {user_id}: {e}"))?;
    let summary: Vec<String> = report
        .iter()
        .map(|(name, n)| format!("{name}={n}"))
        .collect();
    reply.log(format!(
        "erase-user: erased {user_id}: {}",
        summary.join(" ")
    ));
    Ok(reply)
}
