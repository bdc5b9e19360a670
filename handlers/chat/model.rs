//! The chat's documents (DESIGN.md section 3) and the shapes the API and the realtime events
//! carry.
//!
//! - `conversations` (`/id`): who is in it, its admins, its message TTL, and what changes with
//!   each message: its sequence number, the last message and each member's read position. A
//!   send writes this one document whatever the number of members; a member's unread count is
//!   the conversation's sequence minus their read position's.
//! - `memberships` (`/userId`, id = conversation id): one per conversation a user is in, so
//!   that "is this user in it" is one point read in the user's partition.
//! - `messages` (`/conversationId`): messages, ids time-ordered (UUIDv7) so that paging by id
//!   is paging by time; and, beside them, `claim` documents that make a `clientMessageId` send
//!   at most one message.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub const MAX_PARTICIPANTS: usize = 256;
pub const MAX_TEXT: usize = 4000;

/// What a conversation is; its serde names are the stored strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationKind {
    Direct,
    Group,
}

impl ConversationKind {
    /// The kind a request names. A function, not serde, so that a bad one is a field error of
    /// `VALIDATION_FAILED` rather than an unreadable body.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "direct" => Some(Self::Direct),
            "group" => Some(Self::Group),
            _ => None,
        }
    }
}

/// A member's role in a conversation; its serde names are the stored strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Admin,
    Member,
}

/// What a document of the `messages` container is: a message, or the claim of a
/// `clientMessageId` beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Message,
    Claim,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Claim => "claim",
        }
    }
}

/// The Web PubSub group of a conversation.
pub fn group_of(conversation_id: &str) -> String {
    format!("conv:{conversation_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDoc {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    #[serde(default)]
    pub name: Option<String>,
    pub created_by: String,
    pub participant_ids: Vec<String>,
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub message_ttl_seconds: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The number of messages sent so far: each send adds one, in the same write that sets
    /// `lastMessage`.
    #[serde(default)]
    pub seq: i64,
    #[serde(default)]
    pub last_message: Option<LastMessage>,
    #[serde(default)]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Each member's read position, by user id. Every participant has one from the moment
    /// they join (a patch can only add one to a position that exists).
    #[serde(default)]
    pub reads: BTreeMap<String, ReadPosition>,
}

impl ConversationDoc {
    /// When something last happened in it (for ordering lists): its last message, else its
    /// creation.
    pub fn activity(&self) -> DateTime<Utc> {
        self.last_activity_at.unwrap_or(self.created_at)
    }

    /// The member's unread count: messages sent since their read position, their own not
    /// counted (a send moves the sender's position with the sequence).
    pub fn unread_of(&self, user_id: &str) -> i64 {
        let read = self.reads.get(user_id).map_or(0, |r| r.seq);
        (self.seq - read).max(0)
    }

    pub fn role_of(&self, user_id: &str) -> MemberRole {
        if self.admins.iter().any(|a| a == user_id) {
            MemberRole::Admin
        } else {
            MemberRole::Member
        }
    }

    /// The other participant of a direct conversation.
    pub fn peer_of(&self, user_id: &str) -> Option<String> {
        (self.kind == ConversationKind::Direct)
            .then(|| self.participant_ids.iter().find(|p| p.as_str() != user_id))
            .flatten()
            .cloned()
    }
}

/// How far a member has read: the sequence number of the last message they read (or sent).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadPosition {
    pub seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    pub id: String,
    pub sender_id: String,
    /// The first 100 characters of plain text; empty for encrypted or deleted messages.
    pub preview: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDoc {
    /// The conversation id.
    pub id: String,
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub file_id: String,
    pub owner_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDoc {
    pub id: String,
    pub conversation_id: String,
    /// Always `message` (claims share the container).
    pub kind: MessageKind,
    pub sender_id: String,
    pub client_message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// End-to-end encrypted content, stored and returned as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<Value>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The sender's account was erased; `senderId` is kept as a marker.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sender_deleted: bool,
    /// Lower-case plain text, for search; absent for encrypted or deleted messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// Its place in the conversation's sequence (what a read receipt moves a member to).
    #[serde(default)]
    pub seq: i64,
}

impl MessageDoc {
    pub fn last_message(&self) -> LastMessage {
        LastMessage {
            id: self.id.clone(),
            sender_id: self.sender_id.clone(),
            preview: self
                .text
                .as_deref()
                .filter(|_| self.deleted_at.is_none())
                .map(|t| t.chars().take(100).collect())
                .unwrap_or_default(),
            sent_at: self.created_at,
        }
    }

    /// Removes the content, keeping who sent it and when.
    pub fn strip(&mut self) {
        self.text = None;
        self.ciphertext = None;
        self.attachments.clear();
        self.search_text = None;
    }
}

/// A message as the API and the events show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub sender_id: String,
    pub client_message_id: String,
    pub text: Option<String>,
    /// `{alg, iv, data, keyId}` as the sender stored it.
    #[schema(value_type = Option<Object>)]
    pub ciphertext: Option<Value>,
    pub attachments: Vec<Attachment>,
    pub reply_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub sender_deleted: bool,
}

impl From<MessageDoc> for Message {
    fn from(m: MessageDoc) -> Self {
        Message {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            client_message_id: m.client_message_id,
            text: m.text,
            ciphertext: m.ciphertext,
            attachments: m.attachments,
            reply_to: m.reply_to,
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            sender_deleted: m.sender_deleted,
        }
    }
}

/// A conversation as its member sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    /// `direct` or `group`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub peer_id: Option<String>,
    /// The caller's role: `admin` or `member`.
    #[schema(value_type = String)]
    pub role: MemberRole,
    pub unread_count: i64,
    pub last_message: Option<LastMessage>,
    pub last_activity_at: DateTime<Utc>,
    /// Present when the conversation itself was read (not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_ttl_seconds: Option<u64>,
    /// Who is in it: at most 10 in lists (the peer first), all in a single conversation.
    pub participants: Vec<super::people::Participant>,
    pub participant_count: usize,
    /// A direct conversation's other participant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<crate::people::PublicProfile>,
    /// Each member's last read message, in a single conversation ("seen by").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_states: Option<Vec<super::people::MemberReadState>>,
}

impl Conversation {
    /// The conversation as `user_id` sees it in their list.
    pub fn of(c: &ConversationDoc, user_id: &str) -> Self {
        Conversation {
            id: c.id.clone(),
            kind: c.kind,
            name: c.name.clone(),
            peer_id: c.peer_of(user_id),
            role: c.role_of(user_id),
            unread_count: c.unread_of(user_id),
            last_message: c.last_message.clone(),
            last_activity_at: c.activity(),
            participant_ids: None,
            admins: None,
            message_ttl_seconds: None,
            participants: Vec::new(),
            participant_count: c.participant_ids.len(),
            peer: None,
            read_states: None,
        }
    }

    /// The conversation itself, read on its own.
    pub fn full(c: &ConversationDoc, user_id: &str) -> Self {
        Conversation {
            participant_ids: Some(c.participant_ids.clone()),
            admins: Some(c.admins.clone()),
            message_ttl_seconds: c.message_ttl_seconds,
            ..Self::of(c, user_id)
        }
    }
}

/// A realtime event, `{type, data}` (DESIGN.md section 6).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: Value,
}

/// What a chat operation asks of the realtime service. HTTP functions carry these out through
/// the Web PubSub REST API; trigger functions return them as output-binding actions.
#[derive(Debug, Clone)]
pub enum Action {
    SendToGroup { group: String, event: Event },
    AddUserToGroup { user_id: String, group: String },
    RemoveUserFromGroup { user_id: String, group: String },
}

impl Action {
    pub fn to_group(conversation_id: &str, kind: &'static str, data: Value) -> Self {
        Action::SendToGroup {
            group: group_of(conversation_id),
            event: Event { kind, data },
        }
    }

    /// The Web PubSub output binding's JSON for this action.
    pub fn to_binding(&self) -> Value {
        match self {
            Action::SendToGroup { group, event } => serde_json::json!({
                "actionName": "sendToGroup", "group": group,
                "data": serde_json::to_string(event).unwrap_or_default(), "dataType": "json",
            }),
            Action::AddUserToGroup { user_id, group } => serde_json::json!({
                "actionName": "addUserToGroup", "userId": user_id, "group": group,
            }),
            Action::RemoveUserFromGroup { user_id, group } => serde_json::json!({
                "actionName": "removeUserFromGroup", "userId": user_id, "group": group,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The enums' serde names are the strings stored before they existed.
    #[test]
    fn closed_sets_keep_their_stored_strings() {
        assert_eq!(json!(ConversationKind::Direct), "direct");
        assert_eq!(json!(ConversationKind::Group), "group");
        assert_eq!(json!(MemberRole::Admin), "admin");
        assert_eq!(json!(MemberRole::Member), "member");
        assert_eq!(json!(MessageKind::Message), MessageKind::Message.as_str());
        assert_eq!(json!(MessageKind::Claim), MessageKind::Claim.as_str());
        for kind in [ConversationKind::Direct, ConversationKind::Group] {
            let name = json!(kind);
            assert_eq!(ConversationKind::parse(name.as_str().unwrap()), Some(kind));
        }
        assert_eq!(ConversationKind::parse("Group"), None);
    }
}
