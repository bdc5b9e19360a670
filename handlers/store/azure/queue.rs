//! Queue Storage through `azure_storage_queue` 1.x. Message text is base64 on the wire, the
//! encoding the Functions queue trigger expects (host.json states it), so a message this
//! store sends is one the host can hand to a queue function, and the other way round.

use std::time::Duration;

use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_storage_queue::models::{
    QueueClientReceiveMessagesOptions, QueueClientSendMessageOptions, QueueMessage as SdkMessage,
};
use azure_storage_queue::{QueueClient, QueueServiceClient, QueueServiceClientOptions};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;

use super::blob::{shared_key_options, token_credential};
use super::{base_url, store_error, to_chrono};
use crate::settings::{Settings, StorageSettings};
use crate::store::embedded::check_queue_name;
use crate::store::{QueueMessage, Queues, StoreError, StoreResult};

pub struct AzureQueues {
    service: QueueServiceClient,
}

impl AzureQueues {
    pub fn new(storage: &StorageSettings, settings: &Settings) -> anyhow::Result<Self> {
        let (client_options, _) = shared_key_options(storage);
        let (_, endpoint) = storage.endpoints();
        let service = QueueServiceClient::new(
            base_url(endpoint),
            token_credential(storage, settings)?,
            Some(QueueServiceClientOptions {
                client_options,
                ..Default::default()
            }),
        )?;
        Ok(Self { service })
    }

    fn queue(&self, queue: &str) -> StoreResult<QueueClient> {
        check_queue_name(queue)?;
        self.service.queue_client(queue).map_err(store_error)
    }
}

fn queue_missing(e: &azure_core::Error) -> bool {
    matches!(e.kind(), ErrorKind::HttpResponse { error_code: Some(c), .. } if c == "QueueNotFound")
}

/// A stale pop receipt (the message was received again, or is gone) is "not found" to callers.
fn receipt_error(e: azure_core::Error) -> StoreError {
    let stale = matches!(
        e.kind(),
        ErrorKind::HttpResponse { error_code: Some(c), .. }
            if c == "PopReceiptMismatch" || c == "MessageNotFound"
    );
    if stale {
        StoreError::NotFound
    } else {
        store_error(e)
    }
}

fn seconds(d: Duration) -> i32 {
    d.as_secs().min(i32::MAX as u64) as i32
}

#[async_trait]
impl Queues for AzureQueues {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<()> {
        let client = self.queue(queue)?;
        let send = || {
            let message = SdkMessage {
                message_text: Some(STANDARD.encode(body)),
            };
            let options = QueueClientSendMessageOptions {
                visibility_timeout: (!delay.is_zero()).then(|| seconds(delay)),
                ..Default::default()
            };
            let client = &client;
            async move {
                client
                    .send_message(message.try_into()?, Some(options))
                    .await
            }
        };
        match send().await {
            Ok(_) => Ok(()),
            // Queues are provisioned in Azure; an emulator or a fresh account starts empty.
            Err(e) if queue_missing(&e) => {
                match client.create(None).await {
                    Ok(_) => {}
                    Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 409) => {}
                    Err(e) => return Err(store_error(e)),
                }
                send().await.map(|_| ()).map_err(store_error)
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>> {
        let client = self.queue(queue)?;
        let options = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(max.clamp(1, 32) as i32),
            visibility_timeout: Some(seconds(visibility).max(1)),
            ..Default::default()
        };
        let received = match client.receive_messages(Some(options)).await {
            Ok(r) => r.into_model().map_err(store_error)?,
            Err(e) if queue_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(store_error(e)),
        };
        let now = Utc::now();
        received
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let text = m.message_text.unwrap_or_default();
                // Messages written by other tools may be plain text; take them as they are.
                let body = STANDARD
                    .decode(text.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or(text);
                Ok(QueueMessage {
                    id: m.message_id.ok_or_else(|| {
                        StoreError::Other(anyhow::anyhow!("queue message without an id"))
                    })?,
                    pop_receipt: m.pop_receipt.unwrap_or_default(),
                    body,
                    dequeue_count: m.dequeue_count.unwrap_or(1) as u32,
                    inserted_at: m.insertion_time.map(to_chrono).unwrap_or(now),
                    expires_at: m.expiration_time.map(to_chrono).unwrap_or(now),
                    next_visible_at: m.time_next_visible.map(to_chrono).unwrap_or(now),
                })
            })
            .collect()
    }

    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> StoreResult<()> {
        self.queue(queue)?
            .delete_message(id, pop_receipt, None)
            .await
            .map(|_| ())
            .map_err(receipt_error)
    }

    async fn release(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        delay: Duration,
    ) -> StoreResult<()> {
        self.queue(queue)?
            .update_message(id, pop_receipt, seconds(delay), None)
            .await
            .map(|_| ())
            .map_err(receipt_error)
    }

    /// The account answers and every queue exists: one missing is made (as a send would),
    /// and named when that fails.
    async fn ping(&self) -> StoreResult<()> {
        for name in crate::store::schema::QUEUES {
            let client = self.queue(name)?;
            match client.get_properties(None).await {
                Ok(_) => {}
                Err(e)
                    if queue_missing(&e)
                        || e.http_status().is_some_and(|s| u16::from(s) == 404) =>
                {
                    match client.create(None).await {
                        Ok(_) => {}
                        Err(e) if e.http_status().is_some_and(|s| u16::from(s) == 409) => {}
                        Err(e) => {
                            tracing::warn!("queue {name} is missing and was not made: {e}");
                            return Err(StoreError::Missing(format!("queue {name}")));
                        }
                    }
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }
}
