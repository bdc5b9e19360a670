//! Email change, required verification and passwordless sign-up through HTTP on both
//! backends.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, portal};
use crate::http::{PASSWORD, address, call, json_of, mailbox, mailed_token, problem, signup};

both!(
    an_email_change_is_confirmed_from_the_new_address,
    unverified_accounts_are_held_back_when_verification_is_required,
    a_magic_link_signs_up_an_unknown_address_where_registration_is_open,
);

async fn an_email_change_is_confirmed_from_the_new_address(kind: Kind) {
    let app = portal(kind, &[]).await;
    let old = address(&app, "ann");
    let auth = signup(&app, &old, "Ann").await;
    let token = auth["accessToken"].as_str().unwrap().to_owned();
    let new = address(&app, "ann.new");
    let change = |body: Value| {
        call(
            &app,
            Method::POST,
            "/api/v1/users/me/email",
            Some(&token),
            Some(body),
        )
    };
    let wrong = change(json!({"newEmail": new, "password": "not-the-password-1"})).await;
    let body = problem(wrong, 400, "VALIDATION_FAILED").await;
    assert!(body["errors"]["password"].is_array(), "{body}");
    problem(
        change(json!({"newEmail": old, "password": PASSWORD})).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        change(json!({"newEmail": "nope", "password": PASSWORD})).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;

    assert_eq!(
        change(json!({"newEmail": new, "password": PASSWORD}))
            .await
            .status(),
        202
    );
    let link = mailed_token(&app, &new, "email-change").await;
    // The old address is told.
    crate::http::eventually("the notice", std::time::Duration::from_secs(30), || async {
        mailbox(&app, &old)
            .await
            .iter()
            .any(|m| m["kind"] == "email-change-notice")
            .then_some(())
    })
    .await;
    let confirmed = call(
        &app,
        Method::POST,
        "/api/v1/auth/confirm-email-change",
        None,
        Some(json!({"token": link})),
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let user: Value = confirmed.json().await.unwrap();
    assert_eq!(
        (user["email"].as_str(), user["emailVerified"].as_bool()),
        (Some(new.as_str()), Some(true))
    );
    // Sessions survive; the new address signs in, the old one no longer does.
    assert_eq!(
        json_of(call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await).await["email"],
        new.as_str()
    );
    let signin = |email: String| {
        call(
            &app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
    };
    assert_eq!(signin(new.clone()).await.status(), 200);
    problem(signin(old.clone()).await, 401, "INVALID_CREDENTIALS").await;
    // A link works once.
    let again = call(
        &app,
        Method::POST,
        "/api/v1/auth/confirm-email-change",
        None,
        Some(json!({"token": link})),
    )
    .await;
    problem(again, 400, "INVALID_TOKEN").await;
    // The old address is free for a new account.
    signup(&app, &old, "Someone").await;

    // Taken meanwhile: the confirmation says so.
    let bob = signup(&app, &address(&app, "bob"), "Bob").await;
    let bob_token = bob["accessToken"].as_str().unwrap();
    let wanted = address(&app, "wanted");
    let asked = call(
        &app,
        Method::POST,
        "/api/v1/users/me/email",
        Some(bob_token),
        Some(json!({"newEmail": wanted, "password": PASSWORD})),
    )
    .await;
    assert_eq!(asked.status(), 202);
    let link = mailed_token(&app, &wanted, "email-change").await;
    signup(&app, &wanted, "Quick").await;
    let late = call(
        &app,
        Method::POST,
        "/api/v1/auth/confirm-email-change",
        None,
        Some(json!({"token": link})),
    )
    .await;
    problem(late, 409, "EMAIL_TAKEN").await;
}

async fn unverified_accounts_are_held_back_when_verification_is_required(kind: Kind) {
    let app = portal(kind, &[("REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let email = address(&app, "cy");
    let auth = signup(&app, &email, "Cy").await;
    let token = auth["accessToken"].as_str().unwrap().to_owned();
    // Signing in and the own profile work; everything else waits for the verification.
    assert_eq!(
        call(&app, Method::GET, "/api/v1/users/me", Some(&token), None)
            .await
            .status(),
        200
    );
    let patched = call(
        &app,
        Method::PATCH,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({"bio": "hi"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/v1/auth/sessions",
            Some(&token),
            None
        )
        .await
        .status(),
        200
    );
    let held = call(
        &app,
        Method::GET,
        "/api/v1/conversations",
        Some(&token),
        None,
    )
    .await;
    problem(held, 403, "EMAIL_NOT_VERIFIED").await;
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/users/me/progress",
            Some(&token),
            None,
        )
        .await,
        403,
        "EMAIL_NOT_VERIFIED",
    )
    .await;
    let link = mailed_token(&app, &email, "verification").await;
    assert_eq!(
        app.get(&format!("/api/v1/auth/verify-email?token={link}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/v1/conversations",
            Some(&token),
            None
        )
        .await
        .status(),
        200
    );
}

async fn a_magic_link_signs_up_an_unknown_address_where_registration_is_open(kind: Kind) {
    let app = portal(kind, &[]).await;
    let email = address(&app, "newcomer");
    let asked = call(
        &app,
        Method::POST,
        "/api/v1/auth/magic-link",
        None,
        Some(json!({"email": email, "name": "New Comer"})),
    )
    .await;
    assert_eq!(asked.status(), 202);
    let token = mailed_token(&app, &email, "magic-signup").await;
    let signed = call(
        &app,
        Method::POST,
        "/api/v1/auth/magic-link/verify",
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(signed.status(), 200);
    let signed: Value = signed.json().await.unwrap();
    assert_eq!(signed["user"]["name"], "New Comer");
    assert_eq!(signed["user"]["emailVerified"], true);
    // No password was ever set: none signs in.
    let login = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    problem(login, 401, "INVALID_CREDENTIALS").await;
    // The link works once; a second request for the same address is a sign-in link now.
    let again = call(
        &app,
        Method::POST,
        "/api/v1/auth/magic-link/verify",
        None,
        Some(json!({"token": token})),
    )
    .await;
    problem(again, 400, "INVALID_TOKEN").await;
    call(
        &app,
        Method::POST,
        "/api/v1/auth/magic-link",
        None,
        Some(json!({"email": email})),
    )
    .await;
    mailed_token(&app, &email, "magic-link").await;
    let long = call(
        &app,
        Method::POST,
        "/api/v1/auth/magic-link",
        None,
        Some(json!({"email": email, "name": "x".repeat(101)})),
    )
    .await;
    problem(long, 400, "VALIDATION_FAILED").await;

    // Invite-only: the same request sends nothing to an unknown address.
    let closed = portal(kind, &[("REGISTRATION_MODE", "invite")]).await;
    let stranger = address(&closed, "stranger");
    let asked = call(
        &closed,
        Method::POST,
        "/api/v1/auth/magic-link",
        None,
        Some(json!({"email": stranger})),
    )
    .await;
    assert_eq!(asked.status(), 202);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(mailbox(&closed, &stranger).await.is_empty());
}
