//! The reference web app served by the handler in local mode (`WEB_DIR`): pages answer the
//! app's `index.html` with the page CSP, hashed assets are cached for good, and nothing of the
//! API or outside the folder is reachable through it.

use serde_json::Value;

use crate::helpers::{Kind, Options, spawn_app_with};

async fn app_with_build() -> (crate::helpers::TestApp, tempfile::TempDir) {
    let build = tempfile::tempdir().unwrap();
    std::fs::create_dir(build.path().join("assets")).unwrap();
    std::fs::write(
        build.path().join("index.html"),
        "<!doctype html><title>Portal</title><script type=module src=/assets/app-1f2e.js></script>",
    )
    .unwrap();
    std::fs::write(build.path().join("assets/app-1f2e.js"), "console.log(1)").unwrap();
    std::fs::write(build.path().join("favicon.svg"), "<svg/>").unwrap();
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("WEB_DIR".into(), build.path().display().to_string())],
            ..Default::default()
        },
    )
    .await;
    (app, build)
}

#[tokio::test]
async fn pages_answer_the_app_with_its_csp() {
    let (app, _build) = app_with_build().await;
    for path in ["/", "/courses/c-1", "/verify-email?token=abc", "/chat"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), 200, "{path}");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(page.headers()["cache-control"], "no-cache", "{path}");
        assert!(
            page.text().await.unwrap().contains("<title>Portal</title>"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn assets_are_files_of_the_build_and_cached_for_good() {
    let (app, _build) = app_with_build().await;
    let asset = app.get("/assets/app-1f2e.js").await;
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(asset.text().await.unwrap(), "console.log(1)");
    assert_eq!(app.get("/favicon.svg").await.status(), 200);

    // A missing file is a 404 problem, not the page.
    let missing = app.get("/assets/gone-0000.js").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_api_and_the_disk_outside_the_build_stay_out_of_reach() {
    let (app, _build) = app_with_build().await;
    let api = app.get("/api/v1/no-such-route").await;
    assert_eq!(api.status(), 404);
    assert_eq!(api.json::<Value>().await.unwrap()["code"], "NOT_FOUND");
    for path in [
        "/../Cargo.toml",
        "/assets/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
    ] {
        let escape = app.get(path).await;
        assert_eq!(escape.status(), 404, "{path}");
    }
    // (One-segment paths also take POSTs: they are the function doors.)
    let post = app
        .client
        .post(app.url("/courses/c-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn without_a_build_the_root_still_describes_the_service() {
    let empty = tempfile::tempdir().unwrap();
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("WEB_DIR".into(), empty.path().display().to_string())],
            ..Default::default()
        },
    )
    .await;
    let root: Value = app.get("/").await.json().await.unwrap();
    assert_eq!(root["health"], "/api/healthz");
    assert_eq!(app.get("/courses").await.status(), 404);
}
