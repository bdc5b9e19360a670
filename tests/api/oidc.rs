//! Sign-in with OpenID Connect against a real provider (npm `oidc-provider`, started by the
//! harness): sign-up through it and sign-in again, linking by verified email, refusal of an
//! unverified email, state, nonce and issuer tampering, replays, the one-time code, the
//! two-factor step, invite-only portals, and unlinking.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::{
    PASSWORD, call, current_session_id, get, json_of, mailed_token, post, problem, signup,
};
use crate::oidc_provider::{self, Browser};

async fn app(kind: Kind, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = oidc_provider::settings("test");
    settings.push(("ADMIN_EMAILS".into(), "root@example.com".into()));
    settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_app_with(
        kind,
        Options {
            settings,
            ..Default::default()
        },
    )
    .await
}

/// A sign-in begun at the app: the provider's URL and the browser-binding cookie.
struct Started {
    authorization: String,
    binding: String,
}

async fn start(app: &TestApp, redirect_to: &str) -> Started {
    let response = app
        .client
        .get(app.url(&format!(
            "/api/v1/auth/oidc/test/start?redirectTo={}",
            urlencode(redirect_to)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302, "start");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    Started {
        authorization: response.headers()["location"].to_str().unwrap().to_owned(),
        binding: cookie.split(';').next().unwrap().to_owned(),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The app's callback as the browser reaches it (with the binding cookie unless `None`): where
/// it sends the browser next.
async fn callback(app: &TestApp, url: &str, binding: Option<&str>) -> reqwest::Url {
    let url = reqwest::Url::parse(url).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let mut request = app.client.get(app.url(&path));
    if let Some(binding) = binding {
        request = request.header("cookie", binding);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 302, "callback");
    reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

/// `url` with its query parameter `name` set to `value` (replaced, or added).
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .chain([(name.to_owned(), value.to_owned())])
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// The app's callback for a sign-in `started` in this browser, with `params` as the provider
/// (or someone else) would put them.
async fn callback_of(app: &TestApp, started: &Started, params: &str) -> reqwest::Url {
    let authorization = reqwest::Url::parse(&started.authorization).unwrap();
    let state = query(&authorization, "state").unwrap();
    let url = app.url(&format!(
        "/api/v1/auth/oidc/test/callback?{params}&state={state}"
    ));
    callback(app, &url, Some(&started.binding)).await
}

fn query(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The whole browser round: start, the provider as `login`, the callback.
async fn round(app: &TestApp, login: &str, redirect_to: &str) -> reqwest::Url {
    let started = start(app, redirect_to).await;
    let back = Browser::default()
        .sign_in(&started.authorization, login)
        .await;
    callback(app, &back, Some(&started.binding)).await
}

/// Signs in as `login`, expecting success: the exchange's answer.
async fn sign_in(app: &TestApp, login: &str) -> Value {
    let landed = round(app, login, "/courses?tab=mine").await;
    assert_eq!(landed.path(), "/courses", "{landed}");
    assert_eq!(query(&landed, "tab").as_deref(), Some("mine"));
    let code = query(&landed, "signin").unwrap_or_else(|| panic!("no code in {landed}"));
    let response = post(
        app,
        "/api/v1/auth/oidc/exchange",
        None,
        json!({"code": code}),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Signs in as `login`, expecting the sign-in page with `error`.
async fn refused(app: &TestApp, login: &str) -> String {
    let landed = round(app, login, "/").await;
    assert_eq!(landed.path(), "/signin", "{landed}");
    query(&landed, "error").unwrap()
}

async fn sign_up_and_sign_in_again(kind: Kind) {
    let app = app(kind, &[]).await;
    let providers = json_of(app.get("/api/v1/auth/providers").await).await;
    assert_eq!(
        providers,
        json!({"items": [{"name": "test", "label": "Test IdP"}]})
    );

    let login = format!("ann.{}@example.com", app.unique);
    let first = sign_in(&app, &login).await;
    let user = &first["user"];
    assert_eq!(user["email"], login.as_str());
    assert_eq!(user["emailVerified"], true, "the provider asserted it");
    assert_eq!(user["name"], "Person ann.".to_owned() + &app.unique);
    let token = first["accessToken"].as_str().unwrap();
    let identities = json_of(get(&app, "/api/v1/users/me/identities", token).await).await;
    assert_eq!(identities["items"][0]["provider"], "test");
    assert_eq!(identities["items"][0]["label"], "Test IdP");

    let again = sign_in(&app, &login).await;
    assert_eq!(again["user"]["id"], user["id"], "the same account");
    // Found by the provider's `sub`, not linked anew through the email.
    let token = again["accessToken"].as_str().unwrap();
    let after = json_of(get(&app, "/api/v1/users/me/identities", token).await).await;
    assert_eq!(
        after["items"][0]["linkedAt"],
        identities["items"][0]["linkedAt"]
    );
}

#[tokio::test]
async fn sign_up_through_the_provider_and_sign_in_again_embedded() {
    sign_up_and_sign_in_again(Kind::Embedded).await;
}

#[tokio::test]
async fn sign_up_through_the_provider_and_sign_in_again_on_the_emulators() {
    sign_up_and_sign_in_again(Kind::Azure).await;
}

async fn links_by_verified_email(kind: Kind) {
    let app = app(kind, &[]).await;
    // A verified account with a password: the provider's verified address links to it.
    let ann = format!("ann.{}@example.com", app.unique);
    let signed_up = signup(&app, &ann, "Ann").await;
    let token = mailed_token(&app, &ann, "verification").await;
    let verified = app
        .get(&format!("/api/v1/auth/verify-email?token={token}"))
        .await;
    assert_eq!(verified.status(), 200);
    let linked = sign_in(&app, &ann).await;
    assert_eq!(linked["user"]["id"], signed_up["user"]["id"]);
    assert_eq!(
        linked["user"]["name"], "Ann",
        "the account's own name stays"
    );

    // An unverified account (anyone could have registered it in this name) is not handed over.
    let bob = format!("bob.{}@example.com", app.unique);
    signup(&app, &bob, "Bob").await;
    assert_eq!(refused(&app, &bob).await, "EMAIL_NOT_VERIFIED");
    // Nor is any account made for an address the provider does not assert as verified.
    let carl = format!("unverified-carl.{}@example.com", app.unique);
    assert_eq!(refused(&app, &carl).await, "EMAIL_NOT_VERIFIED");
    let login = post(
        &app,
        "/api/v1/auth/magic-link",
        None,
        json!({"email": carl}),
    )
    .await;
    assert_eq!(login.status(), 202);
}

#[tokio::test]
async fn a_verified_email_links_and_an_unverified_one_is_refused_embedded() {
    links_by_verified_email(Kind::Embedded).await;
}

#[tokio::test]
async fn a_verified_email_links_and_an_unverified_one_is_refused_on_the_emulators() {
    links_by_verified_email(Kind::Azure).await;
}

#[tokio::test]
async fn a_state_works_once_in_the_browser_that_started_it() {
    let app = app(Kind::Embedded, &[]).await;
    let login = format!("dana.{}@example.com", app.unique);

    // Tampered: another state value.
    let started = start(&app, "/").await;
    let back = Browser::default()
        .sign_in(&started.authorization, &login)
        .await;
    let state = query(&reqwest::Url::parse(&back).unwrap(), "state").unwrap();
    let tampered = with_param(&back, "state", &format!("{state}x"));
    let landed = callback(&app, &tampered, Some(&started.binding)).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("INVALID_STATE"));

    // From another browser (no binding cookie: a link someone else finished signing in with).
    let started = start(&app, "/").await;
    let back = Browser::default()
        .sign_in(&started.authorization, &login)
        .await;
    let landed = callback(&app, &back, None).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("INVALID_STATE"));
    // ... and the state is spent by that attempt.
    let landed = callback(&app, &back, Some(&started.binding)).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("INVALID_STATE"));

    // Replayed: the same callback twice.
    let started = start(&app, "/").await;
    let back = Browser::default()
        .sign_in(&started.authorization, &login)
        .await;
    let first = callback(&app, &back, Some(&started.binding)).await;
    assert!(query(&first, "signin").is_some(), "{first}");
    let second = callback(&app, &back, Some(&started.binding)).await;
    assert_eq!(query(&second, "error").as_deref(), Some("INVALID_STATE"));

    // The issuer that answered (RFC 9207) must be this provider's.
    let started = start(&app, "/").await;
    let back = Browser::default()
        .sign_in(&started.authorization, &login)
        .await;
    let other = with_param(&back, "iss", "https://evil.example");
    let landed = callback(&app, &other, Some(&started.binding)).await;
    assert_eq!(query(&landed, "error").as_deref(), Some("INVALID_STATE"));
}

#[tokio::test]
async fn a_nonce_other_than_the_one_sent_is_refused() {
    let app = app(Kind::Embedded, &[]).await;
    let started = start(&app, "/").await;
    // The browser (or someone on its way) changes the nonce the app asked for: the provider
    // puts the changed one in the ID token, which the app must refuse.
    let authorization = with_param(&started.authorization, "nonce", "chosen-by-someone-else");
    let login = format!("erin.{}@example.com", app.unique);
    let back = Browser::default().sign_in(&authorization, &login).await;
    let landed = callback(&app, &back, Some(&started.binding)).await;
    assert_eq!(landed.path(), "/signin");
    assert_eq!(query(&landed, "error").as_deref(), Some("INVALID_NONCE"));
}

#[tokio::test]
async fn the_sign_in_code_works_once_and_bad_input_is_a_4xx() {
    let app = app(Kind::Embedded, &[]).await;
    let login = format!("finn.{}@example.com", app.unique);
    let landed = round(&app, &login, "/").await;
    let code = query(&landed, "signin").unwrap();
    let first = post(
        &app,
        "/api/v1/auth/oidc/exchange",
        None,
        json!({"code": code}),
    )
    .await;
    assert_eq!(first.status(), 200);
    assert!(
        first.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("refresh_token="),
        "the exchange sets the refresh cookie"
    );
    let replay = post(
        &app,
        "/api/v1/auth/oidc/exchange",
        None,
        json!({"code": code}),
    )
    .await;
    problem(replay, 400, "INVALID_TOKEN").await;
    let junk = post(&app, "/api/v1/auth/oidc/exchange", None, json!({"code": 7})).await;
    assert_eq!(junk.status(), 400);

    // No open redirect, no unknown provider, no provider error turned into a 500.
    for bad in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "evil",
    ] {
        let response = app
            .client
            .get(app.url(&format!(
                "/api/v1/auth/oidc/test/start?redirectTo={}",
                urlencode(bad)
            )))
            .send()
            .await
            .unwrap();
        problem(response, 400, "VALIDATION_FAILED").await;
    }
    let unknown = app
        .client
        .get(app.url("/api/v1/auth/oidc/nope/start"))
        .send()
        .await
        .unwrap();
    problem(unknown, 404, "NOT_FOUND").await;
    let cancelled = callback(
        &app,
        &app.url("/api/v1/auth/oidc/test/callback?error=access_denied&state=abc"),
        None,
    )
    .await;
    assert_eq!(query(&cancelled, "error").as_deref(), Some("INVALID_STATE"));
    let started = start(&app, "/").await;
    let denied = callback_of(&app, &started, "error=access_denied").await;
    assert_eq!(query(&denied, "error").as_deref(), Some("PROVIDER_DENIED"));
    let started = start(&app, "/").await;
    let forged = callback_of(&app, &started, "code=forged").await;
    assert_eq!(query(&forged, "error").as_deref(), Some("EXCHANGE_FAILED"));
}

#[tokio::test]
async fn two_factor_comes_after_the_provider() {
    let app = app(Kind::Embedded, &[]).await;
    let login = format!("gus.{}@example.com", app.unique);
    let token = sign_in(&app, &login).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let recovery = crate::mfa::turn_on(&app, &token).await;
    let landed = round(&app, &login, "/").await;
    let code = query(&landed, "signin").unwrap();
    let challenge = json_of(
        post(
            &app,
            "/api/v1/auth/oidc/exchange",
            None,
            json!({"code": code}),
        )
        .await,
    )
    .await;
    assert_eq!(challenge["mfaRequired"], true);
    assert!(
        challenge.get("accessToken").is_none(),
        "no tokens before the second factor"
    );
    let verified = post(
        &app,
        "/api/v1/auth/mfa/verify",
        None,
        json!({"mfaToken": challenge["mfaToken"], "recoveryCode": recovery[0]}),
    )
    .await;
    assert_eq!(verified.status(), 200);
}

#[tokio::test]
async fn an_invite_only_portal_needs_an_invite_for_the_address() {
    let app = app(Kind::Embedded, &[("REGISTRATION_MODE", "invite")]).await;
    let hana = format!("hana.{}@example.com", app.unique);
    assert_eq!(refused(&app, &hana).await, "INVITE_REQUIRED");

    let admin = crate::http::admin(&app).await;
    let invited = post(
        &app,
        "/api/v1/auth/invites",
        Some(&admin),
        json!({"email": hana, "role": "mentor"}),
    )
    .await;
    assert_eq!(invited.status(), 201, "{}", invited.text().await.unwrap());
    let signed_in = sign_in(&app, &hana).await;
    assert_eq!(signed_in["user"]["role"], "mentor", "the invite's role");
    let listed = json_of(get(&app, "/api/v1/auth/invites?status=used", &admin).await).await;
    assert_eq!(listed["items"][0]["email"], hana.as_str());
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_unlinked() {
    let app = app(Kind::Embedded, &[]).await;
    // Made through the provider: no password, so the provider is the only way in.
    let ivy = format!("ivy.{}@example.com", app.unique);
    let token = sign_in(&app, &ivy).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = "/api/v1/users/me/identities/test";
    let refused = call(&app, Method::DELETE, path, Some(&token), None).await;
    problem(refused, 409, "LAST_SIGN_IN_METHOD").await;
    let unknown = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me/identities/other",
        Some(&token),
        None,
    )
    .await;
    problem(unknown, 404, "NOT_FOUND").await;

    // With a password it can go; the provider then no longer finds the account by its `sub`.
    let jack = format!("jack.{}@example.com", app.unique);
    let signed_up = signup(&app, &jack, "Jack").await;
    let mailed = mailed_token(&app, &jack, "verification").await;
    app.get(&format!("/api/v1/auth/verify-email?token={mailed}"))
        .await;
    let jack_token = sign_in(&app, &jack).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let unlinked = call(&app, Method::DELETE, path, Some(&jack_token), None).await;
    assert_eq!(unlinked.status(), 204);
    let after = json_of(get(&app, "/api/v1/users/me/identities", &jack_token).await).await;
    assert_eq!(after["items"], json!([]));
    let login = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": jack, "password": PASSWORD}),
    )
    .await;
    assert_eq!(json_of(login).await["user"]["id"], signed_up["user"]["id"]);
}

#[tokio::test]
async fn a_provider_that_is_down_is_a_fast_503_and_never_touched_at_start() {
    // Nothing listens on port 9 of loopback: the app starts anyway (no call at start-up).
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![
                ("OIDC_PROVIDERS".into(), "test".into()),
                ("OIDC_TEST_ISSUER".into(), "http://127.0.0.1:9".into()),
                ("OIDC_TEST_CLIENT_ID".into(), "x".into()),
                ("OIDC_TEST_CLIENT_SECRET".into(), "y".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let started = std::time::Instant::now();
    let response = app
        .client
        .get(app.url("/api/v1/auth/oidc/test/start"))
        .send()
        .await
        .unwrap();
    problem(response, 503, "UNAVAILABLE").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn an_account_without_a_password_confirms_with_a_fresh_sign_in() {
    let app = app(Kind::Embedded, &[]).await;
    let kim = format!("kim.{}@example.com", app.unique);
    let signed_in = sign_in(&app, &kim).await;
    assert_eq!(signed_in["user"]["hasPassword"], false);
    let token = signed_in["accessToken"].as_str().unwrap().to_owned();
    let user_id = signed_in["user"]["id"].as_str().unwrap().to_owned();

    // Time passes: this session's sign-in is 11 minutes old (moved back in the store, as
    // waiting would). A token from it no longer erases the account.
    let current = current_session_id(&app, &token).await;
    let store = app
        .stores()
        .collection::<portal_api::auth::store::SessionDoc>();
    let mut session = store.get(&user_id, &current).await.unwrap().unwrap();
    session.created_at = chrono::Utc::now() - chrono::TimeDelta::minutes(11);
    store.replace(&session, None).await.unwrap();
    let stale = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({})),
    )
    .await;
    problem(stale, 403, "RECENT_SIGN_IN_REQUIRED").await;
    let new_address = format!("kim.new.{}@example.com", app.unique);
    let move_to = json!({"newEmail": new_address});
    let stale = post(
        &app,
        "/api/v1/users/me/email",
        Some(&token),
        move_to.clone(),
    )
    .await;
    problem(stale, 403, "RECENT_SIGN_IN_REQUIRED").await;

    // Signed in again through the provider, both go through.
    let fresh = sign_in(&app, &kim).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let moving = post(&app, "/api/v1/users/me/email", Some(&fresh), move_to).await;
    assert_eq!(moving.status(), 202);
    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&fresh),
        Some(json!({})),
    )
    .await;
    assert_eq!(erased.status(), 202);

    // An account with a password still needs it.
    let leo = format!("leo.{}@example.com", app.unique);
    let leo_token = signup(&app, &leo, "Leo").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let missing = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&leo_token),
        Some(json!({})),
    )
    .await;
    problem(missing, 400, "VALIDATION_FAILED").await;
}
