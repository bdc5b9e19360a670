//! The user as stored and as shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A normalised email address (trimmed, lower-case), parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter an email address.");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("Enter a valid email address.");
        };
        let ok = email.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Email(email))
        } else {
            Err("Enter a valid email address.")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user may do. Decided from the stored user at the moment of use, never from a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    /// Creates courses and edits, deletes and follows the learners of the ones they created.
    Mentor,
    Admin,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Mentor => "mentor",
            Role::Admin => "admin",
        }
    }

    /// Parses a role a client sent (kept a string in request bodies so a bad value is a field
    /// error, not a body error).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Role::User),
            "mentor" => Some(Role::Mentor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Suspended,
    /// An erase is running: the account is gone for every purpose but the erase job.
    Deleting,
    /// Made by an admin: waits for its owner to set a password through the emailed link.
    Invited,
}

impl UserStatus {
    /// Parses a status an admin may set (`deleting` is the erase's own).
    pub fn parse_settable(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(UserStatus::Active),
            "suspended" => Some(UserStatus::Suspended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preferences {
    pub notifications: bool,
    pub email_updates: bool,
    /// `light`, `dark` or `system`.
    pub theme: String,
    /// Whether others find this user in `GET people` and see their profile without sharing a
    /// conversation.
    #[serde(default = "yes")]
    pub discoverable: bool,
}

fn yes() -> bool {
    true
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            notifications: true,
            email_updates: false,
            theme: "system".into(),
            discoverable: true,
        }
    }
}

/// Someone this user blocked, and since when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockEntry {
    pub user_id: String,
    pub at: DateTime<Utc>,
}

/// The `users` document (partition key `/id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDoc {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub preferences: Preferences,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub last_login_at: Option<DateTime<Utc>>,
    /// Lower-case email and name, so admin search is one portable `contains` filter.
    #[serde(default)]
    pub search_text: String,
    /// The `avatar` file completed last (readable by anyone signed in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_file_id: Option<String>,
    /// Set when repeated wrong passwords lock the account: kept with the account, so losing
    /// the cache (where the count of failures lives) does not unlock it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Up to 500 characters, shown on the public profile.
    #[serde(default)]
    pub bio: String,
    /// When the user's last realtime connection closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Whom this user blocked (at most [`MAX_BLOCKS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<BlockEntry>,
    /// The ids of `blocked`, kept beside it so "who blocked me" is one `ARRAY_CONTAINS` query.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_ids: Vec<String>,
    /// An address asked for by `POST users/me/email`, until its link confirms it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
    /// Two-factor sign-in (auth::mfa), when set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<crate::auth::mfa::MfaDoc>,
    /// OpenID Connect providers this account signs in with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<LinkedIdentity>,
    /// [`LinkedIdentity::key`] of each of `identities`, so "whose is this subject" is one
    /// `ARRAY_CONTAINS` query.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_keys: Vec<String>,
}

crate::document!(UserDoc, USERS, id);

/// An account's sign-in through an OpenID Connect provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LinkedIdentity {
    /// The provider's name in `OIDC_PROVIDERS`.
    pub provider: String,
    pub issuer: String,
    /// The provider's `sub`: unique and stable per issuer, unlike the email.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
}

impl LinkedIdentity {
    /// Identifies the person across every account: `sub` is unique per issuer.
    pub fn key(issuer: &str, subject: &str) -> String {
        format!("{issuer} {subject}")
    }
}

pub const MAX_BLOCKS: usize = 1000;

impl UserDoc {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    pub fn is_active_admin(&self) -> bool {
        self.role == Role::Admin && self.is_active()
    }

    /// Links `identity`, replacing an earlier link to the same provider.
    pub fn link_identity(&mut self, identity: LinkedIdentity) {
        self.identities.retain(|i| i.provider != identity.provider);
        self.identities.push(identity);
        self.refresh_identity_keys();
    }

    pub fn refresh_identity_keys(&mut self) {
        self.identity_keys = self
            .identities
            .iter()
            .map(|i| LinkedIdentity::key(&i.issuer, &i.subject))
            .collect();
    }

    pub fn mfa_enabled(&self) -> bool {
        self.mfa.as_ref().is_some_and(|m| m.enabled())
    }

    pub fn has_blocked(&self, user_id: &str) -> bool {
        self.blocked.iter().any(|b| b.user_id == user_id)
    }

    /// Brings the derived fields up to date (every write of the user goes through this).
    pub fn refresh_search_text(&mut self) {
        self.blocked_ids = self.blocked.iter().map(|b| b.user_id.clone()).collect();
        self.search_text = format!("{} {}", self.email, self.name).to_lowercase();
    }
}

/// The user as the API shows it: never a hash or a token.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub email_verified: bool,
    pub preferences: Preferences,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Read it with `GET /api/v1/files/{id}`.
    pub avatar_file_id: Option<String>,
    /// The stable avatar URL others see (`GET people/{id}/avatar`), when there is one.
    pub avatar_url: Option<String>,
    pub bio: String,
    /// Whether sign-in asks for a second factor (TOTP).
    pub mfa_enabled: bool,
    /// Whether the account has a password (one made through a sign-in link or a provider has
    /// none until it sets one through `auth/forgot-password`).
    pub has_password: bool,
}

impl User {
    /// `base`: this API's public URL (or ""), for the avatar URL.
    pub fn of(u: &UserDoc, base: &str) -> Self {
        User {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            status: u.status,
            email_verified: u.email_verified,
            preferences: u.preferences.clone(),
            created_at: u.created_at,
            last_login_at: u.last_login_at,
            avatar_file_id: u.avatar_file_id.clone(),
            avatar_url: crate::people::avatar_url(u, base),
            bio: u.bio.clone(),
            mfa_enabled: u.mfa_enabled(),
            has_password: u.password_hash.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
