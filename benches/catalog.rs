//! The course list, served from the cache and computed from the store, through the real
//! router and middleware (embedded backends, the sample catalog).
//!
//!     cargo bench --bench catalog

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use portal_api::{AppState, Settings};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let settings = Settings::from_lookup(|k| match k {
        "DATA_DIR" => Some(data.clone()),
        "SCRIPT_ROOT" => Some(env!("CARGO_MANIFEST_DIR").into()),
        "RATE_LIMIT_GENERAL_PER_MINUTE" => Some("100000000".into()),
        _ => None,
    })
    .unwrap();
    let state = AppState::build(settings).unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/courses.json");
    runtime
        .block_on(portal_api::courses::seed::run(&state, &file))
        .unwrap();
    let app = portal_api::router::router(state.clone());
    let get = || {
        Request::get("/api/v1/courses?limit=20")
            .body(Body::empty())
            .unwrap()
    };

    c.bench_function("GET /api/v1/courses (cached)", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = app.clone().oneshot(get()).await.unwrap();
            assert_eq!(response.status(), 200);
        })
    });
    c.bench_function("GET /api/v1/courses (store, cache just invalidated)", |b| {
        b.to_async(&runtime).iter(|| async {
            portal_api::courses::routes::invalidate(&state).await;
            let response = app.clone().oneshot(get()).await.unwrap();
            assert_eq!(response.status(), 200);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
