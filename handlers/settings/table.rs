//! Every setting the parser reads, in one table. The parser looks each name up here before
//! reading it (a name missing from the table is a programming error caught by any test run),
//! and the tests check the table against the README and `local.settings.json.example`, so the
//! documentation cannot drift from what is read.

/// One setting: its name, its default as documented, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
    /// Set by the Functions host or App Service, never by hand, so not in
    /// `local.settings.json.example`.
    pub platform: bool,
}

const fn s(name: &'static str, default: &'static str, meaning: &'static str) -> Setting {
    Setting {
        name,
        default,
        meaning,
        platform: false,
    }
}

const fn platform(name: &'static str, meaning: &'static str) -> Setting {
    Setting {
        name,
        default: "unset",
        meaning,
        platform: true,
    }
}

pub const ALL: &[Setting] = &[
    platform(
        "FUNCTIONS_CUSTOMHANDLER_PORT",
        "set by the Functions host: host mode on this port",
    ),
    platform(
        "WEBSITE_INSTANCE_ID",
        "set by App Service: running in Azure (JSON logs, real stores required)",
    ),
    s("PORT", "7071", "local mode port (0: any free port)"),
    s(
        "DATA_DIR",
        ".data",
        "where the embedded stores and the mailbox live",
    ),
    s("SCRIPT_ROOT", ".", "where host.json and the functions are"),
    s(
        "WEB_DIR",
        "<SCRIPT_ROOT>/web/dist",
        "local mode: the built web app served at /",
    ),
    s(
        "ALLOW_EMBEDDED",
        "false",
        "allow embedded stores when running in Azure",
    ),
    s("LOG_FORMAT", "text (json in Azure)", "log line format"),
    s(
        "REQUEST_TIMEOUT_SECONDS",
        "30",
        "answer 503 TIMEOUT to an /api request that takes longer",
    ),
    s(
        "PUBLIC_BASE_URL",
        "http://127.0.0.1:<port>",
        "this API's external URL",
    ),
    s(
        "APP_BASE_URL",
        "unset",
        "the frontend's URL, for links in emails",
    ),
    s(
        "TRUSTED_PROXY_HOPS",
        "1",
        "how many X-Forwarded-For entries from the right are trusted",
    ),
    s(
        "CORS_ORIGINS",
        "unset (no CORS)",
        "comma-separated origins (scheme://host[:port]) whose pages may call the API with credentials; the refresh cookie becomes SameSite=None",
    ),
    s(
        "AUTH_REFRESH_TRANSPORT",
        "both",
        "where the refresh token travels: body, cookie (never in a body; refresh and logout need X-Requested-With) or both",
    ),
    s(
        "AZURE_CLIENT_ID",
        "unset",
        "client id of the user-assigned managed identity",
    ),
    s(
        "COSMOS_ENDPOINT",
        "unset (SQLite)",
        "Cosmos DB account endpoint",
    ),
    s(
        "COSMOS_KEY",
        "unset (managed identity)",
        "Cosmos DB account key",
    ),
    s("COSMOS_DATABASE", "portal", "database name"),
    s(
        "STORAGE_CONNECTION_STRING",
        "unset",
        "account-key alternative to the storage endpoints",
    ),
    s(
        "STORAGE_BLOB_ENDPOINT",
        "unset (folder)",
        "Blob endpoint, with managed identity",
    ),
    s(
        "STORAGE_QUEUE_ENDPOINT",
        "unset (SQLite queue)",
        "Queue endpoint, with managed identity",
    ),
    s(
        "KEY_VAULT_URI",
        "unset (key file)",
        "Key Vault for signing keys and secrets",
    ),
    s(
        "REDIS_URL",
        "unset (in-process cache)",
        "redis:// or rediss://",
    ),
    s("CACHE_KEY_PREFIX", "unset", "prefix of every Redis key"),
    s(
        "WEBPUBSUB_CONNECTION_STRING",
        "unset (local hub)",
        "Web PubSub for chat: Endpoint and AccessKey",
    ),
    s("WEBPUBSUB_HUB", "chat", "the realtime hub's name"),
    s(
        "ACS_EMAIL_ENDPOINT",
        "unset (local mailbox)",
        "Azure Communication Services Email endpoint",
    ),
    s(
        "ACS_EMAIL_KEY",
        "unset",
        "Azure Communication Services access key",
    ),
    s("EMAIL_SENDER", "unset", "the sender address of every email"),
    s(
        "RATE_LIMIT_FORMS_PER_HOUR",
        "10",
        "form submissions per IP per hour",
    ),
    s(
        "ARCHIVE_AFTER_DAYS",
        "365",
        "chat messages older than this are archived",
    ),
    s(
        "CHAT_EMAIL_DELAY_MINUTES",
        "15",
        "unread chat messages wait this long before a digest email",
    ),
    s("BACKUP_RETENTION_DAYS", "30", "daily backups kept"),
    s(
        "FORMS_NOTIFY_EMAIL",
        "unset",
        "who is emailed about each new form",
    ),
    s(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "unset (no telemetry)",
        "Application Insights",
    ),
    s(
        "CACHE_TIMEOUT_MS",
        "250",
        "deadline of one Redis command; past it the call counts as the cache being down",
    ),
    s(
        "DOCUMENTS_TIMEOUT_MS",
        "2000",
        "deadline of a Cosmos DB point read or write",
    ),
    s(
        "DOCUMENTS_QUERY_TIMEOUT_MS",
        "5000",
        "deadline of one Cosmos DB query page",
    ),
    s(
        "STORAGE_TIMEOUT_MS",
        "2000",
        "deadline of a Blob or Queue Storage metadata call (head, list, delete, send, receive, SAS key)",
    ),
    s(
        "STORAGE_TRANSFER_TIMEOUT_MS",
        "30000",
        "deadline of a whole-blob read or write done by the handler itself (thumbnails, archives, backups)",
    ),
    s(
        "KEY_VAULT_TIMEOUT_MS",
        "2000",
        "deadline of a Key Vault call",
    ),
    s(
        "BREAKER_FAILURES",
        "5",
        "consecutive failures of a dependency (within 10 s) that open its circuit breaker",
    ),
    s(
        "BREAKER_COOLDOWN_MS",
        "5000",
        "how long an open breaker answers 503 at once before letting one probe call through",
    ),
    s(
        "OTEL_METRIC_EXPORT_INTERVAL",
        "60000",
        "milliseconds between metric exports",
    ),
    s(
        "INVITES_BY_MEMBERS",
        "false",
        "true: verified members may invite plain users",
    ),
    s("INVITES_PER_DAY", "10", "invites a member may send a day"),
    s(
        "OIDC_PROVIDERS",
        "unset (none)",
        "comma-separated names of OpenID Connect providers (e.g. microsoft,google)",
    ),
    s(
        "OIDC_<NAME>_ISSUER",
        "required per provider",
        "the issuer, exactly as its ID tokens' iss (https; plain http only on loopback)",
    ),
    s(
        "OIDC_<NAME>_CLIENT_ID",
        "required per provider",
        "this app's client id there",
    ),
    s(
        "OIDC_<NAME>_CLIENT_SECRET",
        "required per provider",
        "this app's client secret there (a Key Vault reference in Azure)",
    ),
    s(
        "OIDC_<NAME>_SCOPES",
        "openid email profile",
        "scopes asked for (openid is always added)",
    ),
    s(
        "OIDC_<NAME>_LABEL",
        "the name, capitalised",
        "what the sign-in page shows",
    ),
    s(
        "REQUIRE_VERIFIED_EMAIL",
        "false",
        "true: an unverified account reaches only the auth routes and its own profile",
    ),
    s(
        "REGISTRATION_MODE",
        "open",
        "invite: sign-up needs an invite for the same email",
    ),
    s(
        "ADMIN_EMAILS",
        "unset",
        "emails that become admins when they sign up",
    ),
    s("JWT_ISSUER", "portal-api", "iss of access tokens"),
    s("JWT_AUDIENCE", "portal-api", "aud of access tokens"),
    s(
        "REFRESH_REUSE_GRACE_SECONDS",
        "10",
        "how long a just-rotated refresh token still gets the current pair",
    ),
    s(
        "ACCESS_TOKEN_TTL_SECONDS",
        "900",
        "lifetime of an access token (JWT `exp`); tests shorten it to see a real expiry",
    ),
    s(
        "SIGNING_KEYS_REFRESH_SECONDS",
        "60",
        "how long the signing keys are kept in memory before Key Vault is read again; when a read fails the last good keys keep serving",
    ),
    s(
        "KEY_ROTATION_DAYS",
        "30",
        "age at which a new signing key is added",
    ),
    s(
        "RATE_LIMIT_AUTH_PER_MINUTE",
        "5",
        "auth requests per IP and per account",
    ),
    s(
        "RATE_LIMIT_GENERAL_PER_MINUTE",
        "100",
        "every /api request per IP",
    ),
    s("ARGON2_MEMORY_KIB", "65536", "argon2id memory cost"),
    s("ARGON2_ITERATIONS", "3", "argon2id iterations"),
    s("ARGON2_PARALLELISM", "4", "argon2id lanes"),
    s(
        "ARGON2_MAX_CONCURRENCY",
        "core count",
        "password hashes at once",
    ),
];

/// The table entry of `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    ALL.iter().find(|s| s.name == name)
}
