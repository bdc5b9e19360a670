//! Typed settings, read once from the environment at start-up.
//!
//! Every name read is in [`table::ALL`] (part of the contract, DESIGN.md section 2), which the
//! tests check against the README and `local.settings.json.example`. A value that does not
//! parse stops start-up with a message naming the setting; secrets are wrapped in [`Secret`]
//! so they never reach a log line.

mod browser;
mod groups;
pub mod oidc;
pub mod table;

pub use browser::RefreshTransport;
pub use groups::{AcsSettings, WebPubSubSettings};

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// A value that must never be printed (keys, connection strings, passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A setting whose value could not be used; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {problem}")]
pub struct SettingsError {
    pub name: &'static str,
    pub problem: String,
}

fn bad(name: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        problem: problem.into(),
    }
}

/// Whether the process runs under the Functions host or on its own with the local dev host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// `FUNCTIONS_CUSTOMHANDLER_PORT` is set: the Functions host forwards requests to us.
    Host,
    /// `cargo run` on a bare machine: we also fire timers, pump queues, serve dev routes.
    Local,
}

#[derive(Debug, Clone)]
pub struct CosmosSettings {
    pub endpoint: Url,
    /// Absent: managed identity.
    pub key: Option<Secret>,
    pub database: String,
}

#[derive(Debug, Clone)]
pub enum StorageSettings {
    /// Managed identity against the account's blob and queue endpoints.
    Identity {
        blob_endpoint: Url,
        queue_endpoint: Url,
    },
    /// Account key (Azurite's well-known one, or a real account's); requests and SAS are
    /// signed with the key.
    SharedKey {
        account: String,
        key: Secret,
        blob_endpoint: Url,
        queue_endpoint: Url,
    },
}

impl StorageSettings {
    /// The blob and queue service URLs.
    pub fn endpoints(&self) -> (&Url, &Url) {
        match self {
            StorageSettings::Identity {
                blob_endpoint,
                queue_endpoint,
            }
            | StorageSettings::SharedKey {
                blob_endpoint,
                queue_endpoint,
                ..
            } => (blob_endpoint, queue_endpoint),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Who may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMode {
    Open,
    /// Only with a valid invite for the same email.
    Invite,
}

/// Account and token rules (DESIGN.md section 5); every number configurable.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub registration: RegistrationMode,
    /// `REQUIRE_VERIFIED_EMAIL`: an unverified account reaches only `/api/v1/auth/*` and its
    /// own `users/me`.
    pub require_verified_email: bool,
    /// `INVITES_BY_MEMBERS`: verified members may invite plain users, `INVITES_PER_DAY` each.
    pub invites_by_members: bool,
    pub invites_per_day: u32,
    /// Normalised emails that become admins when they sign up.
    pub admin_emails: Vec<String>,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_reuse_grace: Duration,
    pub key_rotation: Duration,
    /// How long the signing key ring is served from memory before Key Vault is read again.
    pub key_refresh: Duration,
    pub auth_per_minute: u32,
    pub general_per_minute: u32,
    pub lockout_failures: u32,
    pub lockout: Duration,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub argon2_max_concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: RunMode,
    pub port: u16,
    pub data_dir: PathBuf,
    /// Where `host.json` and the function folders are (the working directory by default).
    pub script_root: PathBuf,
    /// The built web app served at `/` in local mode (`WEB_DIR`, default `web/dist` under the
    /// script root).
    pub web_dir: PathBuf,
    pub on_azure: bool,
    pub allow_embedded: bool,
    pub cosmos: Option<CosmosSettings>,
    pub storage: Option<StorageSettings>,
    pub key_vault_uri: Option<Url>,
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key, for deployments sharing one cache.
    pub cache_key_prefix: Option<String>,
    /// Client id of the user-assigned managed identity, when the app uses one.
    pub azure_client_id: Option<String>,
    /// Absent: realtime goes through the local hub in this process.
    pub webpubsub: Option<WebPubSubSettings>,
    /// The realtime hub's name, on Web PubSub and on the local hub alike.
    pub webpubsub_hub: String,
    /// Absent: emails go to the local mailbox.
    pub email: Option<AcsSettings>,
    /// This API's external base URL; locally `http://127.0.0.1:<bound port>` when unset.
    pub public_base_url: Option<Url>,
    pub app_base_url: Option<Url>,
    /// OpenID Connect providers for sign-in, in `OIDC_PROVIDERS` order.
    pub oidc_providers: Vec<oidc::OidcProvider>,
    pub trusted_proxy_hops: usize,
    /// Origins whose pages may call the API with credentials (exact, as browsers send them);
    /// empty: no CORS at all.
    pub cors_origins: Vec<String>,
    pub refresh_transport: RefreshTransport,
    pub request_timeout: Duration,
    pub log_format: LogFormat,
    pub auth: AuthSettings,
    /// Form submissions per IP per hour.
    pub forms_per_hour: u32,
    /// Messages older than this many days are archived to blobs (0: everything before now).
    pub archive_after_days: u32,
    /// How long unread chat messages wait before a digest email (`CHAT_EMAIL_DELAY_MINUTES`).
    pub chat_email_delay_minutes: u32,
    /// Daily backups older than this many days are removed.
    pub backup_retention_days: u32,
    /// Who is told of each new form submission.
    pub forms_notify_email: Option<String>,
    /// Application Insights; telemetry is exported only when set.
    pub app_insights_connection_string: Option<Secret>,
    /// How often metrics are exported (Application Insights aggregates per minute).
    pub metric_export_interval: Duration,
    /// How long each call to an Azure dependency may take.
    pub deadlines: crate::store::Deadlines,
    /// When a dependency's circuit breaker opens, and for how long.
    pub breaker: crate::store::BreakerPolicy,
}

impl Settings {
    /// Reads the process environment once.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass a map instead of mutating the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &'static str| {
            // Reading through the table keeps it the complete list of what is read.
            assert!(
                table::find(name).is_some(),
                "setting {name} is read but not listed in settings::table::ALL"
            );
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let host_port = get("FUNCTIONS_CUSTOMHANDLER_PORT")
            .map(|v| parse_num::<u16>("FUNCTIONS_CUSTOMHANDLER_PORT", &v))
            .transpose()?;
        let (mode, port) = match host_port {
            Some(port) => (RunMode::Host, port),
            None => (
                RunMode::Local,
                get("PORT")
                    .map(|v| parse_num::<u16>("PORT", &v))
                    .transpose()?
                    .unwrap_or(7071),
            ),
        };

        let cosmos = match get("COSMOS_ENDPOINT") {
            None => None,
            Some(endpoint) => Some(CosmosSettings {
                endpoint: parse_url("COSMOS_ENDPOINT", &endpoint)?,
                key: get("COSMOS_KEY").map(Secret::new),
                database: get("COSMOS_DATABASE").unwrap_or_else(|| "portal".into()),
            }),
        };

        let storage = match (
            get("STORAGE_CONNECTION_STRING"),
            get("STORAGE_BLOB_ENDPOINT"),
            get("STORAGE_QUEUE_ENDPOINT"),
        ) {
            (Some(cs), _, _) => Some(groups::parse_storage_connection_string(&cs)?),
            (None, Some(blob), Some(queue)) => Some(StorageSettings::Identity {
                blob_endpoint: parse_url("STORAGE_BLOB_ENDPOINT", &blob)?,
                queue_endpoint: parse_url("STORAGE_QUEUE_ENDPOINT", &queue)?,
            }),
            (None, Some(_), None) => {
                return Err(bad(
                    "STORAGE_QUEUE_ENDPOINT",
                    "must be set together with STORAGE_BLOB_ENDPOINT",
                ));
            }
            (None, None, Some(_)) => {
                return Err(bad(
                    "STORAGE_BLOB_ENDPOINT",
                    "must be set together with STORAGE_QUEUE_ENDPOINT",
                ));
            }
            (None, None, None) => None,
        };

        let redis_url = match get("REDIS_URL") {
            None => None,
            Some(v) => {
                let url = Url::parse(&v).map_err(|_| bad("REDIS_URL", "is not a URL"))?;
                if !matches!(url.scheme(), "redis" | "rediss") {
                    return Err(bad("REDIS_URL", "must start with redis:// or rediss://"));
                }
                Some(Secret::new(v))
            }
        };

        let on_azure = get("WEBSITE_INSTANCE_ID").is_some();
        let public_base_url = get("PUBLIC_BASE_URL")
            .map(|v| parse_url("PUBLIC_BASE_URL", &v))
            .transpose()?;

        let log_format = match get("LOG_FORMAT").as_deref() {
            None if on_azure => LogFormat::Json,
            None => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(bad(
                    "LOG_FORMAT",
                    format!("'{other}' is not one of text, json"),
                ));
            }
        };

        let script_root = PathBuf::from(get("SCRIPT_ROOT").unwrap_or_else(|| ".".into()));
        let settings = Settings {
            mode,
            port,
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or_else(|| ".data".into())),
            web_dir: get("WEB_DIR").map_or_else(|| script_root.join("web/dist"), PathBuf::from),
            script_root,
            on_azure,
            allow_embedded: get("ALLOW_EMBEDDED")
                .map(|v| parse_bool("ALLOW_EMBEDDED", &v))
                .transpose()?
                .unwrap_or(false),
            cosmos,
            storage,
            key_vault_uri: get("KEY_VAULT_URI")
                .map(|v| parse_url("KEY_VAULT_URI", &v))
                .transpose()?,
            redis_url,
            cache_key_prefix: get("CACHE_KEY_PREFIX"),
            azure_client_id: get("AZURE_CLIENT_ID"),
            webpubsub: get("WEBPUBSUB_CONNECTION_STRING")
                .map(|cs| WebPubSubSettings::parse(&cs))
                .transpose()?,
            webpubsub_hub: get("WEBPUBSUB_HUB").unwrap_or_else(|| "chat".into()),
            email: AcsSettings::parse(
                get("ACS_EMAIL_ENDPOINT"),
                get("ACS_EMAIL_KEY"),
                get("EMAIL_SENDER"),
            )?,
            public_base_url,
            oidc_providers: oidc::parse(get("OIDC_PROVIDERS"), &|name| {
                // The per-provider names are the table's templates (`OIDC_<NAME>_ISSUER`).
                lookup(name)
            })?,
            app_base_url: get("APP_BASE_URL")
                .map(|v| parse_url("APP_BASE_URL", &v))
                .transpose()?,
            trusted_proxy_hops: get("TRUSTED_PROXY_HOPS")
                .map(|v| parse_num("TRUSTED_PROXY_HOPS", &v))
                .transpose()?
                .unwrap_or(1),
            cors_origins: browser::parse_cors_origins(get("CORS_ORIGINS").as_deref())?,
            refresh_transport: RefreshTransport::parse(get("AUTH_REFRESH_TRANSPORT").as_deref())?,
            request_timeout: Duration::from_secs(
                get("REQUEST_TIMEOUT_SECONDS")
                    .map(|v| parse_num::<u64>("REQUEST_TIMEOUT_SECONDS", &v))
                    .transpose()?
                    .unwrap_or(30),
            ),
            log_format,
            forms_per_hour: num(&get, "RATE_LIMIT_FORMS_PER_HOUR", 10)?,
            archive_after_days: num(&get, "ARCHIVE_AFTER_DAYS", 365)?,
            chat_email_delay_minutes: num(&get, "CHAT_EMAIL_DELAY_MINUTES", 15)?,
            backup_retention_days: num(&get, "BACKUP_RETENTION_DAYS", 30)?,
            forms_notify_email: get("FORMS_NOTIFY_EMAIL"),
            app_insights_connection_string: get("APPLICATIONINSIGHTS_CONNECTION_STRING")
                .map(Secret::new),
            metric_export_interval: Duration::from_millis(num(
                &get,
                "OTEL_METRIC_EXPORT_INTERVAL",
                60_000,
            )?),
            deadlines: {
                let ms = |name, default| num(&get, name, default).map(Duration::from_millis);
                crate::store::Deadlines {
                    cache: ms("CACHE_TIMEOUT_MS", 250)?,
                    document: ms("DOCUMENTS_TIMEOUT_MS", 2_000)?,
                    query: ms("DOCUMENTS_QUERY_TIMEOUT_MS", 5_000)?,
                    storage: ms("STORAGE_TIMEOUT_MS", 2_000)?,
                    transfer: ms("STORAGE_TRANSFER_TIMEOUT_MS", 30_000)?,
                    secrets: ms("KEY_VAULT_TIMEOUT_MS", 2_000)?,
                }
            },
            breaker: crate::store::BreakerPolicy {
                failures: num(&get, "BREAKER_FAILURES", 5)?.max(1),
                window: Duration::from_secs(10),
                cooldown: Duration::from_millis(num(&get, "BREAKER_COOLDOWN_MS", 5_000)?),
            },
            auth: AuthSettings {
                registration: match get("REGISTRATION_MODE").as_deref() {
                    None | Some("open") => RegistrationMode::Open,
                    Some("invite") => RegistrationMode::Invite,
                    Some(other) => {
                        return Err(bad(
                            "REGISTRATION_MODE",
                            format!("'{other}' is not one of open, invite"),
                        ));
                    }
                },
                invites_by_members: get("INVITES_BY_MEMBERS")
                    .map(|v| parse_bool("INVITES_BY_MEMBERS", &v))
                    .transpose()?
                    .unwrap_or(false),
                invites_per_day: num(&get, "INVITES_PER_DAY", 10)?,
                require_verified_email: get("REQUIRE_VERIFIED_EMAIL")
                    .map(|v| parse_bool("REQUIRE_VERIFIED_EMAIL", &v))
                    .transpose()?
                    .unwrap_or(false),
                admin_emails: get("ADMIN_EMAILS")
                    .map(|v| {
                        v.split([',', ';', ' '])
                            .map(|e| e.trim().to_lowercase())
                            .filter(|e| !e.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                issuer: get("JWT_ISSUER").unwrap_or_else(|| "portal-api".into()),
                audience: get("JWT_AUDIENCE").unwrap_or_else(|| "portal-api".into()),
                access_token_ttl: Duration::from_secs(num(&get, "ACCESS_TOKEN_TTL_SECONDS", 900)?),
                refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
                refresh_reuse_grace: Duration::from_secs(num(
                    &get,
                    "REFRESH_REUSE_GRACE_SECONDS",
                    10,
                )?),
                key_rotation: Duration::from_secs(num(&get, "KEY_ROTATION_DAYS", 30)? * 24 * 3600),
                key_refresh: Duration::from_secs(num(&get, "SIGNING_KEYS_REFRESH_SECONDS", 60)?),
                auth_per_minute: num(&get, "RATE_LIMIT_AUTH_PER_MINUTE", 5)?,
                general_per_minute: num(&get, "RATE_LIMIT_GENERAL_PER_MINUTE", 100)?,
                lockout_failures: 5,
                lockout: Duration::from_secs(15 * 60),
                argon2_memory_kib: num(&get, "ARGON2_MEMORY_KIB", 64 * 1024)?,
                argon2_iterations: num(&get, "ARGON2_ITERATIONS", 3)?,
                argon2_parallelism: num(&get, "ARGON2_PARALLELISM", 4)?,
                argon2_max_concurrency: num(
                    &get,
                    "ARGON2_MAX_CONCURRENCY",
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2),
                )?,
            },
        };
        groups::require_real_services(&settings)?;
        Ok(settings)
    }
}

/// A numeric setting with its default.
fn num<T: std::str::FromStr>(
    get: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    get(name)
        .map(|v| parse_num(name, &v))
        .transpose()
        .map(|v| v.unwrap_or(default))
}

fn parse_num<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, SettingsError> {
    value
        .parse()
        .map_err(|_| bad(name, format!("'{value}' is not a valid number")))
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad(name, format!("'{value}' is not true or false"))),
    }
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(value).map_err(|e| bad(name, format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(name, "must be an http(s) URL"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
