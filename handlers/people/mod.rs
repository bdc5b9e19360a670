//! People in the product: public profiles (never an email, role or status), the directory,
//! blocking, presence, and the names the chat shows. Who may see whom is decided here, from
//! the stored users and conversations at the moment of the request.

pub mod blocks;
pub mod presence;
pub mod routes;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::users::model::UserDoc;

/// A person as anyone signed in who may see them sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    pub id: String,
    pub name: String,
    /// `GET people/{id}/avatar` (a redirect to the picture), when there is one.
    pub avatar_url: Option<String>,
    pub bio: String,
    pub online: bool,
    /// When their last realtime connection closed.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// The stable avatar URL of a user with an avatar, under `base` (this API's public URL or "").
pub fn avatar_url(user: &UserDoc, base: &str) -> Option<String> {
    user.avatar_file_id
        .as_ref()
        .map(|_| format!("{base}/api/v1/people/{}/avatar", user.id))
}

pub fn profile(user: &UserDoc, online: bool, base: &str) -> PublicProfile {
    PublicProfile {
        id: user.id.clone(),
        name: user.name.clone(),
        avatar_url: avatar_url(user, base),
        bio: user.bio.clone(),
        online,
        last_seen_at: user.last_seen_at,
    }
}

crate::api_routes!(
    routes::search,
    routes::get_one,
    routes::avatar,
    blocks::block,
    blocks::unblock,
    blocks::list,
    presence::get,
);
