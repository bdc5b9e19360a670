//! `spawn_app`: the real application on port 0, on the embedded backends or on the real
//! emulators, with typed helpers to talk to it over HTTP.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, Transport};
use azure_security_keyvault_secrets::SecretClientOptions;
use portal_api::store::azure::keyvault::KeyVaultSecrets;
use portal_api::store::{Backend, Stores};
use portal_api::{AppState, Application, Settings};

use crate::emulators::emulators;
use crate::keyvault_fake::FakeKeyVault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Embedded,
    Azure,
}

pub struct TestApp {
    pub address: String,
    /// Shows redirects instead of following them, so tests can check where they point.
    pub client: reqwest::Client,
    pub state: AppState,
    /// The app's data folder, removed when the test ends.
    pub data_dir: tempfile::TempDir,
    /// A name unique to this test, for blob prefixes, queue names and cache keys on shared
    /// emulators.
    pub unique: String,
}

/// The fixed token our fake vault accepts; a real vault would get one from Entra ID.
#[derive(Debug)]
struct StaticToken;

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            "test-token",
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

/// A change to the stores before the app serves (after the Key Vault fake is in place).
pub type StoreChange = Box<dyn FnOnce(&mut Stores) + Send>;

/// Options for a test app: extra settings, where `host.json` and functions are read, and a
/// store to swap in.
#[derive(Default)]
pub struct Options {
    pub settings: Vec<(String, String)>,
    pub script_root: Option<PathBuf>,
    pub stores: Option<StoreChange>,
}

pub async fn spawn_app(kind: Kind) -> TestApp {
    spawn_app_with(kind, Options::default()).await
}

pub async fn spawn_app_with(kind: Kind, options: Options) -> TestApp {
    // Logs go through the test harness's capture (shown for failing tests only).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let data_dir = tempfile::tempdir().unwrap();
    let unique = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut env: HashMap<String, String> = HashMap::from([
        ("PORT".into(), "0".into()),
        ("DATA_DIR".into(), data_dir.path().display().to_string()),
        // Limits and hashing cost low enough for a test suite; the tests of those features
        // set their own values.
        ("RATE_LIMIT_GENERAL_PER_MINUTE".into(), "100000".into()),
        ("RATE_LIMIT_AUTH_PER_MINUTE".into(), "100000".into()),
        ("RATE_LIMIT_FORMS_PER_HOUR".into(), "100000".into()),
        ("ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("ARGON2_ITERATIONS".into(), "1".into()),
        ("ARGON2_PARALLELISM".into(), "1".into()),
        // The emulators on a loaded 2-core machine answer far slower than Azure does: wide
        // deadlines keep a slow emulator from opening a breaker mid-test. The fault tests set
        // the production ones.
        ("CACHE_TIMEOUT_MS".into(), "10000".into()),
        ("DOCUMENTS_TIMEOUT_MS".into(), "30000".into()),
        ("DOCUMENTS_QUERY_TIMEOUT_MS".into(), "30000".into()),
        ("STORAGE_TIMEOUT_MS".into(), "30000".into()),
        ("KEY_VAULT_TIMEOUT_MS".into(), "30000".into()),
        (
            "SCRIPT_ROOT".into(),
            options
                .script_root
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
                .display()
                .to_string(),
        ),
    ]);
    let mut vault = None;
    if kind == Kind::Azure {
        let e = emulators();
        env.insert("COSMOS_ENDPOINT".into(), e.cosmos_endpoint.clone());
        env.insert("COSMOS_KEY".into(), e.cosmos_key.clone());
        env.insert("COSMOS_DATABASE".into(), unique.clone());
        env.insert(
            "STORAGE_CONNECTION_STRING".into(),
            crate::emulators::storage_account(),
        );
        env.insert("REDIS_URL".into(), e.redis_url.clone());
        // One Redis serves every test app: each keeps to its own keys.
        env.insert("CACHE_KEY_PREFIX".into(), unique.clone());
        vault = Some(FakeKeyVault::start().await);
    }
    env.extend(options.settings);
    let settings = Settings::from_lookup(|k| env.get(k).cloned()).expect("test settings");
    let mut app = Application::build(settings).await.expect("app builds");
    if let Some(vault) = vault {
        let secrets = vault_secrets(&vault);
        app.replace_stores(|stores: &mut Stores| {
            stores.secrets = Arc::new(secrets);
            stores.backends.secrets = Backend::Azure;
        })
        .expect("stores replaced");
    }
    if let Some(change) = options.stores {
        app.replace_stores(change).expect("stores replaced");
    }
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        data_dir,
        unique,
    }
}

/// The Key Vault store against the fake vault: HTTPS trusting only the fake's certificate, a
/// static token, and no check that the challenge names a real vault host.
fn vault_secrets(vault: &FakeKeyVault) -> KeyVaultSecrets {
    let cert = reqwest::Certificate::from_pem(vault.certificate_pem.as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([cert])
        .build()
        .unwrap();
    let options = SecretClientOptions {
        verify_challenge_resource: Some(false),
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            ..Default::default()
        },
        ..Default::default()
    };
    KeyVaultSecrets::new(&vault.uri, Arc::new(StaticToken), Some(options)).unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub fn stores(&self) -> &Stores {
        &self.state.stores
    }
}

/// Reads a captured Functions host payload from the shared fixtures folder.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/functions-host")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An app whose `root@example.com` becomes admin on sign-up, with extra settings.
pub async fn portal(kind: Kind, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![("ADMIN_EMAILS", "root@example.com")];
    settings.extend_from_slice(extra);
    spawn_app_with(
        kind,
        Options {
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        },
    )
    .await
}
