//! Realtime delivery: Azure Web PubSub through its REST API, or the local hub in this process.
//! Both take the same [`Action`]s and group and close calls, and issue client access tokens of
//! the same form: tokens that name the user and session and grant nothing (DESIGN.md section 5).
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
use super::model::Action;
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
    /// The API session the token was negotiated in: the connect trigger refuses a token whose
    /// session has ended, so a negotiated URL does not outlive a logout.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
    /// Rights the service grants from the token. Negotiate grants none (DESIGN.md section 5):
    /// they would outlive membership. Read so that the local hub honours them as the service
    /// would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role: Vec<String>,
    #[serde(
        rename = "webpubsub.group",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
}

/// A client token that only identifies the user and session: no roles and no groups, because
/// membership lives on the server (the connect trigger and the group calls).
pub fn client_claims(
    audience: &str,
    user_id: &str,
    session_id: &str,
    now: DateTime<Utc>,
) -> ClientClaims {
    ClientClaims {
        aud: audience.to_owned(),
        sub: user_id.to_owned(),
        sid: session_id.to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + CLIENT_TOKEN_LIFETIME.as_secs() as i64,
        role: Vec::new(),
        groups: Vec::new(),
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
            let result = match action {
                Action::SendToGroup { group, event } => match self {
                    Realtime::Service(s) => {
                        let body = serde_json::to_string(event).unwrap_or_default();
                        s.timed(s.call(
                            reqwest::Method::POST,
                            &["groups", group, ":send"],
                            &[],
                            Some(body),
                        ))
                        .await
                    }
                    Realtime::Local(h) => {
                        h.apply(action);
                        Ok(())
                    }
                },
                Action::AddUserToGroup { user_id, group } => {
                    self.add_to_group(user_id, group).await
                }
                Action::RemoveUserFromGroup { user_id, group } => {
                    self.remove_from_group(user_id, group).await
                }
            };
            if let Err(e) = result {
                tracing::warn!("realtime action not delivered: {e:#}");
            }
        }
    }

    /// Puts every connection of `user_id`, now and (on the service) later ones, in `group`.
    pub async fn add_to_group(&self, user_id: &str, group: &str) -> anyhow::Result<()> {
        match self {
            Realtime::Service(s) => {
                s.timed(s.call(
                    reqwest::Method::PUT,
                    &["users", user_id, "groups", group],
                    &[],
                    None,
                ))
                .await
            }
            Realtime::Local(h) => {
                h.set_group(user_id, group, true);
                Ok(())
            }
        }
    }

    /// Takes every connection of `user_id` out of `group`: from the moment this returns `Ok`,
    /// none of them gets the group's messages. An `Err` means the service may still deliver.
    pub async fn remove_from_group(&self, user_id: &str, group: &str) -> anyhow::Result<()> {
        match self {
            Realtime::Service(s) => {
                s.timed(s.call(
                    reqwest::Method::DELETE,
                    &["users", user_id, "groups", group],
                    &[],
                    None,
                ))
                .await
            }
            Realtime::Local(h) => {
                h.set_group(user_id, group, false);
                Ok(())
            }
        }
    }

    /// Closes every open connection of `user_id` (logout, revoke, suspension...). `reason` is
    /// shown to the client; it must not carry anything secret.
    pub async fn close_user_connections(&self, user_id: &str, reason: &str) -> anyhow::Result<()> {
        match self {
            Realtime::Service(s) => {
                s.timed(s.call(
                    reqwest::Method::POST,
                    &["users", user_id, ":closeConnections"],
                    &[("reason", reason)],
                    None,
                ))
                .await
            }
            Realtime::Local(h) => {
                h.close_user(user_id, reason);
                Ok(())
            }
        }
    }

    /// A client URL and token for `user_id` in session `session_id`, with no rights of its own.
    pub fn client_access(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> anyhow::Result<(String, String, DateTime<Utc>)> {
        let now = Utc::now();
        let (base, key) = match self {
            Realtime::Service(s) => (s.client_base_url(), s.key.expose().as_bytes().to_vec()),
            Realtime::Local(h) => (h.client_base_url(), h.key().to_vec()),
        };
        let audience = base
            .replacen("wss://", "https://", 1)
            .replacen("ws://", "http://", 1);
        let claims = client_claims(&audience, user_id, session_id, now);
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

    /// A call that takes at most [`SEND_TIMEOUT`]: a slow service must not hold up the API.
    async fn timed(
        &self,
        call: impl std::future::Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        tokio::time::timeout(SEND_TIMEOUT, call)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out")))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> anyhow::Result<()> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|_| anyhow::anyhow!("the Web PubSub endpoint cannot be a base"))?
            .clear()
            .extend(["api", "hubs", &self.hub])
            .extend(segments);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION)
            .extend_pairs(query);
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
        let mut request = self
            .http()
            .request(method.clone(), url.clone())
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let operation = format!("{method} {}", request_method_name(segments));
        let span = crate::telemetry::dependency(
            "Azure Web PubSub",
            &format!("{} {}", request_method_name(segments), self.hub),
            url.host_str().unwrap_or_default(),
        );
        let response = request
            .send()
            .instrument(span.clone())
            .await
            // Named by operation, not URL: the path carries user ids and groups.
            .map_err(reqwest::Error::without_url)
            .with_context(|| format!("calling Web PubSub {operation}"))?;
        let status = response.status();
        span.in_scope(|| crate::telemetry::record_status(status.as_u16()));
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            anyhow::bail!("Web PubSub answered {status} to {operation}: {text}");
        }
        Ok(())
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
        (status = 200, description = "A Web PubSub client URL for the caller, with no group rights: the server puts the connection in the caller's conversation groups", body = Negotiated),
        (status = 401, description = "Not signed in", body = Problem),
    ))]
pub async fn negotiate(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<Negotiated>> {
    // No groups and no rights in the token: the connect trigger decides membership when the
    // client connects, and the group calls change it while the connection lives.
    let (base_url, access_token, expires_at) = state
        .realtime
        .client_access(&user.user_id, &user.session_id)
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
