//! Settings that only make sense together, each parsed and validated once into one optional
//! group, and the one check that a deployment in Azure has every real service it needs.

use url::Url;

use super::{Secret, Settings, SettingsError, StorageSettings, bad, parse_url};

/// Azure Communication Services Email: all three of `ACS_EMAIL_ENDPOINT`, `ACS_EMAIL_KEY`
/// and `EMAIL_SENDER`, or none (emails then go to the local mailbox).
#[derive(Debug, Clone)]
pub struct AcsSettings {
    pub endpoint: Url,
    pub key: Secret,
    pub sender: String,
}

impl AcsSettings {
    /// A sender alone configures nothing (it is harmless), but an endpoint or key without the
    /// rest is a half-done deployment and stops start-up.
    pub(super) fn parse(
        endpoint: Option<String>,
        key: Option<String>,
        sender: Option<String>,
    ) -> Result<Option<Self>, SettingsError> {
        match (endpoint, key, sender) {
            (Some(endpoint), Some(key), Some(sender)) => Ok(Some(AcsSettings {
                endpoint: parse_url("ACS_EMAIL_ENDPOINT", &endpoint)?,
                key: Secret::new(key),
                sender,
            })),
            (Some(_), _, _) | (_, Some(_), _) => Err(bad(
                "ACS_EMAIL_ENDPOINT",
                "ACS email needs ACS_EMAIL_ENDPOINT, ACS_EMAIL_KEY and EMAIL_SENDER together",
            )),
            _ => Ok(None),
        }
    }
}

/// Azure Web PubSub, from `WEBPUBSUB_CONNECTION_STRING`.
#[derive(Debug, Clone)]
pub struct WebPubSubSettings {
    pub endpoint: Url,
    /// Signs the service's REST calls and the clients' access tokens.
    pub access_key: Secret,
}

impl WebPubSubSettings {
    /// `Endpoint=https://<name>.webpubsub.azure.com;AccessKey=<key>;Version=1.0;` (an optional
    /// `Port=` as the emulators write it).
    pub(super) fn parse(connection_string: &str) -> Result<Self, SettingsError> {
        const NAME: &str = "WEBPUBSUB_CONNECTION_STRING";
        let mut endpoint = None;
        let mut key = None;
        let mut port = None;
        for part in connection_string.split(';') {
            match part.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("Endpoint") => endpoint = Some(v.trim()),
                Some((k, v)) if k.eq_ignore_ascii_case("AccessKey") => key = Some(v.trim()),
                Some((k, v)) if k.eq_ignore_ascii_case("Port") => port = v.trim().parse().ok(),
                _ => {}
            }
        }
        let endpoint = endpoint.ok_or_else(|| bad(NAME, "has no Endpoint="))?;
        let mut endpoint =
            Url::parse(endpoint).map_err(|e| bad(NAME, format!("Endpoint is not a URL ({e})")))?;
        if let Some(port) = port {
            let _ = endpoint.set_port(Some(port));
        }
        let key = key.filter(|k| !k.is_empty()).ok_or_else(|| {
            bad(
                NAME,
                "has no AccessKey= (identity-based access is not supported)",
            )
        })?;
        Ok(Self {
            endpoint,
            access_key: Secret::new(key),
        })
    }
}

/// Parses an Azure Storage connection string (`Key=Value;...`). Values may contain `=`
/// (account keys are base64), so each pair splits at its first `=` only.
pub(super) fn parse_storage_connection_string(cs: &str) -> Result<StorageSettings, SettingsError> {
    const NAME: &str = "STORAGE_CONNECTION_STRING";
    let mut account = None;
    let mut key = None;
    let mut blob = None;
    let mut queue = None;
    let mut protocol = "https".to_owned();
    let mut suffix = "core.windows.net".to_owned();
    for part in cs.split(';').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(NAME, "expected Key=Value pairs separated by ';'"))?;
        match k.trim() {
            "AccountName" => account = Some(v.to_owned()),
            "AccountKey" => key = Some(v.to_owned()),
            "BlobEndpoint" => blob = Some(v.to_owned()),
            "QueueEndpoint" => queue = Some(v.to_owned()),
            "DefaultEndpointsProtocol" => protocol = v.to_owned(),
            "EndpointSuffix" => suffix = v.to_owned(),
            _ => {}
        }
    }
    let account = account.ok_or_else(|| bad(NAME, "has no AccountName"))?;
    let key = key.ok_or_else(|| bad(NAME, "has no AccountKey"))?;
    let endpoint = |explicit: Option<String>, service: &str| {
        let raw = explicit.unwrap_or_else(|| format!("{protocol}://{account}.{service}.{suffix}"));
        parse_url(NAME, raw.trim_end_matches('/'))
    };
    Ok(StorageSettings::SharedKey {
        blob_endpoint: endpoint(blob, "blob")?,
        queue_endpoint: endpoint(queue, "queue")?,
        account,
        key: Secret::new(key),
    })
}

/// In Azure every dependency left unset falls back to local state on one instance (a folder,
/// SQLite, an in-process cache, a mailbox, a local hub), which a scaled-out app would split.
/// So there, unless `ALLOW_EMBEDDED=true`, start-up stops naming every missing setting.
pub(super) fn require_real_services(settings: &Settings) -> Result<(), SettingsError> {
    if !settings.on_azure || settings.allow_embedded {
        return Ok(());
    }
    let missing: Vec<&str> = [
        (settings.cosmos.is_none(), "COSMOS_ENDPOINT"),
        (
            settings.storage.is_none(),
            "STORAGE_BLOB_ENDPOINT and STORAGE_QUEUE_ENDPOINT (or STORAGE_CONNECTION_STRING)",
        ),
        (settings.key_vault_uri.is_none(), "KEY_VAULT_URI"),
        (settings.redis_url.is_none(), "REDIS_URL"),
        (
            settings.email.is_none(),
            "ACS_EMAIL_ENDPOINT, ACS_EMAIL_KEY and EMAIL_SENDER",
        ),
        (settings.webpubsub.is_none(), "WEBPUBSUB_CONNECTION_STRING"),
    ]
    .into_iter()
    .filter_map(|(unset, names)| unset.then_some(names))
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(bad(
        "ALLOW_EMBEDDED",
        format!(
            "running in Azure (WEBSITE_INSTANCE_ID is set) with local stand-ins: set {}, or \
             ALLOW_EMBEDDED=true to accept local state on a scaled-out app",
            missing.join("; ")
        ),
    ))
}
