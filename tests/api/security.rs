//! Defences of the HTTP surface: security headers, the function doors' refusal of cross-site
//! requests, the readiness probe's cache, and the key ring riding out a vault failure.

use std::sync::Arc;
use std::time::Duration;

use portal_api::store::{PutOptions, ReadHeaders, SasAccess};
use reqwest::Method;
use serde_json::{Value, json};

use crate::flaky_secrets::{Switch, flaky_secrets};
use crate::helpers::{Kind, Options, TestApp, spawn_app, spawn_app_with};
use crate::http::{PASSWORD, call, problem, signup_token};

both!(
    every_answer_carries_the_security_headers,
    hsts_only_when_the_trusted_proxy_says_https,
    concurrent_readyz_calls_share_one_probe,
    readyz_serves_its_cached_answer_for_five_seconds,
    a_vault_failure_keeps_the_last_good_signing_keys,
);

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// nosniff and no-referrer everywhere; the CSP on JSON and problem answers.
fn assert_common(response: &reqwest::Response, what: &str) {
    assert_eq!(
        header(response, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(response, "referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        header(response, "strict-transport-security"),
        None,
        "{what}: plain HTTP gets no HSTS"
    );
}

fn assert_csp(response: &reqwest::Response, what: &str) {
    assert_eq!(
        header(response, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'"),
        "{what}"
    );
}

fn assert_no_store(response: &reqwest::Response, what: &str) {
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{what}"
    );
}

async fn every_answer_carries_the_security_headers(kind: Kind) {
    let app = spawn_app(kind).await;

    let healthz = app.get("/api/healthz").await;
    assert_eq!(healthz.status(), 200);
    assert_common(&healthz, "a JSON 200");
    assert_csp(&healthz, "a JSON 200");
    assert_eq!(
        header(&healthz, "cache-control"),
        None,
        "public answers stay cacheable"
    );

    let missing = app.get("/api/v1/nothing-here").await;
    assert_common(&missing, "a problem 404");
    assert_csp(&missing, "a problem 404");
    problem(missing, 404, "NOT_FOUND").await;

    let token = signup_token(&app, "headers@example.com", "Hedda").await;
    let login = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "headers@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(login.status(), 200);
    assert_common(&login, "the login answer");
    assert_csp(&login, "the login answer");
    assert_no_store(&login, "the login answer");
    let wrong = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "headers@example.com", "password": "not it at all"})),
    )
    .await;
    assert_no_store(&wrong, "a refused login");

    let me = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status(), 200);
    assert_common(&me, "users/me");
    assert_no_store(&me, "users/me");
    let export = call(
        &app,
        Method::GET,
        "/api/v1/users/me/data-export",
        Some(&token),
        None,
    )
    .await;
    assert_no_store(&export, "the data export");
    let sessions = call(
        &app,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(sessions.status(), 200);
    assert_no_store(&sessions, "the session list");

    if kind == Kind::Embedded {
        dev_blob_is_nosniff(&app).await;
    }
}

/// The local blob route serves what users uploaded: a browser must not sniff it into HTML.
async fn dev_blob_is_nosniff(app: &TestApp) {
    let name = format!("{}/page.txt", app.unique);
    let blobs = &app.stores().blobs;
    blobs
        .put(
            "files",
            &name,
            "<html><script>alert(1)</script></html>".into(),
            PutOptions {
                content_type: Some("text/plain".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let url = blobs
        .signed_url(
            "files",
            &name,
            SasAccess::Read,
            chrono::Utc::now() + chrono::Duration::minutes(5),
            &ReadHeaders::default(),
        )
        .await
        .unwrap();
    let blob = app.client.get(url).send().await.unwrap();
    assert_eq!(blob.status(), 200);
    assert_common(&blob, "a dev blob GET");
}

async fn hsts_only_when_the_trusted_proxy_says_https(kind: Kind) {
    let app = spawn_app(kind).await;
    let get = |proto: Option<&'static str>| {
        let mut request = app.client.get(app.url("/api/healthz"));
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        request.send()
    };
    let https = get(Some("https")).await.unwrap();
    assert_eq!(
        header(&https, "strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    for (proto, why) in [
        (None, "no header"),
        (Some("http"), "plain HTTP"),
        (
            Some("https, http"),
            "a client-written entry left of the proxy's",
        ),
    ] {
        let response = get(proto).await.unwrap();
        assert_eq!(
            header(&response, "strict-transport-security"),
            None,
            "{why}"
        );
    }
    // With no trusted proxy the header is the client's own word.
    let untrusting = spawn_app_with(
        kind,
        Options {
            settings: vec![("TRUSTED_PROXY_HOPS".into(), "0".into())],
            ..Default::default()
        },
    )
    .await;
    let response = untrusting
        .client
        .get(untrusting.url("/api/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "strict-transport-security"), None);
}

async fn app_with_flaky_secrets(kind: Kind, settings: &[(&str, &str)]) -> (TestApp, Arc<Switch>) {
    let switch = Arc::new(Switch::default());
    let app = spawn_app_with(
        kind,
        Options {
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stores: Some(flaky_secrets(switch.clone())),
            ..Default::default()
        },
    )
    .await;
    (app, switch)
}

async fn readyz(app: &TestApp) -> (u16, Value) {
    let response = app.get("/api/readyz").await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn concurrent_readyz_calls_share_one_probe(kind: Kind) {
    let (app, switch) = app_with_flaky_secrets(kind, &[]).await;
    let calls = (0..20).map(|_| readyz(&app));
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["dependencies"]["secrets"]["status"], "ok");
    }
    assert_eq!(
        switch.pings(),
        1,
        "20 concurrent calls, one probe of the vault"
    );
    for _ in 0..5 {
        readyz(&app).await;
    }
    assert_eq!(switch.pings(), 1, "and none for calls within 5 seconds");
}

async fn readyz_serves_its_cached_answer_for_five_seconds(kind: Kind) {
    let (app, switch) = app_with_flaky_secrets(kind, &[]).await;
    assert_eq!(readyz(&app).await.0, 200);
    // The answer is cached from the moment its probe finished, at the latest now.
    let started = std::time::Instant::now();
    switch.fail(true);
    let (status, body) = readyz(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "still in the window"
    );
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "cached");
    tokio::time::sleep(Duration::from_millis(5_200).saturating_sub(started.elapsed())).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "probed again after the window: {body}");
    assert_eq!(body["dependencies"]["secrets"]["status"], "down");
    assert_eq!(switch.pings(), 2);
}

async fn a_vault_failure_keeps_the_last_good_signing_keys(kind: Kind) {
    let (app, switch) =
        app_with_flaky_secrets(kind, &[("SIGNING_KEYS_REFRESH_SECONDS", "1")]).await;
    let token = signup_token(&app, "ring@example.com", "Ring").await;
    let me = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status(), 200);

    switch.fail(true);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let reads = switch.reads();
    let me = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status(), 200, "signed in while the vault is down");
    assert!(switch.reads() > reads, "the ring did try to reload");
    // The failure is not retried on every request.
    let reads = switch.reads();
    for _ in 0..5 {
        let me = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await;
        assert_eq!(me.status(), 200);
    }
    assert_eq!(
        switch.reads(),
        reads,
        "no vault read per request while it is down"
    );

    // Back up: new keys are read again and sign-ins keep working.
    switch.fail(false);
    let token = signup_token(&app, "ring2@example.com", "Ring Two").await;
    let me = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status(), 200);
}

async fn jwks_count(app: &TestApp) -> usize {
    let jwks: Value = app
        .get("/api/v1/auth/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    jwks["keys"].as_array().unwrap().len()
}

/// Rotating keys is a function whose effect shows over HTTP: each run that gets through adds a
/// key to the JWKS (`KEY_ROTATION_DAYS=0`).
async fn rotating_app() -> TestApp {
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("KEY_ROTATION_DAYS".into(), "0".into())],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(jwks_count(&app).await, 1);
    app
}

fn post(
    app: &TestApp,
    path: &str,
    origin: Option<&str>,
    content_type: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request
}

const DOORS: [(&str, &str); 2] = [
    ("/rotate-keys", r#"{"Data": {"timer": {}}, "Metadata": {}}"#),
    ("/admin/functions/rotate-keys", r#"{"input": ""}"#),
];

#[tokio::test]
async fn a_cross_origin_page_cannot_run_a_function() {
    let app = rotating_app().await;
    for (path, body) in DOORS {
        for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
            let refused = post(&app, path, Some(origin), "application/json", body)
                .send()
                .await
                .unwrap();
            problem(refused, 403, "CROSS_ORIGIN").await;
        }
        // A form post with no fields: empty, but still from the page's origin.
        let empty = post(&app, path, Some("http://evil.example"), "text/plain", "")
            .send()
            .await
            .unwrap();
        problem(empty, 403, "CROSS_ORIGIN").await;
    }
    assert_eq!(jwks_count(&app).await, 1, "nothing ran");
}

#[tokio::test]
async fn a_function_body_must_be_json() {
    let app = rotating_app().await;
    for (path, body) in DOORS {
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let refused = post(&app, path, None, content_type, body)
                .send()
                .await
                .unwrap();
            problem(refused, 415, "UNSUPPORTED_MEDIA_TYPE").await;
        }
    }
    assert_eq!(jwks_count(&app).await, 1, "nothing ran");
}

#[tokio::test]
async fn the_host_and_same_origin_pages_still_run_functions() {
    let app = rotating_app().await;
    let own = app.address.clone();
    let localhost = own.replace("127.0.0.1", "localhost");
    let mut expected = 1;
    for (path, body) in DOORS {
        for origin in [None, Some(own.as_str()), Some(localhost.as_str())] {
            let response = post(&app, path, origin, "application/json; charset=utf-8", body)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{path} from {origin:?}: {}",
                response.status()
            );
            expected += 1;
            assert_eq!(
                jwks_count(&app).await,
                expected,
                "{path} from {origin:?} ran"
            );
        }
    }
}

#[tokio::test]
async fn the_dev_blob_route_still_serves_other_origins() {
    let app = spawn_app(Kind::Embedded).await;
    let name = format!("{}/shared.txt", app.unique);
    let url = app
        .stores()
        .blobs
        .signed_url(
            "files",
            &name,
            SasAccess::Create,
            chrono::Utc::now() + chrono::Duration::minutes(5),
            &ReadHeaders::default(),
        )
        .await
        .unwrap();
    let put = app
        .client
        .put(url)
        .header("origin", "http://localhost:5173")
        .header("x-ms-blob-type", "BlockBlob")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    assert_eq!(header(&put, "x-content-type-options"), Some("nosniff"));
}
