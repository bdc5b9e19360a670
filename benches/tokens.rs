//! Access-token verification, the work behind every authenticated request.
//!
//!     cargo bench --bench tokens
//!
//! `verify` is signature, issuer, audience and expiry checks with the key ring warm in memory
//! (as it is after the first request), first for a token seen before (answered from the ring's
//! cache of verified tokens), then for one never seen; the session's revocation check is one
//! cache lookup on top, measured separately against the in-process cache.

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

    // A token seen before (every request of a session after its first): the ring's cache of
    // verified tokens answers.
    c.bench_function("access token: verify, seen before", |b| {
        b.to_async(&runtime)
            .iter(|| async { tokens::verify(&ring, &settings, &token).await.unwrap() })
    });
    // A token never seen (the first request of a session): the Ed25519 check. The tokens are
    // signed before the clock starts.
    c.bench_function("access token: verify, first time", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (ring, settings) = (&ring, &settings);
            async move {
                let mut fresh = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    let (token, _) = tokens::issue(ring, settings, "user-1", "user", "session-1")
                        .await
                        .unwrap();
                    fresh.push(token);
                }
                let started = std::time::Instant::now();
                for token in &fresh {
                    tokens::verify(ring, settings, token).await.unwrap();
                }
                started.elapsed()
            }
        })
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
