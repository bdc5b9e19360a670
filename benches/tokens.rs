//! Access-token verification, the work behind every authenticated request.
//!
//!     cargo bench --bench tokens
//!
//! `verify` is signature, issuer, audience and expiry checks with the key ring warm in memory
//! (as it is after the first request); the session's revocation check is one cache lookup on
//! top, measured separately against the in-process cache.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portal_api::auth::keys::KeyRing;
use portal_api::auth::tokens;
use portal_api::settings::Settings;
use portal_api::store::Cache;
use portal_api::store::embedded::{FileSecrets, MemoryCache};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_lookup(|_| None).unwrap().auth;
    let ring = KeyRing::new(
        Arc::new(FileSecrets::new(&dir.path().join("secrets.json"))),
        Duration::from_secs(16 * 60),
        settings.key_refresh,
    );
    let (token, _) = runtime
        .block_on(tokens::issue(
            &ring,
            &settings,
            "user-1",
            "user",
            "session-1",
        ))
        .unwrap();
    let cache = MemoryCache::default();

    c.bench_function("access token: verify", |b| {
        b.to_async(&runtime)
            .iter(|| async { tokens::verify(&ring, &settings, &token).await.unwrap() })
    });
    c.bench_function("access token: verify + revocation lookup", |b| {
        b.to_async(&runtime).iter(|| async {
            let claims = tokens::verify(&ring, &settings, &token).await.unwrap();
            cache.exists(&claims.sid).await.unwrap()
        })
    });
    c.bench_function("access token: issue", |b| {
        b.to_async(&runtime).iter(|| async {
            tokens::issue(&ring, &settings, "user-1", "user", "session-1")
                .await
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
