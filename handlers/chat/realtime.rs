//! Realtime delivery: Azure Web PubSub through its REST API, or the local hub in this process.
//! Both take the same [`Action`]s and issue client access tokens of the same form.
//!
//! The REST calls are written with reqwest: there is no Web PubSub crate in the Azure SDK for
//! Rust. They follow the service's data-plane reference (api-version 2024-12-01): a bearer JWT
//! signed HS256 with the connection string's AccessKey, `aud` the request URL.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use tracing::Instrument;
use utoipa::ToSchema;

use super::hub::LocalHub;
use super::model::{Action, group_of};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Problem};
use crate::settings::{Secret, Settings, WebPubSubSettings};
use crate::state::AppState;

const API_VERSION: &str = "2024-12-01";
/// How long a client access token lets a client connect.
pub const CLIENT_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// A broadcast waits at most this long: a slow service must not hold up the API's answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub enum Realtime {
    Service(Arc<ServiceClient>),
    Local(Arc<LocalHub>),
}

/// The claims of a Web PubSub client access token.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ClientClaims {
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub role: Vec<String>,
    #[serde(rename = "webpubsub.group", default)]
    pub groups: Vec<String>,
}

/// Rights on exactly these groups: join or leave them, and send to them.
pub fn client_claims(
    audience: &str,
    user_id: &str,
    groups: &[String],
    now: DateTime<Utc>,
) -> ClientClaims {
    let role = groups
        .iter()
        .flat_map(|g| {
            [
                format!("webpubsub.joinLeaveGroup.{g}"),
                format!("webpubsub.sendToGroup.{g}"),
            ]
        })
        .collect();
    ClientClaims {
        aud: audience.to_owned(),
        sub: user_id.to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + CLIENT_TOKEN_LIFETIME.as_secs() as i64,
        role,
        groups: groups.to_vec(),
    }
}

pub fn sign(claims: &impl Serialize, key: &[u8]) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )?)
}

impl Realtime {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.webpubsub {
            Some(service) => Ok(Realtime::Service(Arc::new(ServiceClient::new(
                service,
                &settings.webpubsub_hub,
            )))),
            None => {
                let base = settings
                    .public_base_url
                    .clone()
                    .unwrap_or_else(|| url::Url::parse("http://127.0.0.1:7071").expect("url"));
                Ok(Realtime::Local(Arc::new(LocalHub::new(
                    &settings.webpubsub_hub,
                    &base,
                ))))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Realtime::Service(s) => format!("Azure Web PubSub at {} hub {}", s.endpoint, s.hub),
            Realtime::Local(h) => format!("local hub at {}", h.client_base_url()),
        }
    }

    /// Carries out `actions` in order. Failures are logged, not returned: what they announce is
    /// already stored, and clients catch up by reading it.
    pub async fn apply(&self, actions: &[Action]) {
        for action in actions {
            let result = match self {
                Realtime::Service(s) => tokio::time::timeout(SEND_TIMEOUT, s.apply(action))
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out"))),
                Realtime::Local(h) => {
                    h.apply(action);
                    Ok(())
                }
            };
            if let Err(e) = result {
                tracing::warn!("realtime action not delivered: {e:#}");
            }
        }
    }

    /// A client URL and token for `user_id` with rights on `groups`.
    pub fn client_access(
        &self,
        user_id: &str,
        groups: &[String],
    ) -> anyhow::Result<(String, String, DateTime<Utc>)> {
        let now = Utc::now();
        let (base, key) = match self {
            Realtime::Service(s) => (s.client_base_url(), s.key.expose().as_bytes().to_vec()),
            Realtime::Local(h) => (h.client_base_url(), h.key().to_vec()),
        };
        let audience = base
            .replacen("wss://", "https://", 1)
            .replacen("ws://", "http://", 1);
        let claims = client_claims(&audience, user_id, groups, now);
        let token = sign(&claims, &key)?;
        let expires = DateTime::from_timestamp(claims.exp, 0).unwrap_or(now);
        Ok((base, token, expires))
    }
}

/// Web PubSub's data-plane REST API, with one shared HTTP client built on first use.
pub struct ServiceClient {
    endpoint: url::Url,
    key: Secret,
    hub: String,
    http: OnceLock<reqwest::Client>,
}

#[derive(Serialize)]
struct ServerClaims<'a> {
    aud: &'a str,
    exp: i64,
    iat: i64,
}

impl ServiceClient {
    pub fn new(service: &WebPubSubSettings, hub: &str) -> Self {
        Self {
            endpoint: service.endpoint.clone(),
            key: service.access_key.clone(),
            hub: hub.to_owned(),
            http: OnceLock::new(),
        }
    }

    fn client_base_url(&self) -> String {
        let mut url = self.endpoint.clone();
        let scheme = if url.scheme() == "http" { "ws" } else { "wss" };
        let _ = url.set_scheme(scheme);
        url.set_path(&format!("client/hubs/{}", self.hub));
        url.to_string()
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(SEND_TIMEOUT)
                .build()
                .expect("an HTTP client with default TLS")
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<String>,
    ) -> anyhow::Result<()> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|_| anyhow::anyhow!("the Web PubSub endpoint cannot be a base"))?
            .clear()
            .extend(["api", "hubs", &self.hub])
            .extend(segments);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        // The audience is the request URL without its port, as the service's SDKs sign it.
        let mut audience = url.clone();
        let _ = audience.set_port(None);
        let now = Utc::now().timestamp();
        let token = sign(
            &ServerClaims {
                aud: audience.as_str(),
                exp: now + 300,
                iat: now,
            },
            self.key.expose().as_bytes(),
        )?;
        let mut request = self.http().request(method, url.clone()).bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let span = crate::telemetry::dependency(
            "Azure Web PubSub",
            &format!("{} {}", request_method_name(segments), self.hub),
            url.host_str().unwrap_or_default(),
        );
        let response = request
            .send()
            .instrument(span.clone())
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        span.in_scope(|| crate::telemetry::record_status(status.as_u16()));
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            anyhow::bail!("Web PubSub answered {status} to {url}: {text}");
        }
        Ok(())
    }

    async fn apply(&self, action: &Action) -> anyhow::Result<()> {
        match action {
            Action::SendToGroup { group, event } => {
                self.call(
                    reqwest::Method::POST,
                    &["groups", group, ":send"],
                    Some(serde_json::to_string(event)?),
                )
                .await
            }
            Action::AddUserToGroup { user_id, group } => {
                self.call(
                    reqwest::Method::PUT,
                    &["users", user_id, "groups", group],
                    None,
                )
                .await
            }
            Action::RemoveUserFromGroup { user_id, group } => {
                self.call(
                    reqwest::Method::DELETE,
                    &["users", user_id, "groups", group],
                    None,
                )
                .await
            }
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Negotiated {
    /// The client URL with its access token: hand it to `WebPubSubClient`.
    pub url: String,
    pub base_url: String,
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(get, operation_id = "negotiateRealtime", path = "/api/v1/realtime/negotiate", tag = "chat", security(("bearer" = [])),
    responses(
        (status = 200, description = "A Web PubSub client URL for the caller, with rights on their conversations' groups only", body = Negotiated),
        (status = 401, description = "Not signed in", body = Problem),
    ))]
pub async fn negotiate(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<Negotiated>> {
    let groups: Vec<String> = super::store::conversation_ids(&state, &user.user_id)
        .await?
        .iter()
        .map(|id| group_of(id))
        .collect();
    let (base_url, access_token, expires_at) = state
        .realtime
        .client_access(&user.user_id, &groups)
        .map_err(ApiError::internal)?;
    let mut url = url::Url::parse(&base_url).map_err(ApiError::internal)?;
    url.query_pairs_mut()
        .append_pair("access_token", &access_token);
    Ok(AppJson(Negotiated {
        url: url.to_string(),
        base_url,
        access_token,
        expires_at,
    }))
}

/// The operation a REST path names (`groups/{g}/:send` -> `groups/:send`), without the ids, so
/// telemetry groups the calls.
fn request_method_name(segments: &[&str]) -> String {
    match segments {
        [first, .., last] if last.starts_with(':') => format!("{first}/{last}"),
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}
