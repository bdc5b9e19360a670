//! A Key Vault secrets endpoint for tests. No Key Vault emulator exists, so this fake follows
//! the documented REST protocol (api-version 2025-07-01 / 7.x): the bearer challenge (401 with
//! `WWW-Authenticate: Bearer authorization=..., resource=...` to a request without a token),
//! `PUT /secrets/{name}`, `GET /secrets/{name}/{version}` (empty version: the newest),
//! `GET /secrets/{name}/versions` (paged with `nextLink`), and `{"error": {...}}` bodies. It
//! serves HTTPS with a certificate made per run, because the SDK refuses plain HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// Per secret name: (version, value, created) oldest first.
type Versions = HashMap<String, Vec<(String, String, i64)>>;

#[derive(Clone)]
struct Vault {
    base: String,
    secrets: Arc<Mutex<Versions>>,
}

pub struct FakeKeyVault {
    pub uri: url::Url,
    pub certificate_pem: String,
}

fn challenge() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            "www-authenticate",
            "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"",
        )],
    )
        .into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

fn not_found(name: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"code": "SecretNotFound", "message": format!("A secret with (name/id) {name} was not found in this key vault.")}})),
    )
        .into_response()
}

fn bundle(vault: &Vault, name: &str, version: &str, value: Option<&str>, created: i64) -> Value {
    let mut v = json!({
        "id": format!("{}secrets/{name}/{version}", vault.base),
        "attributes": {"enabled": true, "created": created, "updated": created, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
    });
    if let Some(value) = value {
        v["value"] = json!(value);
    }
    v
}

async fn set_secret(
    State(vault): State<Vault>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorised(&headers) {
        return challenge();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": "BadParameter", "message": "body"}})),
        )
            .into_response();
    };
    let value = body["value"].as_str().unwrap_or_default().to_owned();
    let version = uuid::Uuid::new_v4().simple().to_string();
    let mut secrets = vault.secrets.lock().unwrap();
    let versions = secrets.entry(name.clone()).or_default();
    // Creation times must order the versions even when two land in the same second.
    let created = chrono::Utc::now()
        .timestamp()
        .max(versions.last().map(|v| v.2 + 1).unwrap_or(0));
    versions.push((version.clone(), value.clone(), created));
    Json(bundle(&vault, &name, &version, Some(&value), created)).into_response()
}

async fn get_secret(
    State(vault): State<Vault>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&headers) {
        return challenge();
    }
    let secrets = vault.secrets.lock().unwrap();
    let Some(versions) = secrets.get(&name) else {
        return not_found(&name);
    };
    if version == "versions" {
        let value: Vec<Value> = versions
            .iter()
            .map(|(ver, _, created)| bundle(&vault, &name, ver, None, *created))
            .collect();
        return Json(json!({"value": value, "nextLink": null})).into_response();
    }
    let found = if version.is_empty() {
        versions.last()
    } else {
        versions.iter().find(|v| v.0 == version)
    };
    match found {
        Some((ver, value, created)) => {
            Json(bundle(&vault, &name, ver, Some(value), *created)).into_response()
        }
        None => not_found(&name),
    }
}

async fn get_latest(state: State<Vault>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    get_secret(state, Path((name, String::new())), headers).await
}

async fn fallback(uri: Uri) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"code": "BadRequest", "message": format!("unsupported: {uri}")}})),
    )
        .into_response()
}

impl FakeKeyVault {
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!(
            "https://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        let vault = Vault {
            base: base.clone(),
            secrets: Arc::default(),
        };
        let app = Router::new()
            .route("/secrets/{name}", get(get_latest).put(set_secret))
            .route("/secrets/{name}/", get(get_latest))
            .route("/secrets/{name}/{version}", get(get_secret))
            .fallback(fallback)
            .with_state(vault);
        FakeKeyVault {
            uri: url::Url::parse(&base).unwrap(),
            certificate_pem: serve_tls(listener, app).await,
        }
    }
}

/// Serves `app` over HTTPS on `listener` with a fresh self-signed certificate for 127.0.0.1
/// and localhost; returns the certificate (PEM) for clients to trust.
pub async fn serve_tls(listener: std::net::TcpListener, app: Router) -> String {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("self-signed certificate");
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    listener.set_nonblocking(true).unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert_pem.clone().into_bytes(),
        key_pem.into_bytes(),
    )
    .await
    .expect("TLS config");
    let server = axum_server::from_tcp_rustls(listener, config);
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    cert_pem
}
