//! Email: every message goes through the `emails` queue (the outbox) and is delivered by the
//! `emails` queue function, so a slow or failing mail service never slows a request and a
//! failed delivery is retried by the host. Delivery is Azure Communication Services in Azure,
//! or a local mailbox folder readable at `GET /api/dev/mailbox` when ACS is not configured.

pub mod acs;
pub mod mailbox;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::settings::Settings;
use crate::state::AppState;

/// The outbox queue's name.
pub const QUEUE: &str = "emails";

/// One email as it travels through the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    /// Unique per email; delivery uses it to avoid sending twice.
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// What the email is for (`verification`, `password-reset`...), for logs and tests.
    pub kind: String,
    #[serde(default = "chrono::Utc::now")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Email {
    pub fn new(kind: &str, to: &str, subject: &str, text: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: None,
            kind: kind.to_owned(),
            created_at: chrono::Utc::now(),
        }
    }
}

/// Puts an email in the outbox (see `jobs::outbox`): it is recorded before it is queued.
pub async fn enqueue(state: &AppState, email: &Email) -> ApiResult<()> {
    let body = serde_json::to_string(email).expect("an email serialises");
    crate::jobs::outbox::enqueue(state, QUEUE, body).await
}

/// Where emails are delivered.
#[derive(Clone)]
pub enum Delivery {
    Acs(Arc<acs::AcsEmail>),
    Mailbox(Arc<mailbox::Mailbox>),
}

impl Delivery {
    /// ACS when it is configured (settings checked the three belong together); otherwise the
    /// local mailbox under `DATA_DIR`. Builds clients only; no network.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.email {
            Some(acs) => Ok(Delivery::Acs(Arc::new(acs::AcsEmail::new(
                acs.endpoint.clone(),
                acs.key.clone(),
                acs.sender.clone(),
            )?))),
            None => Ok(Delivery::Mailbox(Arc::new(mailbox::Mailbox::new(
                settings.data_dir.join("mailbox"),
            )))),
        }
    }

    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        match self {
            Delivery::Acs(acs) => acs.send(email).await,
            Delivery::Mailbox(mailbox) => mailbox.deliver(email).await,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Delivery::Acs(acs) => format!("Azure Communication Services at {}", acs.endpoint()),
            Delivery::Mailbox(m) => format!("local mailbox {}", m.dir().display()),
        }
    }
}
