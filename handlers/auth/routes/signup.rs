//! Sign-up: who may create an account and with which role ([`admit`]), and the handler.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{AuthResponse, field, link, send, signed_in};
use crate::auth::extract::{ClientIp, UserAgent};
use crate::auth::onetime::{self, Purpose};
use crate::auth::store::{self, InviteDoc};
use crate::auth::{limits, sessions};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::settings::{AuthSettings, RegistrationMode};
use crate::state::AppState;
use crate::users::activity;
use crate::users::model::{Email, Preferences, Role, UserDoc, UserStatus};
use crate::users::store as users;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(format = Email)]
    pub email: String,
    /// 10 to 128 characters, not easy to guess.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub invite_token: Option<String>,
}

/// Why a sign-up is let in.
#[derive(Debug)]
pub enum Admission {
    /// A configured admin email: needs no invite, or an invite-only portal could never start.
    /// The account starts as a plain user: anyone can type that address, so the admin role
    /// waits until the address is proven ([`promote_if_bootstrap`]).
    BootstrapAdmin,
    /// A live invite for this address, spent by the sign-up.
    Invited(InviteDoc),
    /// Registration is open and no usable invite came along.
    Open,
}

impl Admission {
    pub fn role(&self) -> Role {
        match self {
            Admission::BootstrapAdmin => Role::User,
            Admission::Invited(invite) => invite.role,
            Admission::Open => Role::default(),
        }
    }
}

/// The sign-up policy. `invite` is the invite the sign-up's token names, if any; it counts
/// only when it is live and for `email`. Without such an invite an invite-only portal answers
/// `INVITE_REQUIRED`, an open one lets the sign-up in as a plain user.
pub fn admit(
    settings: &AuthSettings,
    email: &Email,
    invite: Option<InviteDoc>,
    now: DateTime<Utc>,
) -> ApiResult<Admission> {
    if settings.admin_emails.iter().any(|a| a == email.as_str()) {
        return Ok(Admission::BootstrapAdmin);
    }
    match invite {
        Some(invite) if invite.email == email.as_str() && invite.is_live(now) => {
            Ok(Admission::Invited(invite))
        }
        _ if settings.registration == RegistrationMode::Invite => Err(ApiError::new(
            Code::InviteRequired,
            "Sign-up needs a valid invite for this email address.",
        )),
        _ => Ok(Admission::Open),
    }
}

/// Spends the invite a new account came in by, and tells the inviter. Losing a race here still
/// leaves one account per invite email (the email is unique).
pub async fn spend_admission(
    state: &AppState,
    admission: &Admission,
    user: &UserDoc,
    now: DateTime<Utc>,
) {
    let Admission::Invited(invite) = admission else {
        return;
    };
    if store::spend_invite(state, &invite.id, now).await.is_ok() {
        crate::notifications::record_for(
            state,
            std::slice::from_ref(&invite.invited_by),
            crate::notifications::Kind::InviteAccepted,
            serde_json::json!({"inviteId": invite.id, "userId": user.id, "name": user.name}),
        )
        .await;
    }
}

/// A new active account, signed in now.
pub fn new_account(
    email: &Email,
    name: &str,
    password_hash: Option<String>,
    role: Role,
    email_verified: bool,
    now: DateTime<Utc>,
) -> UserDoc {
    UserDoc {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.as_str().to_owned(),
        name: name.to_owned(),
        role,
        status: UserStatus::Active,
        email_verified,
        password_hash,
        preferences: Preferences::default(),
        created_at: now,
        updated_at: now,
        last_login_at: Some(now),
        search_text: String::new(),
        avatar_file_id: None,
        locked_until: None,
        bio: String::new(),
        last_seen_at: None,
        blocked: Vec::new(),
        blocked_ids: Vec::new(),
        mfa: None,
        pending_email: None,
        identities: Vec::new(),
        identity_keys: Vec::new(),
    }
}

/// Grants the bootstrap admin role to a configured admin email once it is verified. Called
/// wherever an address becomes (or is seen) proven: verify-email, a magic link, a sign-in of a
/// verified account. The change is stored, since rights are decided from the stored user.
pub fn promote_if_bootstrap(settings: &AuthSettings, user: &mut UserDoc) -> bool {
    let promote = user.email_verified
        && user.role != Role::Admin
        && settings.admin_emails.contains(&user.email);
    if promote {
        user.role = Role::Admin;
    }
    promote
}

#[utoipa::path(post, operation_id = "signup", path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = AuthResponse),
        (status = 400, description = "Invalid fields (`VALIDATION_FAILED`)", body = Problem),
        (status = 403, description = "`INVITE_REQUIRED`", body = Problem),
        (status = 409, description = "`EMAIL_TAKEN`", body = Problem),
        (status = 429, description = "`RATE_LIMITED`", body = Problem),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<SignupRequest>,
) -> ApiResult<Response> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(&request.email)
        .map_err(|m| field(&mut errors, "email", m))
        .ok();
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        field(&mut errors, "name", "Enter a name of 1 to 100 characters.");
    }
    for problem in
        crate::auth::password::problems(&request.password, &[request.email.as_str(), name.as_str()])
    {
        field(&mut errors, "password", problem);
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    limits::auth_hit(&state, "signup", &ip, Some(email.as_str())).await?;
    let invite = match request.invite_token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => {
            store::get_invite(&state, &sessions::hash(token)).await?
        }
        _ => None,
    };
    let now = Utc::now();
    let admission = admit(&state.settings.auth, &email, invite, now)?;
    let hash = state
        .auth
        .passwords
        .hash(&request.password)
        .await
        .map_err(ApiError::internal)?;
    let user = new_account(&email, &name, Some(hash), admission.role(), false, now);
    users::create(&state, &user).await?;
    spend_admission(&state, &admission, &user, now).await;
    // The account exists from here on: a failure to mail the link must not turn the answer
    // into an error the client would retry into EMAIL_TAKEN (resend-verification recovers).
    let verification = async {
        let token = onetime::issue(&state, Purpose::VerifyEmail, &user.id).await?;
        let text = format!(
            "Welcome, {name}! Confirm your email address: {}",
            link(&state, "/verify-email", &token)
        );
        send(
            &state,
            Mail::new(
                "verification",
                &user.email,
                "Confirm your email address",
                &text,
            ),
        )
        .await
    };
    if let Err(e) = verification.await {
        tracing::warn!(user_id = %user.id, "verification email not queued: {e}");
    }
    activity::record(&state, &user.id, "signup", &ip, &user_agent).await;
    crate::dashboard::metrics::record(&state, "signups").await;
    signed_in(&state, &user, &ip, &user_agent, StatusCode::CREATED).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(registration: RegistrationMode) -> AuthSettings {
        let mut settings = crate::settings::Settings::from_lookup(|_| None)
            .unwrap()
            .auth;
        settings.registration = registration;
        settings.admin_emails = vec!["boss@example.com".into()];
        settings
    }

    fn invite(email: &str, role: Role, used: bool, expires_in_days: i64) -> InviteDoc {
        let now = Utc::now();
        InviteDoc {
            id: "i".into(),
            email: email.into(),
            role,
            invited_by: "admin".into(),
            created_at: now,
            expires_at: now + chrono::Duration::days(expires_in_days),
            used_at: used.then_some(now),
            revoked_at: None,
            ttl: 1,
        }
    }

    fn email(raw: &str) -> Email {
        Email::parse(raw).unwrap()
    }

    #[test]
    fn bootstrap_admins_need_no_invite() {
        let s = settings(RegistrationMode::Invite);
        let admission = admit(&s, &email("boss@example.com"), None, Utc::now()).unwrap();
        assert!(matches!(admission, Admission::BootstrapAdmin));
        // Admin only once the address is verified.
        assert_eq!(admission.role(), Role::User);
    }

    #[test]
    fn a_live_invite_for_the_address_gives_its_role() {
        let s = settings(RegistrationMode::Invite);
        let live = invite("ada@example.com", Role::Admin, false, 7);
        let admission = admit(&s, &email("ada@example.com"), Some(live), Utc::now()).unwrap();
        assert_eq!(admission.role(), Role::Admin);
    }

    #[test]
    fn invite_only_refuses_without_a_usable_invite() {
        let s = settings(RegistrationMode::Invite);
        let now = Utc::now();
        for bad in [
            None,
            Some(invite("eve@example.com", Role::User, false, 7)),
            Some(invite("ada@example.com", Role::User, true, 7)),
            Some(invite("ada@example.com", Role::User, false, -1)),
        ] {
            let err = admit(&s, &email("ada@example.com"), bad, now).unwrap_err();
            assert_eq!(err.code, Code::InviteRequired);
        }
    }

    #[test]
    fn open_registration_ignores_an_unusable_invite() {
        let s = settings(RegistrationMode::Open);
        let used = invite("ada@example.com", Role::Admin, true, 7);
        let admission = admit(&s, &email("ada@example.com"), Some(used), Utc::now()).unwrap();
        assert!(matches!(admission, Admission::Open));
        assert_eq!(admission.role(), Role::User);
    }
}
