//! Integration tests: the real app on port 0, spoken to over HTTP and with the invocation JSON
//! the Functions host sends, on the embedded backends and on real emulators. One test binary,
//! so the dependencies link once.

/// Generates each listed case twice: `embedded::case` on the embedded stores and
/// `azure::case` on the emulators. By default each case is `async fn case(kind: Kind)`; a
/// suite whose cases take something else names a driver that gets the backend's `kind` and
/// the `case` function: `both!(|kind, case| { ... }; case_a, case_b)`.
macro_rules! both {
    (|$kind:ident, $run:ident| $driver:block; $($case:ident),* $(,)?) => {
        pub mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let $kind = crate::helpers::Kind::Embedded;
                    let $run = super::$case;
                    $driver
                }
            )*
        }
        pub mod azure {
            $(
                #[tokio::test]
                async fn $case() {
                    let $kind = crate::helpers::Kind::Azure;
                    let $run = super::$case;
                    $driver
                }
            )*
        }
    };
    ($($case:ident),* $(,)?) => {
        both!(|kind, case| { case(kind).await; }; $($case),*);
    };
}

mod account_security;
mod accounts;
mod admins;
mod audit;
mod block_uploads;
mod cache_loss;
mod chat;
mod conformance;
mod cors;
mod cosmos_faults;
mod course_learning;
mod course_media;
mod courses;
mod coverage;
mod dashboard;
mod dev_host;
mod email;
mod email_change;
mod emulators;
mod faults;
mod files;
mod flaky_secrets;
mod forms;
mod health;
mod helpers;
mod http;
mod infra;
mod invites;
mod invocations;
mod keyvault_fake;
mod lifecycle;
mod mentors;
mod mfa;
mod notifications;
mod oidc;
mod oidc_provider;
mod openapi;
mod own_server;
mod packaging;
mod people;
mod realtime;
mod realtime_rights;
mod security;
mod storage_faults;
mod store_calls;
mod telemetry;
mod web_app;
