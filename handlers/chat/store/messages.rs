//! Messages and the claims beside them in `messages` (partition `/conversationId`). A claim
//! (id `claim-…`, see [`claim_id`]) reserves a sender's `clientMessageId` for one message id,
//! so a send is stored at most once however often it is retried.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::chat::model::{ConversationDoc, MessageDoc, MessageKind};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{Change, Cmp, Collection, Filter, Order, Query, StoreResult};

/// A `clientMessageId` is remembered this long for retries.
const CLAIM_TTL_SECONDS: i64 = 7 * 24 * 3600;
const CLAIM_PREFIX: &str = "claim-";

/// The claim of one sender's `clientMessageId` in one conversation. It holds the message id
/// only, never the text or ciphertext: a claim outlives edits and deletes (and is backed up),
/// so a copy of the content here would keep what the sender removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimDoc {
    pub id: String,
    pub conversation_id: String,
    /// Always `claim`.
    pub kind: MessageKind,
    pub sender_id: String,
    /// The message the `clientMessageId` stands for.
    #[serde(default)]
    message_id: String,
    /// A claim written before claims held only the id carried the whole message; its id is
    /// all that is read of it. Such claims expire within their 7 days.
    #[serde(default, skip_serializing)]
    message: Option<LegacyMessage>,
    pub ttl: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct LegacyMessage {
    id: String,
}

impl ClaimDoc {
    /// The claim for `message`; it lives no longer than the message would.
    pub fn of(message: &MessageDoc) -> Self {
        ClaimDoc {
            id: claim_id(&message.sender_id, &message.client_message_id),
            conversation_id: message.conversation_id.clone(),
            kind: MessageKind::Claim,
            sender_id: message.sender_id.clone(),
            message_id: message.id.clone(),
            message: None,
            ttl: message
                .ttl
                .map_or(CLAIM_TTL_SECONDS, |t| t.min(CLAIM_TTL_SECONDS)),
        }
    }

    /// The id of the message this claim reserved.
    pub fn message_id(&self) -> &str {
        match &self.message {
            Some(legacy) if self.message_id.is_empty() => &legacy.id,
            _ => &self.message_id,
        }
    }
}

crate::document!(MessageDoc, MESSAGES, conversation_id);
crate::document!(ClaimDoc, MESSAGES, conversation_id);

fn messages(state: &AppState) -> Collection<MessageDoc> {
    state.stores.collection()
}

fn claims(state: &AppState) -> Collection<ClaimDoc> {
    state.stores.collection()
}

/// The claim that reserves a `clientMessageId` for one sender in one conversation.
pub fn claim_id(sender_id: &str, client_message_id: &str) -> String {
    let digest = Sha256::digest(format!("{sender_id}\n{client_message_id}").as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("{CLAIM_PREFIX}{hex}")
}

fn only(kind: MessageKind) -> Filter {
    Filter::eq("kind", kind.as_str())
}

/// Messages of the conversation that are shown: older than its TTL they are not, even before
/// they expire.
fn live(conversation: &ConversationDoc) -> Query {
    let query = Query::default().filter(only(MessageKind::Message));
    match conversation.message_ttl_seconds {
        Some(ttl) => {
            let oldest = Utc::now() - chrono::Duration::seconds(ttl as i64);
            query.filter(Filter::new("createdAt", Cmp::Gte, oldest.to_rfc3339()))
        }
        None => query,
    }
}

/// A message of the conversation. Ids come from clients, and a claim's id (its own prefix,
/// never a UUID) is no message.
pub async fn get(
    state: &AppState,
    conversation_id: &str,
    id: &str,
) -> ApiResult<Option<MessageDoc>> {
    if id.starts_with(CLAIM_PREFIX) {
        return Ok(None);
    }
    Ok(messages(state).get(conversation_id, id).await?)
}

/// A message by id alone, in whichever conversation it is.
pub async fn find(state: &AppState, id: &str) -> ApiResult<Option<MessageDoc>> {
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    let query = Query::default()
        .filter(Filter::eq("id", id))
        .filter(only(MessageKind::Message))
        .limit(1);
    let page = messages(state).query(None, &query, None).await?;
    Ok(page.items.into_iter().next())
}

pub async fn claim(
    state: &AppState,
    conversation_id: &str,
    sender_id: &str,
    client_message_id: &str,
) -> ApiResult<Option<ClaimDoc>> {
    let id = claim_id(sender_id, client_message_id);
    Ok(claims(state).get(conversation_id, &id).await?)
}

/// Creates the claim; `Ok(false)` when the `clientMessageId` is already claimed.
pub async fn create_claim(state: &AppState, claim: &ClaimDoc) -> ApiResult<bool> {
    Ok(claims(state).create_if_absent(claim).await?)
}

/// Creates the message; `Ok(false)` when it exists (a retry, or an archived one restored).
pub async fn create(state: &AppState, message: &MessageDoc) -> StoreResult<bool> {
    messages(state).create_if_absent(message).await
}

/// Applies `change` to a message with optimistic concurrency; `Ok(None)` when it is gone.
pub async fn update<R>(
    state: &AppState,
    conversation_id: &str,
    id: &str,
    change: impl FnMut(&mut MessageDoc) -> ApiResult<Change<R>>,
) -> ApiResult<Option<(MessageDoc, R)>> {
    messages(state)
        .update_with(conversation_id, id, change)
        .await
}

/// Up to `limit` shown messages older than `before` (all when `None`), newest first. Ids grow
/// with time, so "older than the cursor" is "id below it": a page boundary that new messages
/// cannot move.
pub async fn newest(
    state: &AppState,
    conversation: &ConversationDoc,
    before: Option<&str>,
    limit: u32,
) -> ApiResult<Vec<MessageDoc>> {
    let mut query = live(conversation).order_by("id", Order::Desc).limit(limit);
    if let Some(before) = before {
        query = query.filter(Filter::new("id", Cmp::Lt, before));
    }
    let page = messages(state)
        .query(Some(&conversation.id), &query, None)
        .await?;
    Ok(page.items)
}

/// The oldest shown message after sequence number `after` (the first one a member whose read
/// position is `after` has not read).
pub async fn first_after(
    state: &AppState,
    conversation: &ConversationDoc,
    after: i64,
) -> ApiResult<Option<MessageDoc>> {
    let query = live(conversation)
        .filter(Filter::new("seq", Cmp::Gt, after))
        .order_by("seq", Order::Asc)
        .limit(1);
    let page = messages(state)
        .query(Some(&conversation.id), &query, None)
        .await?;
    Ok(page.items.into_iter().next())
}

/// Up to `limit` shown plain-text messages containing `q` (lower case), newest first.
pub async fn search(
    state: &AppState,
    conversation: &ConversationDoc,
    q: &str,
    limit: u32,
) -> ApiResult<Vec<MessageDoc>> {
    let query = live(conversation)
        .filter(Filter::new("searchText", Cmp::Contains, q))
        .filter(Filter::new("deletedAt", Cmp::Missing, Value::Null))
        .order_by("id", Order::Desc)
        .limit(limit);
    let page = messages(state)
        .query(Some(&conversation.id), &query, None)
        .await?;
    Ok(page.items)
}

/// Up to `limit` of a conversation's messages sent before `cutoff`, oldest first.
pub async fn older_than(
    state: &AppState,
    conversation_id: &str,
    cutoff: &str,
    limit: u32,
) -> StoreResult<Vec<MessageDoc>> {
    let query = Query::default()
        .filter(only(MessageKind::Message))
        .filter(Filter::new("createdAt", Cmp::Lt, cutoff))
        .order_by("id", Order::Asc)
        .limit(limit);
    let page = messages(state)
        .query(Some(conversation_id), &query, None)
        .await?;
    Ok(page.items)
}

/// Deletes a message if it is there.
pub async fn remove(state: &AppState, conversation_id: &str, id: &str) -> StoreResult<()> {
    messages(state).remove(conversation_id, id).await?;
    Ok(())
}

/// Removes what a user's messages said, keeping that they were there (the erase); their
/// claims go too. Returns how many messages changed.
pub async fn tombstone_sender(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let by_sender = Query::default()
        .filter(Filter::eq("senderId", user_id))
        .limit(200);
    // What is changed no longer matches: ask again from the start until nothing does.
    let their_claims = by_sender.clone().filter(only(MessageKind::Claim));
    loop {
        let page = claims(state).query(None, &their_claims, None).await?;
        if page.items.is_empty() {
            break;
        }
        for claim in page.items {
            claims(state)
                .remove(&claim.conversation_id, &claim.id)
                .await?;
        }
    }
    let untouched = by_sender
        .filter(only(MessageKind::Message))
        .filter(Filter::new("senderDeleted", Cmp::Missing, Value::Null));
    let mut changed = 0;
    loop {
        let page = messages(state).query(None, &untouched, None).await?;
        if page.items.is_empty() {
            return Ok(changed);
        }
        for mut message in page.items {
            message.strip();
            message.sender_deleted = true;
            message.deleted_at.get_or_insert_with(Utc::now);
            messages(state).replace(&message, None).await?;
            changed += 1;
        }
    }
}

/// Every message a user sent (the data export).
pub async fn sent_by(state: &AppState, user_id: &str) -> ApiResult<Vec<MessageDoc>> {
    let query = Query::default()
        .filter(Filter::eq("senderId", user_id))
        .filter(only(MessageKind::Message))
        .limit(500);
    Ok(messages(state).query_all(None, &query).await?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(ttl: Option<i64>) -> MessageDoc {
        MessageDoc {
            id: "0190a0a0-0000-7000-8000-000000000001".into(),
            conversation_id: "c1".into(),
            kind: MessageKind::Message,
            sender_id: "u1".into(),
            client_message_id: "m-1".into(),
            text: Some("Hi".into()),
            ciphertext: None,
            attachments: Vec::new(),
            reply_to: None,
            created_at: "2025-01-31T10:00:00Z".parse().unwrap(),
            edited_at: None,
            deleted_at: None,
            sender_deleted: false,
            search_text: Some("hi".into()),
            ttl,
            seq: 1,
        }
    }

    /// A claim names its message and carries none of its content.
    #[test]
    fn a_claim_holds_the_message_id_only() {
        let claim = serde_json::to_value(ClaimDoc::of(&message(None))).unwrap();
        assert_eq!(claim["id"], json!(claim_id("u1", "m-1")));
        assert!(claim["id"].as_str().unwrap().starts_with(CLAIM_PREFIX));
        assert_eq!(claim["conversationId"], "c1");
        assert_eq!(claim["kind"], "claim");
        assert_eq!(claim["senderId"], "u1");
        assert_eq!(claim["ttl"], CLAIM_TTL_SECONDS);
        assert_eq!(claim["messageId"], "0190a0a0-0000-7000-8000-000000000001");
        assert!(claim.get("message").is_none());
        assert!(!claim.to_string().contains("Hi"), "{claim}");
    }

    /// Claims stored before (with the whole message) keep reading until they expire.
    #[test]
    fn a_claim_of_the_old_shape_still_names_its_message() {
        let old = json!({
            "id": claim_id("u1", "m-1"), "conversationId": "c1", "kind": "claim",
            "senderId": "u1", "ttl": CLAIM_TTL_SECONDS,
            "message": serde_json::to_value(message(None)).unwrap(),
        });
        let claim: ClaimDoc = serde_json::from_value(old).unwrap();
        assert_eq!(claim.message_id(), "0190a0a0-0000-7000-8000-000000000001");
        let rewritten = serde_json::to_value(&claim).unwrap();
        assert!(rewritten.get("message").is_none());
    }

    #[test]
    fn a_claim_lives_no_longer_than_its_message() {
        assert_eq!(ClaimDoc::of(&message(Some(60))).ttl, 60);
        let long = CLAIM_TTL_SECONDS * 2;
        assert_eq!(ClaimDoc::of(&message(Some(long))).ttl, CLAIM_TTL_SECONDS);
    }
}
