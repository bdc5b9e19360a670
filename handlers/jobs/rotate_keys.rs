//! `rotate-keys` (timer, daily): adds a new signing key once the newest is older than
//! `KEY_ROTATION_DAYS`. The previous key keeps verifying until every token it signed has
//! expired, so no one is signed out by a rotation.

use serde_json::json;

use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

pub async fn run(state: AppState, _invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let rotated = state
        .auth
        .keys
        .rotate_if_older_than(state.settings.auth.key_rotation)
        .await?;
    let keys = state.auth.keys.keys().await?;
    if rotated {
        crate::audit::record(
            &state,
            "system",
            "keys.rotate",
            keys.first().map(|k| k.kid.as_str()).unwrap_or(""),
            serde_json::Value::Null,
        )
        .await;
    }
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "rotate-keys: {}; {} key(s) valid, newest {}",
        if rotated {
            "rotated"
        } else {
            "current key is recent"
        },
        keys.len(),
        keys.first().map(|k| k.kid.as_str()).unwrap_or("none"),
    ));
    reply.return_value = json!({"rotated": rotated, "validKeys": keys.len()});
    super::record_run(&state, "rotate-keys", &reply.return_value).await?;
    Ok(reply)
}
