//! Integration tests: the real app on port 0, spoken to over HTTP and with the invocation JSON
//! the Functions host sends, on the embedded backends and on real emulators. One test binary,
//! so the dependencies link once.

/// Generates each listed case twice: `embedded::case` on the embedded stores and
/// `azure::case` on the emulators; each case is `async fn case(kind: Kind)`.
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        pub mod embedded {
            $(
                #[tokio::test]
                async fn $case() { super::$case(crate::helpers::Kind::Embedded).await; }
            )*
        }
        pub mod azure {
            $(
                #[tokio::test]
                async fn $case() { super::$case(crate::helpers::Kind::Azure).await; }
            )*
        }
    };
}

mod accounts;
mod chat;
mod conformance;
mod courses;
mod coverage;
mod dashboard;
mod dev_host;
mod email;
mod emulators;
mod files;
mod flaky_secrets;
mod forms;
mod health;
mod helpers;
mod infra;
mod invocations;
mod keyvault_fake;
mod lifecycle;
mod packaging;
mod realtime;
mod security;
mod telemetry;
