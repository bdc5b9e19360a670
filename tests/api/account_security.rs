//! Accounts under attack, through HTTP on both backends: an admin email nobody proved, forms
//! reached through an unproven email, links that outlive a password change, lockout that tells
//! which accounts exist, password checks outside sign-in, an erased account's email. The audit
//! trail of sensitive actions is in `audit.rs`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal as app};
use crate::http::{
    PASSWORD, address, call, get, json_of, mailbox, mailed_token, post, problem, signup,
};

both!(
    the_bootstrap_admin_needs_a_verified_email,
    forms_join_export_and_erase_only_through_a_verified_email,
    a_password_reset_or_change_spends_the_other_links,
    unknown_addresses_lock_like_known_ones,
    current_password_checks_count_toward_the_lockout,
    an_erased_accounts_email_is_free_at_once,
);

pub fn access(auth: &Value) -> String {
    auth["accessToken"].as_str().unwrap().to_owned()
}

pub async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    post(
        app,
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn verify(app: &TestApp, email: &str) {
    let token = mailed_token(app, email, "verification").await;
    let verified = app
        .get(&format!("/api/v1/auth/verify-email?token={token}"))
        .await;
    assert_eq!(verified.status(), 200);
}

/// Every token mailed to `to` as `kind`, newest first, once `count` have arrived.
async fn tokens_of(app: &TestApp, to: &str, kind: &str, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let tokens: Vec<String> = mailbox(app, to)
            .await
            .iter()
            .filter(|m| m["kind"] == kind)
            .map(|m| {
                let text = m["text"].as_str().unwrap();
                let token = text.split("token=").nth(1).unwrap();
                token.split_whitespace().next().unwrap().to_owned()
            })
            .collect();
        if tokens.len() >= count {
            return tokens;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} {kind} emails for {to}");
}

async fn the_bootstrap_admin_needs_a_verified_email(kind: Kind) {
    let app = app(kind, &[]).await;
    // Anyone can type the configured address: the account starts as a plain user.
    let auth = signup(&app, "root@example.com", "Mallory").await;
    assert_eq!(auth["user"]["role"], "user");
    let token = access(&auth);
    problem(get(&app, "/api/v1/users", &token).await, 403, "FORBIDDEN").await;
    problem(
        get(&app, "/api/v1/admin/audit", &token).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let me = json_of(get(&app, "/api/v1/users/me", &token).await).await;
    assert_eq!(me["role"], "user");

    // Proving the address grants the role, stored: the same token now acts as admin.
    verify(&app, "root@example.com").await;
    let me = json_of(get(&app, "/api/v1/users/me", &token).await).await;
    assert_eq!(me["role"], "admin");
    assert_eq!(get(&app, "/api/v1/users", &token).await.status(), 200);
    let again = json_of(login(&app, "root@example.com", PASSWORD).await).await;
    assert_eq!(again["user"]["role"], "admin");
}

async fn export_of(app: &TestApp, token: &str) -> Value {
    json_of(get(app, "/api/v1/users/me/data-export", token).await).await
}

async fn submit_contact(app: &TestApp, token: Option<&str>, email: &str, message: &str) -> String {
    let body = json!({"name": "Vic", "email": email, "subject": "Hi", "message": message});
    let sent = json_of(
        call(
            app,
            Method::POST,
            "/api/v1/forms/contact",
            token,
            Some(body),
        )
        .await,
    )
    .await;
    sent["id"].as_str().unwrap().to_owned()
}

async fn forms_join_export_and_erase_only_through_a_verified_email(kind: Kind) {
    let app = app(kind, &[]).await;
    let victim = address(&app, "victim");
    let victims_form = submit_contact(&app, None, &victim, "The victim's own words").await;

    // The attacker signs up with the victim's address and never verifies it.
    let attacker = signup(&app, &victim, "Mallory").await;
    let token = access(&attacker);
    let export = export_of(&app, &token).await;
    assert_eq!(export["forms"], json!([]), "no forms by an unproven email");
    // What the account itself sent, signed in, is its own.
    let other = address(&app, "elsewhere");
    let own_form = submit_contact(&app, Some(&token), &other, "Sent signed in").await;
    let export = export_of(&app, &token).await;
    let ids: Vec<&str> = export["forms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own_form.as_str()]);

    // Erasing the unverified account takes its own submission, not the victim's.
    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    let docs = app.stores().documents.clone();
    let user_id = attacker["user"]["id"].as_str().unwrap().to_owned();
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
    assert!(
        docs.get("forms", &own_form, &own_form)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        docs.get("forms", &victims_form, &victims_form)
            .await
            .unwrap()
            .is_some(),
        "the victim's form survives an erase by an unproven email"
    );

    // The real owner, once verified, gets the form in the export.
    let owner = signup(&app, &victim, "Vic").await;
    // The newest of the two verification emails (the attacker's link went with the erase).
    let link = tokens_of(&app, &victim, "verification", 2).await.remove(0);
    let verified = app
        .get(&format!("/api/v1/auth/verify-email?token={link}"))
        .await;
    assert_eq!(verified.status(), 200);
    let export = export_of(&app, &access(&owner)).await;
    assert_eq!(export["forms"][0]["id"], victims_form.as_str());
}

async fn a_password_reset_or_change_spends_the_other_links(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "links");
    let auth = signup(&app, &email, "Ada").await;
    for path in [
        "/api/v1/auth/forgot-password",
        "/api/v1/auth/forgot-password",
        "/api/v1/auth/magic-link",
    ] {
        assert_eq!(
            post(&app, path, None, json!({"email": email}))
                .await
                .status(),
            202
        );
    }
    let resets = tokens_of(&app, &email, "password-reset", 2).await;
    let magic = tokens_of(&app, &email, "magic-link", 1).await;
    let reset = post(
        &app,
        "/api/v1/auth/reset-password",
        None,
        json!({"token": resets[0], "password": "amber-lantern-drifts-77"}),
    )
    .await;
    assert_eq!(reset.status(), 204);
    problem(
        post(
            &app,
            "/api/v1/auth/reset-password",
            None,
            json!({"token": resets[1], "password": "copper-meadow-hums-58"}),
        )
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
            json!({"token": magic[0]}),
        )
        .await,
        400,
        "INVALID_TOKEN",
    )
    .await;

    // A change of password spends them too.
    let signed_in = json_of(login(&app, &email, "amber-lantern-drifts-77").await).await;
    for path in ["/api/v1/auth/forgot-password", "/api/v1/auth/magic-link"] {
        assert_eq!(
            post(&app, path, None, json!({"email": email}))
                .await
                .status(),
            202
        );
    }
    let resets = tokens_of(&app, &email, "password-reset", 3).await;
    let magic = tokens_of(&app, &email, "magic-link", 2).await;
    let changed = post(
        &app,
        "/api/v1/users/me/password",
        Some(&access(&signed_in)),
        json!({"currentPassword": "amber-lantern-drifts-77", "newPassword": "copper-meadow-hums-58"}),
    )
    .await;
    assert_eq!(changed.status(), 204);
    problem(
        post(
            &app,
            "/api/v1/auth/reset-password",
            None,
            json!({"token": resets[0], "password": "violet-harbor-sings-42"}),
        )
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
            json!({"token": magic[0]}),
        )
        .await,
        400,
        "INVALID_TOKEN",
    )
    .await;
    // The sign-up's session ended with the reset.
    problem(
        get(&app, "/api/v1/users/me", &access(&auth)).await,
        401,
        "TOKEN_REVOKED",
    )
    .await;
}

/// Five wrong passwords, then the sixth attempt (with `last`): returns its answer and how long
/// the wrong ones took at the fastest.
async fn hammer(app: &TestApp, email: &str, last: &str) -> (reqwest::Response, Duration) {
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        problem(
            login(app, email, "wrong-password-here").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
        fastest = fastest.min(started.elapsed());
    }
    (login(app, email, last).await, fastest)
}

async fn unknown_addresses_lock_like_known_ones(kind: Kind) {
    // A hash cost that dominates a request, so skipping the hash would show.
    let app = app(
        kind,
        &[("ARGON2_MEMORY_KIB", "8192"), ("ARGON2_ITERATIONS", "2")],
    )
    .await;
    let known = address(&app, "known");
    signup(&app, &known, "Ada").await;
    let unknown = address(&app, "unknown");
    for email in [&known, &unknown] {
        let (locked, fastest_failure) = hammer(&app, email, PASSWORD).await;
        let body = problem(locked, 429, "ACCOUNT_LOCKED").await;
        assert!(body["detail"].is_string());
        // Locked answers pay the same hash as a failure: at least a fair part of its time
        // (the slowest of three, so a busy machine does not make this flaky).
        let mut locked_time = Duration::ZERO;
        for _ in 0..3 {
            let again = Instant::now();
            let locked_again = login(&app, email, PASSWORD).await;
            locked_time = locked_time.max(again.elapsed());
            assert!(locked_again.headers().contains_key("retry-after"));
            problem(locked_again, 429, "ACCOUNT_LOCKED").await;
        }
        assert!(
            locked_time * 3 >= fastest_failure,
            "{email}: locked in {locked_time:?}, a failure takes {fastest_failure:?}"
        );
    }
}

async fn current_password_checks_count_toward_the_lockout(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "change");
    let token = access(&signup(&app, &email, "Ada").await);
    for _ in 0..5 {
        let wrong = post(
            &app,
            "/api/v1/users/me/password",
            Some(&token),
            json!({"currentPassword": "wrong-password-here", "newPassword": "copper-meadow-hums-58"}),
        )
        .await;
        problem(wrong, 400, "VALIDATION_FAILED").await;
    }
    problem(login(&app, &email, PASSWORD).await, 429, "ACCOUNT_LOCKED").await;
    let right = post(
        &app,
        "/api/v1/users/me/password",
        Some(&token),
        json!({"currentPassword": PASSWORD, "newPassword": "copper-meadow-hums-58"}),
    )
    .await;
    problem(right, 429, "ACCOUNT_LOCKED").await;

    let email = address(&app, "erase");
    let token = access(&signup(&app, &email, "Bo").await);
    let erase = |password: &'static str| {
        call(
            &app,
            Method::DELETE,
            "/api/v1/users/me",
            Some(&token),
            Some(json!({"password": password})),
        )
    };
    for _ in 0..5 {
        problem(erase("wrong-password-here").await, 400, "VALIDATION_FAILED").await;
    }
    problem(erase(PASSWORD).await, 429, "ACCOUNT_LOCKED").await;
    problem(login(&app, &email, PASSWORD).await, 429, "ACCOUNT_LOCKED").await;
}

async fn an_erased_accounts_email_is_free_at_once(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = address(&app, "again");
    let old = signup(&app, &email, "Ada").await;
    let old_id = old["user"]["id"].as_str().unwrap().to_owned();
    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&access(&old)),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    // At once, not when the queued erase gets to it.
    let fresh = signup(&app, &email, "Ada").await;
    let fresh_id = fresh["user"]["id"].as_str().unwrap().to_owned();
    assert_ne!(fresh_id, old_id);
    // The erase, when it runs, leaves the new account's claim on the address alone.
    let docs = app.stores().documents.clone();
    for _ in 0..100 {
        if docs.get("users", &old_id, &old_id).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(docs.get("users", &old_id, &old_id).await.unwrap().is_none());
    let again = json_of(login(&app, &email, PASSWORD).await).await;
    assert_eq!(again["user"]["id"], fresh_id.as_str());
}
