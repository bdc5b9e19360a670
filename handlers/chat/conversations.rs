//! `/api/v1/conversations`: create (a direct conversation is found, not duplicated), list by
//! recent activity, read, rename or set the message TTL, add and remove participants.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::model::{
    Action, Conversation, ConversationDoc, ConversationKind, Event, MAX_PARTICIPANTS, MemberRole,
    MembershipDoc, ReadPosition, group_of,
};
use super::store::{self as chat, not_found};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::paging::{PageParams, page_limit};
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConversation {
    /// `direct` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The other members; the caller is added.
    pub participant_ids: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// Seconds a new message lives (60 to 31536000), or null for no limit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub message_ttl_seconds: Option<Option<u64>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewParticipant {
    pub user_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub items: Vec<Conversation>,
    pub next_cursor: Option<String>,
}

/// Users who can take part: they exist and are active. Returns the unknown ones.
async fn unknown_users(state: &AppState, ids: &[String]) -> ApiResult<Vec<String>> {
    let found = crate::users::store::get_many(state, ids).await?;
    Ok(ids
        .iter()
        .filter(|id| !found.iter().any(|u| &u.id == *id && u.is_active()))
        .cloned()
        .collect())
}

fn unknown_participants(ids: &[String]) -> ApiError {
    ApiError::new(
        Code::UnknownParticipants,
        format!("No active user with id {}.", ids.join(", ")),
    )
    .with_field(
        "participantIds",
        "Every participant must be an existing, active user.",
    )
}

fn membership(conversation: &ConversationDoc, user_id: &str) -> MembershipDoc {
    MembershipDoc {
        id: conversation.id.clone(),
        user_id: user_id.to_owned(),
        kind: conversation.kind,
        role: conversation.role_of(user_id),
        joined_at: Utc::now(),
    }
}

/// A new conversation's read positions: every participant at the start.
fn start_positions(participants: &[String]) -> BTreeMap<String, ReadPosition> {
    participants
        .iter()
        .map(|p| (p.clone(), ReadPosition::default()))
        .collect()
}

/// Every member gets a membership; live connections join the conversation's group.
async fn open(state: &AppState, conversation: &ConversationDoc) -> ApiResult<Vec<Action>> {
    let mut actions = Vec::new();
    for user_id in &conversation.participant_ids {
        chat::ensure_membership(state, &membership(conversation, user_id)).await?;
        actions.push(Action::AddUserToGroup {
            user_id: user_id.clone(),
            group: group_of(&conversation.id),
        });
    }
    Ok(actions)
}

#[utoipa::path(post, operation_id = "createConversation", path = "/api/v1/conversations", tag = "chat", security(("bearer" = [])), request_body = NewConversation,
    responses(
        (status = 201, description = "Created", body = Conversation),
        (status = 200, description = "The direct conversation between these two users, which already existed", body = Conversation),
        (status = 400, description = "`VALIDATION_FAILED` or `UNKNOWN_PARTICIPANTS`", body = Problem),
        (status = 403, description = "`BLOCKED`: a direct conversation with someone who blocked you", body = Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<NewConversation>,
) -> ApiResult<(StatusCode, AppJson<Conversation>)> {
    let mut errors = FieldErrors::new();
    let mut others: Vec<String> = Vec::new();
    for id in &request.participant_ids {
        if id != &user.user_id && !others.contains(id) {
            others.push(id.clone());
        }
    }
    let name = request
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let kind = ConversationKind::parse(&request.kind);
    match kind {
        Some(ConversationKind::Direct) => {
            if others.len() != 1 {
                errors.insert(
                    "participantIds".into(),
                    vec!["A direct conversation has exactly one other participant.".into()],
                );
            }
            if name.is_some() {
                errors.insert(
                    "name".into(),
                    vec!["A direct conversation has no name.".into()],
                );
            }
        }
        Some(ConversationKind::Group) => {
            if others.is_empty() || others.len() >= MAX_PARTICIPANTS {
                errors.insert(
                    "participantIds".into(),
                    vec![format!(
                        "A group has 1 to {} other participants.",
                        MAX_PARTICIPANTS - 1
                    )],
                );
            }
        }
        None => {
            errors.insert("type".into(), vec!["Use direct or group.".into()]);
        }
    }
    if name.is_some_and(|n| n.chars().count() > 100) {
        errors.insert("name".into(), vec!["Use at most 100 characters.".into()]);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let unknown = unknown_users(&state, &others).await?;
    if !unknown.is_empty() {
        return Err(unknown_participants(&unknown));
    }
    if kind == Some(ConversationKind::Direct)
        && let Some(peer) = crate::users::store::get(&state, &others[0]).await?
    {
        crate::people::blocks::refuse_if_blocked(&peer, &user.user_id)?;
    }
    let now = Utc::now();
    let mut participants = vec![user.user_id.clone()];
    participants.extend(others);
    let conversation = if kind == Some(ConversationKind::Direct) {
        let mut pair = participants.clone();
        pair.sort();
        ConversationDoc {
            // One id per pair: two creations race on it and one wins, across instances.
            id: format!("dm-{}-{}", pair[0], pair[1]),
            kind: ConversationKind::Direct,
            name: None,
            created_by: user.user_id.clone(),
            reads: start_positions(&pair),
            participant_ids: pair,
            admins: Vec::new(),
            message_ttl_seconds: None,
            created_at: now,
            updated_at: now,
            seq: 0,
            last_message: None,
            last_activity_at: Some(now),
        }
    } else {
        ConversationDoc {
            id: uuid::Uuid::new_v4().to_string(),
            kind: ConversationKind::Group,
            name: name.map(str::to_owned),
            created_by: user.user_id.clone(),
            reads: start_positions(&participants),
            participant_ids: participants,
            admins: vec![user.user_id.clone()],
            message_ttl_seconds: None,
            created_at: now,
            updated_at: now,
            seq: 0,
            last_message: None,
            last_activity_at: Some(now),
        }
    };
    let (status, conversation) = if chat::create_conversation(&state, &conversation).await? {
        (StatusCode::CREATED, conversation)
    } else if conversation.kind == ConversationKind::Direct {
        let existing = chat::conversation(&state, &conversation.id)
            .await?
            .ok_or_else(not_found)?;
        (StatusCode::OK, existing)
    } else {
        // A group id is a fresh UUID: taken, it is a fault of ours, reported as the store's.
        return Err(StoreError::Conflict.into());
    };
    // Also on the 200 path: a creation that failed halfway is finished here.
    let mut actions = open(&state, &conversation).await?;
    let view = super::people::answer(&state, &conversation, &user.user_id).await?;
    if status == StatusCode::CREATED && conversation.kind == ConversationKind::Group {
        let added: Vec<String> = conversation
            .participant_ids
            .iter()
            .filter(|id| **id != user.user_id)
            .cloned()
            .collect();
        crate::notifications::record_for(
            &state,
            &added,
            crate::notifications::Kind::ConversationAdded,
            json!({"conversationId": conversation.id, "name": conversation.name, "addedBy": user.user_id}),
        )
        .await;
    }
    if status == StatusCode::CREATED {
        actions.push(Action::to_group(
            &conversation.id,
            "conversation.updated",
            json!({"conversationId": conversation.id, "type": conversation.kind, "name": conversation.name, "participantIds": conversation.participant_ids}),
        ));
    }
    state.realtime.apply(&actions).await;
    Ok((status, AppJson(view)))
}

#[utoipa::path(get, operation_id = "listConversations", path = "/api/v1/conversations", tag = "chat", security(("bearer" = [])), params(PageParams),
    responses((status = 200, description = "The caller's conversations, most recent activity first", body = ConversationPage), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<PageParams>,
) -> ApiResult<AppJson<ConversationPage>> {
    let limit = page_limit(params.limit) as usize;
    let after = params
        .cursor
        .as_deref()
        .map(ListCursor::decode)
        .transpose()?;
    let all = chat::conversations_of(&state, &user.user_id).await?;
    let start = after.map_or(0, |cursor| {
        all.iter()
            .position(|c| cursor.precedes(c))
            .unwrap_or(all.len())
    });
    let page: Vec<&ConversationDoc> = all.iter().skip(start).take(limit).collect();
    let next_cursor = (start + page.len() < all.len())
        .then(|| page.last().map(|c| ListCursor::after(c).encode()))
        .flatten();
    Ok(AppJson(ConversationPage {
        items: super::people::answers(&state, &page, &user.user_id, false).await?,
        next_cursor,
    }))
}

/// Where the next page of a conversation list starts: after this activity time and id (the
/// list's order), so a conversation that moves up between two pages is not shown twice on
/// the later page, whatever moved.
#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    at: DateTime<Utc>,
    id: String,
}

impl ListCursor {
    fn after(c: &ConversationDoc) -> Self {
        Self {
            at: c.activity(),
            id: c.id.clone(),
        }
    }

    /// Whether `c` comes after this cursor in the list's order (activity desc, then id).
    fn precedes(&self, c: &ConversationDoc) -> bool {
        (c.activity(), std::cmp::Reverse(&c.id)) < (self.at, std::cmp::Reverse(&self.id))
    }

    fn encode(&self) -> String {
        crate::paging::encode_cursor(self)
    }

    fn decode(raw: &str) -> ApiResult<Self> {
        crate::paging::decode_cursor(raw)
    }
}

#[utoipa::path(get, operation_id = "getConversation", path = "/api/v1/conversations/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, description = "The conversation", body = Conversation), (status = 404, description = "No such conversation of yours", body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<Conversation>> {
    let (_, conversation) = chat::member_of(&state, &user.user_id, &id).await?;
    Ok(AppJson(
        super::people::answer(&state, &conversation, &user.user_id).await?,
    ))
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(Code::Forbidden, detail)
}

#[utoipa::path(patch, operation_id = "updateConversation", path = "/api/v1/conversations/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = ConversationPatch,
    responses(
        (status = 200, description = "Updated", body = Conversation),
        (status = 400, description = "`VALIDATION_FAILED`", body = Problem),
        (status = 403, description = "`FORBIDDEN`: only a group's admins change it", body = Problem),
        (status = 404, description = "No such conversation of yours", body = Problem),
    ))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(patch): AppJson<ConversationPatch>,
) -> ApiResult<AppJson<Conversation>> {
    let (membership, current) = chat::member_of(&state, &user.user_id, &id).await?;
    if current.kind == ConversationKind::Group && membership.role != MemberRole::Admin {
        return Err(forbidden("Only the group's admins can change it."));
    }
    let mut errors = FieldErrors::new();
    let name = patch.name.as_deref().map(str::trim);
    if let Some(name) = name {
        if current.kind == ConversationKind::Direct {
            errors.insert(
                "name".into(),
                vec!["A direct conversation has no name.".into()],
            );
        } else if name.is_empty() || name.chars().count() > 100 {
            errors.insert("name".into(), vec!["Use 1 to 100 characters.".into()]);
        }
    }
    if let Some(Some(ttl)) = patch.message_ttl_seconds
        && !(60..=31_536_000).contains(&ttl)
    {
        errors.insert(
            "messageTtlSeconds".into(),
            vec!["Use 60 to 31536000 seconds, or null.".into()],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let conversation = chat::update_conversation(&state, &id, |c| {
        if let Some(name) = name {
            c.name = Some(name.to_owned());
        }
        if let Some(ttl) = patch.message_ttl_seconds {
            c.message_ttl_seconds = ttl;
        }
        Ok(())
    })
    .await?;
    state
        .realtime
        .apply(&[Action::to_group(
            &id,
            "conversation.updated",
            json!({"conversationId": id, "name": conversation.name, "messageTtlSeconds": conversation.message_ttl_seconds, "by": user.user_id}),
        )])
        .await;
    Ok(AppJson(
        super::people::answer(&state, &conversation, &user.user_id).await?,
    ))
}

#[utoipa::path(post, operation_id = "addParticipant", path = "/api/v1/conversations/{id}/participants", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = NewParticipant,
    responses(
        (status = 200, description = "The conversation with the new participant", body = Conversation),
        (status = 400, description = "`UNKNOWN_PARTICIPANTS`, `NOT_A_GROUP` or `TOO_MANY_PARTICIPANTS`", body = Problem),
        (status = 403, description = "`FORBIDDEN`: only admins add", body = Problem),
        (status = 404, description = "No such conversation of yours", body = Problem),
    ))]
pub async fn add_participant(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<NewParticipant>,
) -> ApiResult<AppJson<Conversation>> {
    let (membership, current) = chat::member_of(&state, &user.user_id, &id).await?;
    if current.kind != ConversationKind::Group {
        return Err(ApiError::new(
            Code::NotAGroup,
            "Participants change in groups only; start a group instead.",
        ));
    }
    if membership.role != MemberRole::Admin {
        return Err(forbidden("Only the group's admins add participants."));
    }
    if !unknown_users(&state, std::slice::from_ref(&request.user_id))
        .await?
        .is_empty()
    {
        return Err(unknown_participants(std::slice::from_ref(&request.user_id)));
    }
    let mut joined = false;
    let conversation = chat::update_conversation(&state, &id, |c| {
        joined = false;
        if !c.participant_ids.contains(&request.user_id) {
            joined = true;
            if c.participant_ids.len() >= MAX_PARTICIPANTS {
                return Err(ApiError::new(
                    Code::TooManyParticipants,
                    format!("A group has at most {MAX_PARTICIPANTS} participants."),
                ));
            }
            c.participant_ids.push(request.user_id.clone());
        }
        // A new member starts with nothing unread: what was said before they came is history.
        let seq = c.seq;
        c.reads
            .entry(request.user_id.clone())
            .or_insert(ReadPosition {
                seq,
                ..ReadPosition::default()
            });
        Ok(())
    })
    .await?;
    chat::ensure_membership(&state, &self::membership(&conversation, &request.user_id)).await?;
    state
        .realtime
        .apply(&[
            Action::AddUserToGroup {
                user_id: request.user_id.clone(),
                group: group_of(&id),
            },
            Action::to_group(
                &id,
                "participant.added",
                json!({"conversationId": id, "userId": request.user_id, "by": user.user_id}),
            ),
        ])
        .await;
    if joined {
        crate::notifications::record_for(
            &state,
            std::slice::from_ref(&request.user_id),
            crate::notifications::Kind::ConversationAdded,
            json!({"conversationId": id, "name": conversation.name, "addedBy": user.user_id}),
        )
        .await;
    }
    Ok(AppJson(
        super::people::answer(&state, &conversation, &user.user_id).await?,
    ))
}

#[utoipa::path(delete, operation_id = "removeParticipant", path = "/api/v1/conversations/{id}/participants/{userId}", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"), ("userId" = String, Path, description = "The participant; your own id to leave")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`NOT_A_GROUP`", body = Problem),
        (status = 403, description = "`FORBIDDEN`: only admins remove others", body = Problem),
        (status = 404, description = "No such conversation of yours, or no such participant", body = Problem),
        (status = 503, description = "`REALTIME_UNAVAILABLE`: Web PubSub did not confirm the removal; nothing changed", body = Problem),
    ))]
pub async fn remove_participant(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, target)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (membership, current) = chat::member_of(&state, &user.user_id, &id).await?;
    if current.kind != ConversationKind::Group {
        return Err(ApiError::new(
            Code::NotAGroup,
            "A direct conversation has no participants to remove.",
        ));
    }
    if target != user.user_id && membership.role != MemberRole::Admin {
        return Err(forbidden("Only the group's admins remove others."));
    }
    if !current.participant_ids.contains(&target) {
        return Err(ApiError::not_found("No such participant."));
    }
    leave(&state, &id, &target, &user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes `user_id` out of a conversation: out of its group first, then out of its participants
/// (a group that loses its last admin gets its longest-standing member as admin), membership
/// deleted. The group call comes first and its failure stops the removal (503, nothing changed,
/// the caller can retry): a member shown as removed must not keep receiving the messages.
pub async fn leave(state: &AppState, id: &str, user_id: &str, by: &str) -> ApiResult<()> {
    state
        .realtime
        .remove_from_group(user_id, &group_of(id))
        .await
        .map_err(|e| {
            tracing::warn!("realtime: removal from a conversation group refused: {e:#}");
            ApiError::new(
                Code::RealtimeUnavailable,
                "The realtime service did not confirm the removal; nothing was changed, try again.",
            )
        })?;
    leave_stored(state, id, user_id, by).await
}

/// [`leave`] for a user whose connections are already closed and who cannot connect again
/// (the erase job): the group call is made, but its failure does not stop the erase.
pub async fn leave_closed(state: &AppState, id: &str, user_id: &str) -> ApiResult<()> {
    if let Err(e) = state
        .realtime
        .remove_from_group(user_id, &group_of(id))
        .await
    {
        tracing::warn!("realtime: removal of an erased user from a group failed: {e:#}");
    }
    leave_stored(state, id, user_id, user_id).await
}

async fn leave_stored(state: &AppState, id: &str, user_id: &str, by: &str) -> ApiResult<()> {
    let mut promoted = None;
    chat::update_conversation(state, id, |c| {
        c.participant_ids.retain(|p| p != user_id);
        c.admins.retain(|a| a != user_id);
        c.reads.remove(user_id);
        promoted = None;
        if c.kind == ConversationKind::Group
            && c.admins.is_empty()
            && let Some(first) = c.participant_ids.first()
        {
            c.admins.push(first.clone());
            promoted = Some(first.clone());
        }
        Ok(())
    })
    .await?;
    if let Some(admin) = &promoted {
        chat::set_member_role(state, admin, id, MemberRole::Admin).await?;
    }
    chat::remove_membership(state, user_id, id).await?;
    // The removed user is out of the conversation's group: they hear of it in their own.
    let removed = Event {
        kind: "participant.removed",
        data: json!({"conversationId": id, "userId": user_id, "by": by}),
    };
    state
        .realtime
        .apply(&[
            Action::SendToGroup {
                group: group_of(id),
                event: removed.clone(),
            },
            Action::SendToGroup {
                group: super::triggers::user_group(user_id),
                event: removed,
            },
        ])
        .await;
    Ok(())
}
