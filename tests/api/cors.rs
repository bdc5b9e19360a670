//! Browser sessions through HTTP: CORS for the origins in `CORS_ORIGINS` only, the refresh
//! cookie's `SameSite` and `AUTH_REFRESH_TRANSPORT`, and validators (`ETag`, 304) on the
//! public reads. Each case on both backends: `cors::embedded::*` and `cors::azure::*`.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal};
use crate::http::{PASSWORD, address, admin, call, json_of, post, problem};

both!(
    an_allowed_origin_gets_credentialed_cors,
    other_origins_get_no_cors_headers,
    without_cors_origins_there_are_no_cors_headers,
    cookie_mode_keeps_the_refresh_token_out_of_bodies,
    body_mode_sets_no_cookie,
    jwks_answers_304_to_its_etag,
    courses_answer_304_and_a_change_changes_the_etag,
);

const APP: &str = "https://app.example.com";
const ORIGINS: &str = "https://app.example.com, http://localhost:3000";

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn cors_headers(response: &Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> Response {
    app.client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-requested-with, authorization",
        )
        .send()
        .await
        .unwrap()
}

async fn signup_response(app: &TestApp, who: &str, origin: Option<&str>) -> Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": address(app, who), "password": PASSWORD, "name": who}));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 201);
    response
}

/// The value of the `refresh_token` cookie a response sets.
fn cookie_token(response: &Response) -> String {
    let cookie = header(response, "set-cookie").expect("a refresh cookie");
    cookie
        .strip_prefix("refresh_token=")
        .and_then(|rest| rest.split(';').next())
        .expect("refresh_token=<value>")
        .to_owned()
}

fn assert_allows(response: &Response, origin: &str) {
    assert_eq!(
        header(response, "access-control-allow-origin").as_deref(),
        Some(origin)
    );
    assert_eq!(
        header(response, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
}

async fn an_allowed_origin_gets_credentialed_cors(kind: Kind) {
    let app = portal(kind, &[("CORS_ORIGINS", ORIGINS)]).await;
    for origin in [APP, "http://localhost:3000"] {
        let answer = preflight(&app, "/api/v1/auth/refresh", origin).await;
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        assert_allows(&answer, origin);
        let methods = header(&answer, "access-control-allow-methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("PATCH"),
            "{methods}"
        );
        let headers = header(&answer, "access-control-allow-headers").unwrap();
        for name in [
            "authorization",
            "content-type",
            "x-requested-with",
            "if-none-match",
        ] {
            assert!(headers.contains(name), "{name} in {headers}");
        }
        assert!(answer.headers().contains_key("x-request-id"));
    }

    let signed_up = signup_response(&app, "ada", Some(APP)).await;
    assert_allows(&signed_up, APP);
    let exposed = header(&signed_up, "access-control-expose-headers").unwrap();
    for name in ["x-request-id", "retry-after", "etag", "location"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    // A cross-site frontend needs the cookie sent on its cross-site requests.
    let cookie = header(&signed_up, "set-cookie").unwrap();
    assert!(
        cookie.contains("SameSite=None")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let token = cookie_token(&signed_up);
    let auth: Value = signed_up.json().await.unwrap();

    // A credentialed call (bearer and cookie) from the page.
    let me = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("origin", APP)
        .bearer_auth(auth["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_allows(&me, APP);
    let refreshed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("origin", APP)
        .header("cookie", format!("refresh_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    assert_allows(&refreshed, APP);

    // Errors are readable by the page too.
    let missing = app
        .client
        .get(app.url("/api/v1/courses/nope"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_allows(&missing, APP);
    problem(missing, 404, "NOT_FOUND").await;
}

async fn other_origins_get_no_cors_headers(kind: Kind) {
    let app = portal(kind, &[("CORS_ORIGINS", ORIGINS)]).await;
    // Look-alikes: a suffix, another scheme, another port, the opaque origin.
    for origin in [
        "https://evil.example",
        "https://app.example.com.evil.example",
        "http://app.example.com",
        "http://localhost:3001",
        "null",
    ] {
        let answer = preflight(&app, "/api/v1/auth/refresh", origin).await;
        assert_eq!(cors_headers(&answer), Vec::<String>::new(), "{origin}");
        assert_ne!(answer.status(), StatusCode::NO_CONTENT, "{origin}");

        let answer = signup_response(&app, &format!("x{}", origin.len()), Some(origin)).await;
        assert_eq!(cors_headers(&answer), Vec::<String>::new(), "{origin}");
    }
    let answer = signup_response(&app, "plain", None).await;
    assert_eq!(cors_headers(&answer), Vec::<String>::new());
}

async fn without_cors_origins_there_are_no_cors_headers(kind: Kind) {
    let app = portal(kind, &[]).await;
    let answer = preflight(&app, "/api/v1/auth/refresh", APP).await;
    assert_eq!(cors_headers(&answer), Vec::<String>::new());
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    let signed_up = signup_response(&app, "ada", Some(APP)).await;
    assert_eq!(cors_headers(&signed_up), Vec::<String>::new());
    let cookie = header(&signed_up, "set-cookie").unwrap();
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let courses = app
        .client
        .get(app.url("/api/v1/courses"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(cors_headers(&courses), Vec::<String>::new());
}

async fn refresh_call(app: &TestApp, cookie: Option<&str>, script: bool, body: Value) -> Response {
    let mut request = app.client.post(app.url("/api/v1/auth/refresh")).json(&body);
    if let Some(token) = cookie {
        request = request.header("cookie", format!("refresh_token={token}"));
    }
    if script {
        request = request.header("x-requested-with", "XMLHttpRequest");
    }
    request.send().await.unwrap()
}

async fn cookie_mode_keeps_the_refresh_token_out_of_bodies(kind: Kind) {
    let app = portal(kind, &[("AUTH_REFRESH_TRANSPORT", "cookie")]).await;
    let signed_up = signup_response(&app, "ada", None).await;
    let token = cookie_token(&signed_up);
    let auth: Value = signed_up.json().await.unwrap();
    assert!(auth["accessToken"].is_string());
    assert!(auth.get("refreshToken").is_none(), "{auth}");
    assert!(!auth.to_string().contains(&token));

    let logged_in = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": address(&app, "ada"), "password": PASSWORD}),
    )
    .await;
    assert_eq!(logged_in.status(), 200);
    let login_token = cookie_token(&logged_in);
    let login: Value = logged_in.json().await.unwrap();
    assert!(login.get("refreshToken").is_none(), "{login}");

    // A cross-site form can send the cookie but not a custom header.
    problem(
        refresh_call(&app, Some(&token), false, json!({})).await,
        403,
        "CSRF_HEADER_REQUIRED",
    )
    .await;
    // A token in the body is refused, and not spent: the cookie still works afterwards.
    problem(
        refresh_call(&app, None, true, json!({"refreshToken": token})).await,
        400,
        "INVALID_BODY",
    )
    .await;
    let refreshed = refresh_call(&app, Some(&token), true, json!({})).await;
    assert_eq!(refreshed.status(), 200);
    let next = cookie_token(&refreshed);
    assert_ne!(next, token, "rotated");
    let pair: Value = refreshed.json().await.unwrap();
    assert!(pair.get("refreshToken").is_none(), "{pair}");
    assert!(!pair.to_string().contains(&next));

    // Logout needs the header too.
    let access = login["accessToken"].as_str().unwrap();
    let logout = |script: bool| {
        let mut request = app
            .client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth(access)
            .header("cookie", format!("refresh_token={login_token}"));
        if script {
            request = request.header("x-requested-with", "fetch");
        }
        request.send()
    };
    problem(logout(false).await.unwrap(), 403, "CSRF_HEADER_REQUIRED").await;
    let out = logout(true).await.unwrap();
    assert_eq!(out.status(), 204);
    assert!(header(&out, "set-cookie").unwrap().contains("Max-Age=0"));
}

async fn body_mode_sets_no_cookie(kind: Kind) {
    let app = portal(kind, &[("AUTH_REFRESH_TRANSPORT", "body")]).await;
    let signed_up = signup_response(&app, "ada", None).await;
    assert_eq!(header(&signed_up, "set-cookie"), None);
    let auth: Value = signed_up.json().await.unwrap();
    let token = auth["refreshToken"].as_str().unwrap().to_owned();

    // A cookie is not read in this mode.
    problem(
        refresh_call(&app, Some(&token), false, json!({})).await,
        401,
        "INVALID_REFRESH_TOKEN",
    )
    .await;
    let refreshed = refresh_call(&app, None, false, json!({"refreshToken": token})).await;
    assert_eq!(refreshed.status(), 200);
    assert_eq!(header(&refreshed, "set-cookie"), None);
    let pair = json_of(refreshed).await;
    assert!(pair["refreshToken"].is_string());

    let out = call(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        pair["accessToken"].as_str(),
        None,
    )
    .await;
    assert_eq!(out.status(), 204);
    assert_eq!(header(&out, "set-cookie"), None);
}

/// GETs `path` with an optional `If-None-Match`.
async fn conditional(app: &TestApp, path: &str, if_none_match: Option<&str>) -> Response {
    let mut request = app.client.get(app.url(path));
    if let Some(tags) = if_none_match {
        request = request.header("if-none-match", tags);
    }
    request.send().await.unwrap()
}

/// A 200 with a strong tag and `cache_control`, and 304s with no body to that tag (alone, in
/// a list, weak, or `*`); another tag gets the full answer. Returns the tag.
async fn assert_validators(app: &TestApp, path: &str, cache_control: &str) -> String {
    let full = conditional(app, path, None).await;
    assert_eq!(full.status(), 200, "{path}");
    assert_eq!(
        header(&full, "cache-control").as_deref(),
        Some(cache_control)
    );
    let tag = header(&full, "etag").expect("an ETag");
    assert!(tag.starts_with('"') && tag.ends_with('"'), "strong: {tag}");
    assert!(!full.bytes().await.unwrap().is_empty());
    for sent in [
        tag.clone(),
        format!("\"stale\", {tag}"),
        format!("W/{tag}"),
        "*".to_owned(),
    ] {
        let answer = conditional(app, path, Some(&sent)).await;
        assert_eq!(answer.status(), StatusCode::NOT_MODIFIED, "{path} {sent}");
        assert_eq!(header(&answer, "etag").as_deref(), Some(tag.as_str()));
        assert_eq!(
            header(&answer, "cache-control").as_deref(),
            Some(cache_control)
        );
        assert!(answer.bytes().await.unwrap().is_empty());
    }
    let other = conditional(app, path, Some("\"stale\"")).await;
    assert_eq!(other.status(), 200);
    assert_eq!(header(&other, "etag"), Some(tag.clone()));
    tag
}

async fn jwks_answers_304_to_its_etag(kind: Kind) {
    let app = portal(kind, &[]).await;
    // The security headers' `no-store` under /api/v1/auth/* leaves the route's own policy.
    assert_validators(&app, "/api/v1/auth/jwks.json", "public, max-age=300").await;
}

async fn courses_answer_304_and_a_change_changes_the_etag(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let course = |title: &str| {
        json!({
            "title": title, "description": "About it.", "category": "tech", "level": "beginner",
            "instructor": {"name": "Dana Kim"},
            "lessons": [{"id": "a", "title": "One", "duration": 10, "order": 1, "content": "x"}],
        })
    };
    let mut ids = Vec::new();
    for title in ["Rust", "Go"] {
        let created = call(
            &app,
            Method::POST,
            "/api/v1/courses",
            Some(&admin),
            Some(course(title)),
        )
        .await;
        ids.push(json_of(created).await["id"].as_str().unwrap().to_owned());
    }
    let one = format!("/api/v1/courses/{}", ids[0]);
    // One course revalidates each time (a reader's own enrollment shows at once); the
    // catalog may be a minute old.
    let before = assert_validators(&app, &one, "public, no-cache").await;
    let list = assert_validators(&app, "/api/v1/courses?category=tech", "public, max-age=60").await;
    // The query shapes the answer, so it shapes the tag.
    let first_only = assert_validators(
        &app,
        "/api/v1/courses?category=tech&limit=1",
        "public, max-age=60",
    )
    .await;
    assert_ne!(list, first_only);

    let patched = call(
        &app,
        Method::PATCH,
        &one,
        Some(&admin),
        Some(json!({"title": "Rust, again"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    for (path, old) in [
        (one.as_str(), &before),
        ("/api/v1/courses?category=tech", &list),
    ] {
        let answer = conditional(&app, path, Some(old)).await;
        assert_eq!(
            answer.status(),
            200,
            "{path}: the old tag no longer matches"
        );
        assert_ne!(header(&answer, "etag").as_ref(), Some(old), "{path}");
        assert!(answer.text().await.unwrap().contains("Rust, again"));
    }
    // A missing course is still a problem, not a 304.
    let missing = conditional(&app, "/api/v1/courses/nope", Some("*")).await;
    problem(missing, 404, "NOT_FOUND").await;
}
