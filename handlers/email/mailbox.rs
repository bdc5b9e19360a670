//! The local mailbox: delivered emails as JSON files, one per email, so a developer (and a
//! test) can read what the app sent without a mail service.

use std::path::{Path, PathBuf};

use super::Email;

pub struct Mailbox {
    dir: PathBuf,
}

impl Mailbox {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the email atomically; delivering the same email twice keeps one copy.
    pub async fn deliver(&self, email: &Email) -> anyhow::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let name: String = email
            .id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let temp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&temp, serde_json::to_vec_pretty(email)?).await?;
        tokio::fs::rename(&temp, self.dir.join(format!("{name}.json"))).await?;
        Ok(())
    }

    /// Every delivered email, newest first.
    pub async fn list(&self) -> anyhow::Result<Vec<Email>> {
        let mut emails = Vec::new();
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(emails),
            Err(e) => return Err(e.into()),
        };
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            if let Ok(email) = serde_json::from_slice::<Email>(&tokio::fs::read(&path).await?) {
                emails.push(email);
            }
        }
        emails.sort_by_key(|e| std::cmp::Reverse(e.created_at));
        Ok(emails)
    }
}

/// `GET /api/dev/mailbox[?to=]`: what the app has "sent", newest first (local mode only).
pub async fn list_route(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    axum::extract::Query(filter): axum::extract::Query<MailboxFilter>,
) -> Result<crate::error::AppJson<serde_json::Value>, crate::error::ApiError> {
    let super::Delivery::Mailbox(mailbox) = &state.email else {
        return Err(crate::error::ApiError::not_found(
            "Emails go to Azure Communication Services; there is no local mailbox.",
        ));
    };
    let items: Vec<Email> = mailbox
        .list()
        .await
        .map_err(crate::error::ApiError::internal)?
        .into_iter()
        .filter(|e| {
            filter
                .to
                .as_ref()
                .is_none_or(|to| e.to.eq_ignore_ascii_case(to))
        })
        .collect();
    Ok(crate::error::AppJson(serde_json::json!({ "items": items })))
}

#[derive(serde::Deserialize)]
pub struct MailboxFilter {
    to: Option<String>,
}
