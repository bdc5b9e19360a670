//! A notification as stored (`notifications`, partition `/userId`, kept 90 days) and as shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What happened. `message` is one notification per conversation, kept up to date with the
/// unread count and the latest preview, not one per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Kind {
    /// `data`: `{conversationId, count, preview, senderId}`.
    #[serde(rename = "message")]
    Message,
    /// You were added to a group. `data`: `{conversationId, name, addedBy}`.
    #[serde(rename = "conversation.added")]
    ConversationAdded,
    /// A form you sent while signed in changed status. `data`: `{formId, status}`.
    #[serde(rename = "form.status")]
    FormStatus,
    /// A course you are enrolled in gained lessons. `data`: `{courseId, title, added}`.
    #[serde(rename = "course.updated")]
    CourseUpdated,
    /// Someone signed up with your invite. `data`: `{inviteId, userId, name}`.
    #[serde(rename = "invite.accepted")]
    InviteAccepted,
}

/// Kept 90 days (the container's per-item TTL).
pub const TTL_SECONDS: i64 = 90 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDoc {
    pub id: String,
    pub user_id: String,
    pub kind: Kind,
    pub data: Value,
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub ttl: i64,
    /// `message`: the conversation's sequence number this notification counts to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// `message`: the sequence number the last digest email covered (the digest job's claim,
    /// so a second run or a retry after a crash sends no second email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emailed_seq: Option<i64>,
    /// `message`: when the last digest email went out (one per conversation per window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emailed_at: Option<DateTime<Utc>>,
}

crate::document!(NotificationDoc, NOTIFICATIONS, user_id);

/// A notification as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub kind: Kind,
    /// Per kind, as [`Kind`] describes.
    #[schema(value_type = Object)]
    pub data: Value,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&NotificationDoc> for Notification {
    fn from(d: &NotificationDoc) -> Self {
        Notification {
            id: d.id.clone(),
            kind: d.kind,
            data: d.data.clone(),
            read_at: d.read_at,
            created_at: d.created_at,
        }
    }
}

/// The id of a conversation's `message` notification: one per conversation and user.
pub fn message_id(conversation_id: &str) -> String {
    format!("message-{conversation_id}")
}
