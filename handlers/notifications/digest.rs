//! `notify-digest` (timer, every 5 minutes): a user with `preferences.emailUpdates` who stays
//! offline with chat messages unread for `CHAT_EMAIL_DELAY_MINUTES` gets one email per
//! conversation per window, through the outbox; none once they read it. Safe to run again:
//! each email is claimed on the conversation's `message` notification (an etag-checked write
//! of the sequence number it covers) before it is queued, and carries an id made of what it
//! covers, which delivery sends once. A crash between the claim and the queueing loses that
//! one email rather than sending it twice.

use chrono::Utc;
use serde_json::json;

use super::store;
use crate::email::Email as Mail;
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

pub async fn run(state: AppState, _invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let delay = chrono::Duration::minutes(i64::from(state.settings.chat_email_delay_minutes));
    let now = Utc::now();
    let (mut sent, mut users) = (0u32, 0u32);
    for user in crate::users::store::with_email_updates(&state)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail))?
    {
        if !user.preferences.notifications
            || crate::chat::triggers::is_online(&state, &user.id).await
        {
            continue;
        }
        users += 1;
        store::sync_messages(&state, &user)
            .await
            .map_err(|e| anyhow::anyhow!(e.detail))?;
        let conversations = crate::chat::store::conversations_of(&state, &user.id)
            .await
            .map_err(|e| anyhow::anyhow!(e.detail))?;
        for conversation in conversations {
            let unread = conversation.unread_of(&user.id);
            if unread == 0 {
                continue;
            }
            let read = conversation.reads.get(&user.id).map_or(0, |r| r.seq);
            let first = crate::chat::store::messages::first_after(&state, &conversation, read)
                .await
                .map_err(|e| anyhow::anyhow!(e.detail))?;
            if first.is_none_or(|m| now - m.created_at < delay) {
                continue;
            }
            if !store::claim_digest(&state, &user.id, &conversation, delay)
                .await
                .map_err(|e| anyhow::anyhow!(e.detail))?
            {
                continue;
            }
            let title = conversation.name.as_deref().unwrap_or("a conversation");
            let preview = conversation
                .last_message
                .as_ref()
                .map(|m| m.preview.as_str())
                .unwrap_or_default();
            let mut mail = Mail::new(
                "chat-digest",
                &user.email,
                &format!("{unread} unread messages in {title}"),
                &format!(
                    "Hello {},\n\nYou have {unread} unread messages in {title}. The latest: {preview}\n",
                    user.name
                ),
            );
            // What the email covers names it: delivery sends one email per id.
            mail.id = format!(
                "digest-{}-{}-{}",
                user.id, conversation.id, conversation.seq
            );
            crate::email::enqueue(&state, &mail)
                .await
                .map_err(|e| anyhow::anyhow!(e.detail))?;
            sent += 1;
        }
    }
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "notify-digest: {sent} emails to {users} offline users"
    ));
    reply.return_value = json!({"sent": sent, "users": users});
    crate::jobs::record_run(&state, "notify-digest", &reply.return_value).await?;
    Ok(reply)
}
