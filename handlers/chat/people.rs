//! The people a conversation answer names: its participants (at most 10 in lists) with name,
//! avatar, role and online state, the peer of a direct conversation as a public profile, and
//! each member's read state for "seen by". Read fresh at each request: one users query and
//! one presence lookup for a whole page, so a rename or a new avatar shows at once.

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Conversation, ConversationDoc, MemberRole};
use crate::error::ApiResult;
use crate::state::AppState;

/// Participants a list entry names; a single conversation names all of them.
pub const LISTED_PARTICIPANTS: usize = 10;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub avatar_url: Option<String>,
    #[schema(value_type = String)]
    pub role: MemberRole,
    pub online: bool,
}

/// Where a member has read up to (for "seen" marks); named apart from the caller's own
/// `ReadState` (an unread count) so the OpenAPI document keeps both.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberReadState {
    pub user_id: String,
    pub last_read_message_id: Option<String>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The answers for `docs` as `caller` sees them, with their people; `full` for a single
/// conversation (every participant, admins, read states).
pub async fn answers(
    state: &AppState,
    docs: &[&ConversationDoc],
    caller: &str,
    full: bool,
) -> ApiResult<Vec<Conversation>> {
    let limit = if full {
        usize::MAX
    } else {
        LISTED_PARTICIPANTS
    };
    let named = |c: &ConversationDoc| -> Vec<String> {
        // The peer of a direct conversation always, then the others in the stored order.
        let peer = c.peer_of(caller);
        let rest = c
            .participant_ids
            .iter()
            .filter(|id| Some(*id) != peer.as_ref())
            .cloned();
        peer.clone().into_iter().chain(rest).take(limit).collect()
    };
    let mut wanted: Vec<String> = docs.iter().flat_map(|c| named(c)).collect();
    wanted.sort();
    wanted.dedup();
    let users = crate::users::store::get_many(state, &wanted).await?;
    let online = crate::people::presence::online(state, &wanted).await;
    let is_online = |id: &str| {
        wanted
            .binary_search_by(|w| w.as_str().cmp(id))
            .is_ok_and(|i| online[i])
    };
    let base = state.api_base();
    Ok(docs
        .iter()
        .map(|c| {
            let mut view = if full {
                Conversation::full(c, caller)
            } else {
                Conversation::of(c, caller)
            };
            view.participant_count = c.participant_ids.len();
            view.participants = named(c)
                .iter()
                .filter_map(|id| users.iter().find(|u| &u.id == id && u.is_active()))
                .map(|u| Participant {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    avatar_url: crate::people::avatar_url(u, base),
                    role: c.role_of(&u.id),
                    online: is_online(&u.id),
                })
                .collect();
            view.peer = c
                .peer_of(caller)
                .and_then(|peer| users.iter().find(|u| u.id == peer && u.is_active()))
                .map(|u| crate::people::profile(u, is_online(&u.id), base));
            if full {
                view.read_states = Some(
                    c.participant_ids
                        .iter()
                        .map(|id| {
                            let read = c.reads.get(id);
                            MemberReadState {
                                user_id: id.clone(),
                                last_read_message_id: read.and_then(|r| r.message_id.clone()),
                                read_at: read.and_then(|r| r.read_at),
                            }
                        })
                        .collect(),
                );
            }
            view
        })
        .collect())
}

/// One conversation's full answer.
pub async fn answer(
    state: &AppState,
    doc: &ConversationDoc,
    caller: &str,
) -> ApiResult<Conversation> {
    Ok(answers(state, &[doc], caller, true)
        .await?
        .pop()
        .expect("one answer for one conversation"))
}
