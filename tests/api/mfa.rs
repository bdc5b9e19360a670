//! Two-factor sign-in with TOTP through HTTP on both backends. Codes come from `oathtool`
//! (Debian's, an implementation other than the handler's), so the test checks RFC 6238 as
//! authenticator apps compute it, not the handler against itself.

use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal};
use crate::http::{PASSWORD, address, call, json_of, mailed_token, problem, signup};

both!(
    totp_is_set_up_confirmed_and_asked_at_sign_in,
    codes_work_once_with_one_step_of_drift_and_recovery_codes_once,
    five_wrong_codes_lock_the_account,
);

/// The 30 s step of now.
fn now_step() -> i64 {
    chrono::Utc::now().timestamp() / 30
}

/// The code `oathtool` computes for the base32 secret at a step. Tests name steps relative to
/// the one the set-up confirmed, so a step boundary passing mid-test changes nothing.
fn code(secret: &str, step: i64) -> String {
    let at = step * 30;
    let output = Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{at}"), secret])
        .output()
        .expect("oathtool must be installed (the test command installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn login(app: &TestApp, email: &str) -> Value {
    let response = call(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn verify(app: &TestApp, body: Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(body),
    )
    .await
}

/// Signs up, sets up and confirms TOTP; returns (email, token, secret, recovery codes, the
/// step the confirm spent).
async fn with_totp(app: &TestApp, who: &str) -> (String, String, String, Vec<String>, i64) {
    let email = address(app, who);
    let auth = signup(app, &email, who).await;
    let token = auth["accessToken"].as_str().unwrap().to_owned();
    let setup = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(setup.status(), 201);
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let uri = setup["otpauthUri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    // Until confirmed, sign-in is unchanged.
    assert!(login(app, &email).await["accessToken"].is_string());
    let wrong = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        Some(&token),
        Some(json!({"code": "000000"})),
    )
    .await;
    problem(wrong, 401, "MFA_INVALID").await;
    let step = now_step();
    let confirmed = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        Some(&token),
        Some(json!({"code": code(&secret, step)})),
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let codes: Vec<String> = json_of(confirmed).await["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (email, token, secret, codes, step)
}

async fn totp_is_set_up_confirmed_and_asked_at_sign_in(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (email, token, secret, _, step) = with_totp(&app, "ada").await;
    let me = json_of(call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await).await;
    assert_eq!(me["mfaEnabled"], true);
    let again = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        Some(&token),
        None,
    )
    .await;
    problem(again, 409, "MFA_ENABLED").await;

    // A correct password is not enough any more.
    let challenge = login(&app, &email).await;
    assert_eq!(challenge["mfaRequired"], true, "{challenge}");
    assert!(challenge.get("accessToken").is_none());
    assert_eq!(challenge["expiresIn"], 300);
    // Neither is a magic link.
    call(
        &app,
        Method::POST,
        "/api/v1/auth/magic-link",
        None,
        Some(json!({"email": email})),
    )
    .await;
    let link = mailed_token(&app, &email, "magic-link").await;
    let linked = json_of(
        call(
            &app,
            Method::POST,
            "/api/v1/auth/magic-link/verify",
            None,
            Some(json!({"token": link})),
        )
        .await,
    )
    .await;
    assert_eq!(linked["mfaRequired"], true, "{linked}");

    // The step the confirm used is spent: the next step's code signs in (one step of drift).
    let signed = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": code(&secret, step + 1)}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    let signed: Value = signed.json().await.unwrap();
    assert!(signed["accessToken"].is_string());
    // The challenge token went with it.
    let reused = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": code(&secret, step + 1)}),
    )
    .await;
    problem(reused, 401, "MFA_INVALID").await;
    problem(
        verify(&app, json!({"mfaToken": "x".repeat(43), "code": "123456"})).await,
        401,
        "MFA_INVALID",
    )
    .await;

    // Turning it off takes a fresh authenticator code: not a wrong one, not the one just used.
    let fresh = signed["accessToken"].as_str().unwrap();
    for used in ["111111".to_owned(), code(&secret, step + 1)] {
        let off = call(
            &app,
            Method::DELETE,
            "/api/v1/users/me/mfa",
            Some(fresh),
            Some(json!({"code": used})),
        )
        .await;
        problem(off, 401, "MFA_INVALID").await;
    }
}

async fn codes_work_once_with_one_step_of_drift_and_recovery_codes_once(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (email, _, secret, codes, step) = with_totp(&app, "bo").await;
    // Three steps past the confirmed one is beyond the one step of drift allowed.
    let challenge = login(&app, &email).await;
    let far = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": code(&secret, step + 3)}),
    )
    .await;
    problem(far, 401, "MFA_INVALID").await;
    // The code the confirm used (step 0) is spent; a code of an earlier step is too.
    let replay = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": code(&secret, step)}),
    )
    .await;
    problem(replay, 401, "MFA_INVALID").await;
    let early = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": code(&secret, step - 1)}),
    )
    .await;
    problem(early, 401, "MFA_INVALID").await;
    // A recovery code signs in once.
    let recovered = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "recoveryCode": codes[3]}),
    )
    .await;
    assert_eq!(recovered.status(), 200);
    let challenge = login(&app, &email).await;
    let again = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "recoveryCode": codes[3]}),
    )
    .await;
    problem(again, 401, "MFA_INVALID").await;
    let other = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "recoveryCode": codes[4].to_uppercase()}),
    )
    .await;
    assert_eq!(other.status(), 200, "recovery codes ignore case");
    // A code and a recovery code together are refused as such, on a live challenge.
    let challenge = login(&app, &email).await;
    let both = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": "123456", "recoveryCode": codes[5]}),
    )
    .await;
    problem(both, 400, "VALIDATION_FAILED").await;
    // Off with the next step's code (the confirm spent step 0); then a password signs in.
    let token = json_of(other).await;
    let token = token["accessToken"].as_str().unwrap().to_owned();
    let off = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me/mfa",
        Some(&token),
        Some(json!({"code": code(&secret, step + 1)})),
    )
    .await;
    assert_eq!(off.status(), 204);
    assert!(login(&app, &email).await["accessToken"].is_string());
}

async fn five_wrong_codes_lock_the_account(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (email, _, secret, _, step) = with_totp(&app, "cy").await;
    let challenge = login(&app, &email).await;
    for _ in 0..5 {
        let wrong = verify(
            &app,
            json!({"mfaToken": challenge["mfaToken"], "code": "000000"}),
        )
        .await;
        problem(wrong, 401, "MFA_INVALID").await;
    }
    let locked = verify(
        &app,
        json!({"mfaToken": challenge["mfaToken"], "code": code(&secret, step + 1)}),
    )
    .await;
    problem(locked, 429, "ACCOUNT_LOCKED").await;
    // The password is locked out as well.
    let password = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    problem(password, 429, "ACCOUNT_LOCKED").await;
}

/// Turns two-factor on for the signed-in `token` (set up, confirmed with `oathtool`'s code);
/// returns the recovery codes.
pub async fn turn_on(app: &TestApp, token: &str) -> Vec<String> {
    let setup = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        Some(token),
        None,
    )
    .await;
    let secret = json_of(setup).await["secret"].as_str().unwrap().to_owned();
    let confirmed = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        Some(token),
        Some(json!({"code": code(&secret, now_step())})),
    )
    .await;
    json_of(confirmed).await["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}
