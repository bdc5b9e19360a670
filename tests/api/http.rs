//! The request helpers every suite shares: one way to call the API, sign up, read JSON and
//! check a problem answer, so suites differ only in what they test.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Asserts a problem+json answer and returns its body.
pub async fn problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "content type"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "code in {body}");
    assert_eq!(body["status"], status, "status in {body}");
    assert_eq!(body["requestId"], request_id, "requestId in {body}");
    body
}

/// The local mailbox's emails to `to`, newest first.
pub async fn mailbox(app: &TestApp, to: &str) -> Vec<Value> {
    let body: Value = app
        .get(&format!("/api/dev/mailbox?to={to}"))
        .await
        .json()
        .await
        .unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

/// A request with an optional bearer token and JSON body.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The password every test account uses (strong enough for the strength check).
pub const PASSWORD: &str = "violet-harbor-sings-42";

/// A POST with an optional bearer token.
pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Response {
    call(app, Method::POST, path, token, Some(body)).await
}

/// A signed-in GET.
pub async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    call(app, Method::GET, path, Some(token), None).await
}

/// The JSON body of a successful answer.
pub async fn json_of(response: Response) -> Value {
    let status = response.status();
    assert!(status.is_success(), "{status} from {}", response.url());
    response.json().await.unwrap()
}

/// The id of the session `token` belongs to, as `GET auth/sessions` marks it `current`.
pub async fn current_session_id(app: &TestApp, token: &str) -> String {
    let sessions = json_of(get(app, "/api/v1/auth/sessions", token).await).await;
    sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An address unique to this test, so tests sharing the emulators never meet.
pub fn address(app: &TestApp, who: &str) -> String {
    format!("{who}.{}@example.com", app.unique)
}

/// Signs up `email` (201 expected) and returns the answer: tokens and user.
pub async fn signup(app: &TestApp, email: &str, name: &str) -> Value {
    let response = post(
        app,
        "/api/v1/auth/signup",
        None,
        json!({"email": email, "password": PASSWORD, "name": name}),
    )
    .await;
    let status = response.status();
    assert_eq!(
        status,
        201,
        "sign-up of {email}: {}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// Signs up `email` (201 expected) and returns the access token.
pub async fn signup_token(app: &TestApp, email: &str, name: &str) -> String {
    let auth = signup(app, email, name).await;
    auth["accessToken"].as_str().unwrap().to_owned()
}

/// Signs up `name` at an address unique to this test and returns the access token.
pub async fn user(app: &TestApp, name: &str) -> String {
    signup_token(app, &address(app, name), name).await
}

/// Signs up the bootstrap admin of [`crate::helpers::portal`] and returns the access token.
pub async fn admin(app: &TestApp) -> String {
    admin_auth(app, "Root").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs up the bootstrap admin and verifies its email, which is what grants the role (stored:
/// the sign-up's tokens then act as admin); returns the sign-up's answer.
pub async fn admin_auth(app: &TestApp, name: &str) -> Value {
    let email = "root@example.com";
    let auth = signup(app, email, name).await;
    let token = mailed_token(app, email, "verification").await;
    let verified = app
        .get(&format!("/api/v1/auth/verify-email?token={token}"))
        .await;
    assert_eq!(verified.status(), 200, "verification of {email}");
    auth
}

/// Waits for the outbox to deliver an email of `kind` to `to` and returns the token in it.
pub async fn mailed_token(app: &TestApp, to: &str, kind: &str) -> String {
    // Delivery goes through the outbox, a queue and the emails function: a second or two. But
    // a queue send that misses its 2 s deadline (the emulators of a machine busy with the whole
    // suite) leaves the email to the outbox sweep, which runs every minute and takes records
    // older than 10 s: up to 70 s, and still not lost. So wait 90 s before calling it lost.
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(90) {
        if let Some(mail) = mailbox(app, to).await.iter().find(|m| m["kind"] == kind) {
            let text = mail["text"].as_str().unwrap();
            let token = text.split("token=").nth(1).expect("a token in the link");
            return token.split_whitespace().next().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ready = app
        .get("/api/readyz")
        .await
        .text()
        .await
        .unwrap_or_default();
    panic!("no {kind} email for {to} in 90 s; readyz: {ready}");
}

/// Polls `probe` every 100 ms until it answers `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: std::time::Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
