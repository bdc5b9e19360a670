//! Files: the thumbnail of a 12-megapixel JPEG (decode, shrink to 256 px, encode), and
//! `POST /api/v1/files/upload-url` through the real router and middleware (embedded backends:
//! a document write and a signed URL per request).
//!
//!     cargo bench --bench files

use std::io::Cursor;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use portal_api::{AppState, Settings};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A 4000 x 3000 photo-like JPEG (smooth gradients and some texture, quality 90).
fn twelve_megapixels() -> Vec<u8> {
    let image = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let texture = ((x * 7919 + y * 104_729) % 31) as u8;
        image::Rgb([
            (x / 16) as u8 ^ texture,
            (y / 12) as u8,
            ((x + y) / 28) as u8 ^ texture,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), 90)
        .encode_image(&image)
        .unwrap();
    jpeg
}

fn thumbnail(c: &mut Criterion) {
    let jpeg = twelve_megapixels();
    let mut group = c.benchmark_group("thumbnail");
    group.sample_size(10);
    group.bench_function("12 MP JPEG -> 256 px JPEG", |b| {
        b.iter(|| portal_api::files::thumbnail::render_blocking(&jpeg).unwrap())
    });
    group.finish();
}

fn upload_url(c: &mut Criterion) {
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
        "ARGON2_MEMORY_KIB" => Some("1024".into()),
        "ARGON2_ITERATIONS" => Some("1".into()),
        _ => None,
    })
    .unwrap();
    let state = AppState::build(settings).unwrap();
    let app = portal_api::router::router(state);
    let json_request = |path: &str, token: Option<&str>, body: Value| {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::from(body.to_string())).unwrap()
    };
    let token = runtime.block_on(async {
        let signup = json!({"email": "bench@example.com", "password": "violet-harbor-sings-42", "name": "Bench"});
        let response = app
            .clone()
            .oneshot(json_request("/api/v1/auth/signup", None, signup))
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        body["accessToken"].as_str().unwrap().to_owned()
    });
    let ticket = json!({"fileName": "photo.jpg", "fileType": "image/jpeg", "fileSize": 3_000_000, "category": "image"});
    c.bench_function("POST /api/v1/files/upload-url", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = json_request("/api/v1/files/upload-url", Some(&token), ticket.clone());
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), 201);
        })
    });
}

criterion_group!(benches, thumbnail, upload_url);
criterion_main!(benches);
