//! Accounts and sessions through HTTP, each case on the embedded backends and on the
//! emulators: `accounts::embedded::*` and `accounts::azure::*`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal as app};
use crate::http::{
    PASSWORD, address, admin_auth, call, current_session_id, get, mailbox, mailed_token, post,
    problem, signup,
};

both!(
    signup_signs_in_and_verification_works_once,
    signup_validates_every_field,
    one_account_per_email_even_when_racing,
    invite_only_registration,
    login_failures_lock_the_account,
    suspended_accounts_cannot_sign_in,
    refresh_rotates_and_reuse_revokes_the_session,
    concurrent_refresh_within_grace_gets_the_same_pair,
    logout_and_sessions,
    password_reset_flow,
    magic_link_flow,
    purpose_bound_tokens_cannot_stand_in_for_each_other,
    forged_and_expired_access_tokens_are_refused,
    profile_read_and_update,
    password_change_ends_other_sessions,
    activity_export_and_erase,
    admin_manages_users,
    auth_endpoints_are_rate_limited,
    key_rotation_keeps_old_tokens_valid,
    verification_can_be_resent,
);

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    post(
        app,
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

fn access(auth: &Value) -> String {
    auth["accessToken"].as_str().unwrap().to_owned()
}

fn refresh_token(auth: &Value) -> String {
    auth["refreshToken"].as_str().unwrap().to_owned()
}

/// The session of `auth` has ended: its access token is refused as revoked.
async fn assert_signed_out(app: &TestApp, auth: &Value) {
    problem(
        get(app, "/api/v1/users/me", &access(auth)).await,
        401,
        "TOKEN_REVOKED",
    )
    .await;
}

async fn mails_of(app: &TestApp, to: &str, kind: &str) -> usize {
    mailbox(app, to)
        .await
        .iter()
        .filter(|m| m["kind"] == kind)
        .count()
}

async fn signup_signs_in_and_verification_works_once(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "ada");
    let response = post(&app, "/api/v1/auth/signup", None, json!({"email": format!("  {}  ", email.to_uppercase()), "password": PASSWORD, "name": "Ada"})).await;
    assert_eq!(response.status(), 201);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "refresh_token=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/auth",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let auth: Value = response.json().await.unwrap();
    assert_eq!(auth["user"]["email"], email.as_str(), "normalised");
    assert_eq!(auth["user"]["role"], "user");
    assert_eq!(auth["user"]["emailVerified"], false);
    assert_eq!(auth["expiresIn"], 900);
    assert!(!auth.to_string().contains("passwordHash"));

    let token = mailed_token(&app, &email, "verification").await;
    let verified = app
        .get(&format!("/api/v1/auth/verify-email?token={token}"))
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(
        verified.json::<Value>().await.unwrap()["emailVerified"],
        true
    );
    problem(
        app.get(&format!("/api/v1/auth/verify-email?token={token}"))
            .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    let me: Value = get(&app, "/api/v1/users/me", &access(&auth))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["emailVerified"], true);
}

async fn signup_validates_every_field(kind: Kind) {
    let app = app(kind, &[]).await;
    let bad = post(
        &app,
        "/api/v1/auth/signup",
        None,
        json!({"email": "not-an-email", "password": "short", "name": ""}),
    )
    .await;
    let body = problem(bad, 400, "VALIDATION_FAILED").await;
    for field in ["email", "password", "name"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
    for weak in ["password123", "qwertyuiop"] {
        let response = post(
            &app,
            "/api/v1/auth/signup",
            None,
            json!({"email": address(&app, "w"), "password": weak, "name": "W"}),
        )
        .await;
        let body = problem(response, 400, "VALIDATION_FAILED").await;
        assert!(body["errors"]["password"].is_array(), "{weak}");
    }
    let unknown = post(
        &app,
        "/api/v1/auth/signup",
        None,
        json!({"email": address(&app, "u"), "password": PASSWORD, "name": "U", "role": "admin"}),
    )
    .await;
    problem(unknown, 400, "INVALID_BODY").await;
}

async fn one_account_per_email_even_when_racing(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "race");
    let attempts = (0..5).map(|_| {
        post(
            &app,
            "/api/v1/auth/signup",
            None,
            json!({"email": email, "password": PASSWORD, "name": "R"}),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        4,
        "{statuses:?}"
    );
    let again = post(
        &app,
        "/api/v1/auth/signup",
        None,
        json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "R"}),
    )
    .await;
    problem(again, 409, "EMAIL_TAKEN").await;
}

async fn invite_only_registration(kind: Kind) {
    let app = app(kind, &[("REGISTRATION_MODE", "invite")]).await;
    let guest = address(&app, "guest");
    let refused = post(
        &app,
        "/api/v1/auth/signup",
        None,
        json!({"email": guest, "password": PASSWORD, "name": "G"}),
    )
    .await;
    problem(refused, 403, "INVITE_REQUIRED").await;

    // The bootstrap admin needs no invite.
    let admin = admin_auth(&app, "Ada").await;
    let me: Value = get(&app, "/api/v1/users/me", &access(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin", "once its email is verified");
    let created = post(
        &app,
        "/api/v1/auth/invites",
        Some(&access(&admin)),
        json!({"email": guest}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let invite: Value = created.json().await.unwrap();
    let token = invite["token"].as_str().unwrap();
    assert!(invite["url"].as_str().unwrap().contains(token));
    assert_eq!(
        mailed_token(&app, &guest, "invite").await,
        token,
        "the invite is emailed"
    );

    let check: Value = app
        .get(&format!("/api/v1/auth/invites/{token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["email"], guest.as_str());
    let other = post(&app, "/api/v1/auth/signup", None, json!({"email": address(&app, "other"), "password": PASSWORD, "name": "O", "inviteToken": token})).await;
    problem(other, 403, "INVITE_REQUIRED").await;
    let joined = post(
        &app,
        "/api/v1/auth/signup",
        None,
        json!({"email": guest, "password": PASSWORD, "name": "G", "inviteToken": token}),
    )
    .await;
    assert_eq!(joined.status(), 201);
    problem(
        app.get(&format!("/api/v1/auth/invites/{token}")).await,
        410,
        "INVITE_USED",
    )
    .await;
    problem(app.get("/api/v1/auth/invites/nope").await, 404, "NOT_FOUND").await;

    // Only admins invite.
    let guest_auth: Value = login(&app, &guest, PASSWORD).await.json().await.unwrap();
    let forbidden = post(
        &app,
        "/api/v1/auth/invites",
        Some(&access(&guest_auth)),
        json!({"email": address(&app, "x")}),
    )
    .await;
    problem(forbidden, 403, "FORBIDDEN").await;
}

async fn login_failures_lock_the_account(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "lock");
    signup(&app, &email, "Ada").await;
    assert_eq!(login(&app, &email, PASSWORD).await.status(), 200);
    problem(
        login(&app, &address(&app, "nobody"), PASSWORD).await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    for _ in 0..5 {
        problem(
            login(&app, &email, "wrong-password-here").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    let locked = login(&app, &email, PASSWORD).await;
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 800 && retry_after <= 900, "{retry_after}");
    problem(locked, 429, "ACCOUNT_LOCKED").await;
}

async fn suspended_accounts_cannot_sign_in(kind: Kind) {
    let app = app(kind, &[]).await;
    let admin = admin_auth(&app, "Ada").await;
    let email = address(&app, "bad");
    let user = signup(&app, &email, "Ada").await;
    let id = user["user"]["id"].as_str().unwrap();
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&access(&admin)),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    problem(
        login(&app, &email, PASSWORD).await,
        403,
        "ACCOUNT_SUSPENDED",
    )
    .await;
    assert_signed_out(&app, &user).await;
    let refreshed = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refreshToken": refresh_token(&user)}),
    )
    .await;
    assert_eq!(refreshed.status(), 401);
}

async fn refresh_rotates_and_reuse_revokes_the_session(kind: Kind) {
    let app = app(kind, &[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let first = signup(&app, &address(&app, "rot"), "Ada").await;
    let second: Value = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refreshToken": refresh_token(&first)}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(refresh_token(&second), refresh_token(&first));
    assert_eq!(
        get(&app, "/api/v1/users/me", &access(&second))
            .await
            .status(),
        200
    );

    // The cookie works as well as the body.
    let by_cookie = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header(
            "cookie",
            format!("refresh_token={}", refresh_token(&second)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);
    let third: Value = by_cookie.json().await.unwrap();

    // The first token again: reuse, and the whole session ends.
    let reused = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refreshToken": refresh_token(&first)}),
    )
    .await;
    problem(reused, 401, "TOKEN_REUSED").await;
    let newest = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refreshToken": refresh_token(&third)}),
    )
    .await;
    problem(newest, 401, "INVALID_REFRESH_TOKEN").await;
    assert_signed_out(&app, &third).await;
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            None,
            json!({"refreshToken": "garbage"}),
        )
        .await,
        401,
        "INVALID_REFRESH_TOKEN",
    )
    .await;
}

async fn concurrent_refresh_within_grace_gets_the_same_pair(kind: Kind) {
    let app = app(kind, &[]).await;
    let auth = signup(&app, &address(&app, "tabs"), "Ada").await;
    let body = json!({"refreshToken": refresh_token(&auth)});
    let (a, b) = tokio::join!(
        post(&app, "/api/v1/auth/refresh", None, body.clone()),
        post(&app, "/api/v1/auth/refresh", None, body.clone())
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(
        refresh_token(&a),
        refresh_token(&b),
        "both tabs hold the current token"
    );
    // A third tab a moment later, still inside the window.
    let c: Value = post(&app, "/api/v1/auth/refresh", None, body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refresh_token(&c), refresh_token(&a));
    assert_eq!(
        get(&app, "/api/v1/users/me", &access(&c)).await.status(),
        200
    );
}

async fn logout_and_sessions(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "sess");
    let one = signup(&app, &email, "Ada").await;
    let two: Value = login(&app, &email, PASSWORD).await.json().await.unwrap();
    let three: Value = login(&app, &email, PASSWORD).await.json().await.unwrap();

    let list: Value = get(&app, "/api/v1/auth/sessions", &access(&one))
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(items.iter().all(|s| s["ip"] == "127.0.0.1"));

    // Ending another session by id.
    let two_id = current_session_id(&app, &access(&two)).await;
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{two_id}"),
        Some(&access(&one)),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    assert_signed_out(&app, &two).await;
    let unknown = call(
        &app,
        Method::DELETE,
        "/api/v1/auth/sessions/nope",
        Some(&access(&one)),
        None,
    )
    .await;
    problem(unknown, 404, "NOT_FOUND").await;

    // Logout ends this session's tokens at once.
    assert_eq!(
        post(&app, "/api/v1/auth/logout", Some(&access(&one)), json!({}))
            .await
            .status(),
        204
    );
    assert_signed_out(&app, &one).await;
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/refresh",
            None,
            json!({"refreshToken": refresh_token(&one)})
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        get(&app, "/api/v1/users/me", &access(&three))
            .await
            .status(),
        200
    );

    // Logout-all ends the rest.
    let four: Value = login(&app, &email, PASSWORD).await.json().await.unwrap();
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/logout-all",
            Some(&access(&four)),
            json!({})
        )
        .await
        .status(),
        204
    );
    for auth in [&three, &four] {
        assert_signed_out(&app, auth).await;
    }
    problem(app.get("/api/v1/auth/sessions").await, 401, "UNAUTHORIZED").await;
}

async fn password_reset_flow(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "reset");
    let old = signup(&app, &email, "Ada").await;
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/forgot-password",
            None,
            json!({"email": address(&app, "ghost")})
        )
        .await
        .status(),
        202
    );
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/forgot-password",
            None,
            json!({"email": email})
        )
        .await
        .status(),
        202
    );
    let token = mailed_token(&app, &email, "password-reset").await;
    assert_eq!(
        mails_of(&app, &address(&app, "ghost"), "password-reset").await,
        0
    );

    let weak = post(
        &app,
        "/api/v1/auth/reset-password",
        None,
        json!({"token": token, "password": "password123"}),
    )
    .await;
    problem(weak, 400, "VALIDATION_FAILED").await;
    let new_password = "amber-lantern-drifts-77";
    let reset = post(
        &app,
        "/api/v1/auth/reset-password",
        None,
        json!({"token": token, "password": new_password}),
    )
    .await;
    assert_eq!(reset.status(), 204);
    let again = post(
        &app,
        "/api/v1/auth/reset-password",
        None,
        json!({"token": token, "password": "another-fine-phrase-9"}),
    )
    .await;
    problem(again, 400, "INVALID_TOKEN").await;
    problem(
        login(&app, &email, PASSWORD).await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    assert_eq!(login(&app, &email, new_password).await.status(), 200);
    assert_signed_out(&app, &old).await;
}

async fn magic_link_flow(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "magic");
    signup(&app, &email, "Ada").await;
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/magic-link",
            None,
            json!({"email": email})
        )
        .await
        .status(),
        202
    );
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/magic-link",
            None,
            json!({"email": address(&app, "ghost")})
        )
        .await
        .status(),
        202
    );
    let token = mailed_token(&app, &email, "magic-link").await;
    let signed_in = post(
        &app,
        "/api/v1/auth/magic-link/verify",
        None,
        json!({"token": token}),
    )
    .await;
    assert_eq!(signed_in.status(), 200);
    let auth: Value = signed_in.json().await.unwrap();
    assert_eq!(auth["user"]["emailVerified"], true);
    assert_eq!(
        get(&app, "/api/v1/users/me", &access(&auth)).await.status(),
        200
    );
    problem(
        post(
            &app,
            "/api/v1/auth/magic-link/verify",
            None,
            json!({"token": token}),
        )
        .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
}

async fn purpose_bound_tokens_cannot_stand_in_for_each_other(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "purpose");
    signup(&app, &email, "Ada").await;
    post(
        &app,
        "/api/v1/auth/forgot-password",
        None,
        json!({"email": email}),
    )
    .await;
    post(
        &app,
        "/api/v1/auth/magic-link",
        None,
        json!({"email": email}),
    )
    .await;
    let reset = mailed_token(&app, &email, "password-reset").await;
    let magic = mailed_token(&app, &email, "magic-link").await;
    let verify = mailed_token(&app, &email, "verification").await;

    problem(
        post(
            &app,
            "/api/v1/auth/magic-link/verify",
            None,
            json!({"token": reset}),
        )
        .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/reset-password",
            None,
            json!({"token": magic, "password": "another-fine-phrase-9"}),
        )
        .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    problem(
        app.get(&format!("/api/v1/auth/verify-email?token={magic}"))
            .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/magic-link/verify",
            None,
            json!({"token": verify}),
        )
        .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    for token in [&reset, &magic, &verify] {
        problem(
            get(&app, "/api/v1/users/me", token).await,
            401,
            "INVALID_TOKEN",
        )
        .await;
    }
    // Refused tokens were not spent: each still works for its own purpose.
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/magic-link/verify",
            None,
            json!({"token": magic})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/reset-password",
            None,
            json!({"token": reset, "password": "another-fine-phrase-9"})
        )
        .await
        .status(),
        204
    );
}

async fn forged_and_expired_access_tokens_are_refused(kind: Kind) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let app = app(kind, &[]).await;
    let auth = signup(&app, &address(&app, "forge"), "Ada").await;
    let token = access(&auth);
    let claims_b64 = token.split('.').nth(1).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims_b64).unwrap()).unwrap();

    // alg none, with the real claims.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        claims_b64
    );
    problem(
        get(&app, "/api/v1/users/me", &none).await,
        401,
        "INVALID_TOKEN",
    )
    .await;
    // HS256 signed with the public key bytes (the classic key-confusion attack) or any secret.
    let jwks: Value = app
        .get("/api/v1/auth/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let public = jwks["keys"][0]["x"].as_str().unwrap();
    let hs = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    problem(
        get(&app, "/api/v1/users/me", &hs).await,
        401,
        "INVALID_TOKEN",
    )
    .await;
    // A tampered role.
    claims["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        token.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        token.split('.').nth(2).unwrap()
    );
    problem(
        get(&app, "/api/v1/users/me", &tampered).await,
        401,
        "INVALID_TOKEN",
    )
    .await;
    // Expired, though signed with our own key.
    let keys = app.state.auth.keys.keys().await.unwrap();
    claims["role"] = json!("user");
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(keys[0].kid.clone());
    let expired = jsonwebtoken::encode(&header, &claims, &keys[0].encoding).unwrap();
    problem(
        get(&app, "/api/v1/users/me", &expired).await,
        401,
        "INVALID_TOKEN",
    )
    .await;
    // Every issued token's kid is published.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header.kid.clone().unwrap().as_str())
    );
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
}

async fn profile_read_and_update(kind: Kind) {
    let app = app(kind, &[]).await;
    let auth = signup(&app, &address(&app, "prof"), "Ada").await;
    let token = access(&auth);
    let via_auth: Value = get(&app, "/api/v1/auth/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let via_users: Value = get(&app, "/api/v1/users/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(via_auth, via_users);
    assert_eq!(via_users, auth["user"]);
    let patched = call(
        &app,
        Method::PATCH,
        "/api/v1/users/me",
        Some(&token),
        Some(
            json!({"name": "Ada L.", "preferences": {"notifications": false, "emailUpdates": true, "theme": "dark"}}),
        ),
    ).await;
    assert_eq!(patched.status(), 200);
    let user: Value = patched.json().await.unwrap();
    assert_eq!(user["name"], "Ada L.");
    assert_eq!(user["preferences"]["theme"], "dark");
    let unknown = call(
        &app,
        Method::PATCH,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({"role": "admin"})),
    )
    .await;
    problem(unknown, 400, "INVALID_BODY").await;
    let bad_theme = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&token)
        .json(
            &json!({"preferences": {"notifications": true, "emailUpdates": true, "theme": "neon"}}),
        )
        .send()
        .await
        .unwrap();
    problem(bad_theme, 400, "VALIDATION_FAILED").await;
    problem(app.get("/api/v1/users/me").await, 401, "UNAUTHORIZED").await;
}

async fn password_change_ends_other_sessions(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "chpw");
    let here = signup(&app, &email, "Ada").await;
    let elsewhere: Value = login(&app, &email, PASSWORD).await.json().await.unwrap();
    let wrong = post(
        &app,
        "/api/v1/users/me/password",
        Some(&access(&here)),
        json!({"currentPassword": "nope-nope-nope", "newPassword": "amber-lantern-drifts-77"}),
    )
    .await;
    let body = problem(wrong, 400, "VALIDATION_FAILED").await;
    assert!(body["errors"]["currentPassword"].is_array());
    let weak = post(
        &app,
        "/api/v1/users/me/password",
        Some(&access(&here)),
        json!({"currentPassword": PASSWORD, "newPassword": "qwertyuiop"}),
    )
    .await;
    problem(weak, 400, "VALIDATION_FAILED").await;
    let ok = post(
        &app,
        "/api/v1/users/me/password",
        Some(&access(&here)),
        json!({"currentPassword": PASSWORD, "newPassword": "amber-lantern-drifts-77"}),
    )
    .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        get(&app, "/api/v1/users/me", &access(&here)).await.status(),
        200
    );
    assert_signed_out(&app, &elsewhere).await;
    assert_eq!(
        login(&app, &email, "amber-lantern-drifts-77")
            .await
            .status(),
        200
    );
}

async fn activity_export_and_erase(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "gdpr");
    let auth = signup(&app, &email, "Ada").await;
    let user_id = auth["user"]["id"].as_str().unwrap().to_owned();
    let token = access(&auth);
    let again = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.9:5555")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    // A failed login leaves a counter in the cache; the erase must take it too.
    problem(
        login(&app, &email, "wrong-password-here").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    post(
        &app,
        "/api/v1/users/me/password",
        Some(&token),
        json!({"currentPassword": PASSWORD, "newPassword": "amber-lantern-drifts-77"}),
    )
    .await;

    let activity: Value = get(&app, "/api/v1/users/me/activity", &token)
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["password_changed", "login_failed", "login", "signup"],
        "newest first"
    );
    assert_eq!(activity["items"][2]["ip"], "203.0.113.9");

    let export: Value = get(&app, "/api/v1/users/me/data-export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["profile"]["email"], email.as_str());
    assert_eq!(export["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(export["activity"].as_array().unwrap().len(), 4);
    let text = export.to_string();
    assert!(
        !text.contains("passwordHash") && !text.contains("currentHash"),
        "no secrets in the export"
    );

    let wrong = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({"password": "nope"})),
    )
    .await;
    problem(wrong, 400, "VALIDATION_FAILED").await;
    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({"password": "amber-lantern-drifts-77"})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    problem(
        get(&app, "/api/v1/users/me", &token).await,
        401,
        "TOKEN_REVOKED",
    )
    .await;

    // The erase job runs from the queue; then nothing of the user is left.
    let docs = app.stores().documents.clone();
    for _ in 0..100 {
        if docs
            .get("users", &user_id, &user_id)
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        docs.get("users", &user_id, &user_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(docs.get("emails", &email, &email).await.unwrap().is_none());
    let everywhere = [
        ("sessions", Some(user_id.as_str()), None),
        ("activity", Some(user_id.as_str()), None),
        ("tokens", None, Some(("userId", user_id.as_str()))),
        ("invites", None, Some(("email", email.as_str()))),
    ];
    for (container, pk, filter) in everywhere {
        let mut query = portal_api::store::Query::default();
        if let Some((field, value)) = filter {
            query = query.filter(portal_api::store::Filter::eq(field, value));
        }
        let left = docs.query(container, pk, &query, None).await.unwrap();
        assert!(
            left.items.is_empty(),
            "{container} still holds {:?}",
            left.items
        );
    }
    for key in portal_api::auth::limits::user_keys(&email) {
        assert!(
            !app.stores().cache.exists(&key).await.unwrap(),
            "{key} left in the cache"
        );
    }
    problem(
        login(&app, &email, "amber-lantern-drifts-77").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    // The email can sign up again, as a new account.
    let fresh = signup(&app, &email, "Ada").await;
    assert_ne!(fresh["user"]["id"], user_id.as_str());
}

async fn admin_manages_users(kind: Kind) {
    let app = app(kind, &[]).await;
    let admin = admin_auth(&app, "Ada").await;
    let token = access(&admin);
    let grace = signup(&app, &address(&app, "grace"), "Ada").await;
    let grace_id = grace["user"]["id"].as_str().unwrap().to_owned();
    signup(&app, &address(&app, "alan"), "Ada").await;

    problem(
        get(&app, "/api/v1/users", &access(&grace)).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let found: Value = get(
        &app,
        &format!("/api/v1/users?search=GRACE.{}", app.unique),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    let items = found["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"));
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["id"], grace_id.as_str());
    let page: Value = get(&app, "/api/v1/users?limit=1", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["nextCursor"].is_string());

    let one: Value = get(&app, &format!("/api/v1/users/{grace_id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["email"], address(&app, "grace").as_str());
    problem(
        get(&app, "/api/v1/users/no-such-user", &token).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let bad = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{grace_id}"),
        Some(&token),
        Some(json!({"role": "god"})),
    )
    .await;
    problem(bad, 400, "VALIDATION_FAILED").await;
    let promoted = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{grace_id}"),
        Some(&token),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promoted.json::<Value>().await.unwrap()["role"], "admin");
    // Her stored role counts at once, though her token still says "user".
    assert_eq!(
        get(&app, "/api/v1/users", &access(&grace)).await.status(),
        200
    );

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{grace_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 202);
    assert_signed_out(&app, &grace).await;
}

async fn auth_endpoints_are_rate_limited(kind: Kind) {
    let app = app(
        kind,
        &[
            ("RATE_LIMIT_AUTH_PER_MINUTE", "3"),
            ("RATE_LIMIT_GENERAL_PER_MINUTE", "20"),
        ],
    )
    .await;
    // Each case comes from its own address, so the shared emulators never mix them up.
    let ip = |n: u8| format!("198.51.100.{n}");
    let from = |ip: String, email: String| {
        app.client
            .post(app.url("/api/v1/auth/forgot-password"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": email}))
            .send()
    };
    let seed = app.unique.as_bytes()[1];
    for n in 0..3 {
        assert_eq!(
            from(ip(seed), address(&app, &format!("a{n}")))
                .await
                .unwrap()
                .status(),
            202
        );
    }
    let limited = from(ip(seed), address(&app, "a9")).await.unwrap();
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 60
    );
    problem(limited, 429, "RATE_LIMITED").await;
    // Per account too, whatever the address.
    let victim = address(&app, "victim");
    for n in 0..3 {
        assert_eq!(
            from(ip(seed.wrapping_add(10 + n)), victim.clone())
                .await
                .unwrap()
                .status(),
            202
        );
    }
    problem(
        from(ip(seed.wrapping_add(20)), victim).await.unwrap(),
        429,
        "RATE_LIMITED",
    )
    .await;

    // And the general limit on everything under /api.
    let general_ip = ip(seed.wrapping_add(30));
    let mut statuses = Vec::new();
    for _ in 0..21 {
        let r = app
            .client
            .get(app.url("/api/v1/auth/jwks.json"))
            .header("x-forwarded-for", &general_ip)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.get("/api/healthz").await.status(),
        200,
        "probes are not limited"
    );
}

async fn key_rotation_keeps_old_tokens_valid(kind: Kind) {
    let app = app(kind, &[("KEY_ROTATION_DAYS", "0")]).await;
    let email = address(&app, "rotate");
    let before = signup(&app, &email, "Ada").await;
    let kid = |auth: &Value| {
        jsonwebtoken::decode_header(access(auth))
            .unwrap()
            .kid
            .unwrap()
    };
    // As the Functions host fires the timer.
    let reply: Value = app
        .post_raw("/rotate-keys", &crate::helpers::fixture("timer.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["ReturnValue"]["rotated"], true, "{reply}");
    assert_eq!(reply["ReturnValue"]["validKeys"], 2);
    let after: Value = login(&app, &email, PASSWORD).await.json().await.unwrap();
    assert_ne!(kid(&before), kid(&after), "the new key signs");
    assert_eq!(
        get(&app, "/api/v1/users/me", &access(&before))
            .await
            .status(),
        200,
        "the old key still verifies"
    );
    let jwks: Value = app
        .get("/api/v1/auth/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&kid(&before).as_str()) && kids.contains(&kid(&after).as_str()));
}

async fn verification_can_be_resent(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "resend");
    let auth = signup(&app, &email, "Ada").await;
    let first = mailed_token(&app, &email, "verification").await;
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/resend-verification",
            Some(&access(&auth)),
            json!({})
        )
        .await
        .status(),
        202
    );
    for _ in 0..100 {
        if mails_of(&app, &email, "verification").await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mails_of(&app, &email, "verification").await, 2);
    // Either link verifies; once verified, no more emails are sent.
    assert_eq!(
        app.get(&format!("/api/v1/auth/verify-email?token={first}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        post(
            &app,
            "/api/v1/auth/resend-verification",
            Some(&access(&auth)),
            json!({})
        )
        .await
        .status(),
        202
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails_of(&app, &email, "verification").await, 2);
    problem(
        post(&app, "/api/v1/auth/resend-verification", None, json!({})).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}
