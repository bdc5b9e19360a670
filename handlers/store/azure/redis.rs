//! Redis (Azure Cache for Redis in Azure) through the `redis` crate's connection manager, which
//! reconnects by itself. The connection is opened on first use, never at start-up.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ExistenceCheck, SetExpiry, SetOptions};
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::store::{Cache, StoreError, StoreResult};

pub struct RedisCache {
    client: redis::Client,
    /// `host:port`, the dependency target in telemetry (never the password).
    host: String,
    connection: OnceCell<ConnectionManager>,
    /// Both the connect and the response timeout of the connection manager.
    deadline: Duration,
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_connection_refusal()
        {
            StoreError::Unavailable(e.into())
        } else {
            StoreError::Other(e.into())
        }
    }
}

/// Whole milliseconds, at least 1: Redis refuses an expiry of 0.
fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

impl RedisCache {
    /// Parses the URL only (`redis://` or `rediss://` for TLS).
    pub fn new(url: &str, deadline: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        Ok(Self {
            host: client.get_connection_info().addr().to_string(),
            client,
            connection: OnceCell::new(),
            deadline,
        })
    }

    /// Runs one command inside a dependency span (Application Insights type "redis").
    async fn traced<T>(
        &self,
        command: &str,
        call: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let span = crate::telemetry::dependency("redis", command, &self.host);
        let result = call.instrument(span.clone()).await;
        if result.is_err() {
            span.record("otel.status_code", "error");
        }
        result
    }

    async fn conn(&self) -> StoreResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| async {
                // The default policy retries a lost connection six times with backoff (about
                // 9.5 s a call while Redis is down): one quick attempt a call fails fast, and
                // the breaker in front of this store stops calls altogether.
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(1)
                    .set_connection_timeout(Some(self.deadline))
                    .set_response_timeout(Some(self.deadline));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(StoreError::from)
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        self.traced("get", async move { Ok(self.conn().await?.get(key).await?) })
            .await
    }

    async fn get_many(&self, keys: &[&str]) -> StoreResult<Vec<Option<String>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.traced("mget", async move {
            // `mget` with one key would answer a bare value, not a list: always ask by command.
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(keys)
                .query_async(&mut self.conn().await?)
                .await?;
            Ok(values)
        })
        .await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        self.traced("set", async move {
            let mut conn = self.conn().await?;
            if ttl.is_zero() {
                let () = conn.set(key, value).await?;
            } else {
                let () = conn.pset_ex(key, value, millis(ttl)).await?;
            }
            Ok(())
        })
        .await
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        self.traced("set_nx", async move {
            let mut options = SetOptions::default().conditional_set(ExistenceCheck::NX);
            if !ttl.is_zero() {
                options = options.with_expiration(SetExpiry::PX(millis(ttl)));
            }
            let reply: Option<String> = self.conn().await?.set_options(key, value, options).await?;
            Ok(reply.is_some())
        })
        .await
    }

    async fn del(&self, key: &str) -> StoreResult<()> {
        self.traced("del", async move {
            let _: i64 = self.conn().await?.del(key).await?;
            Ok(())
        })
        .await
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        self.traced("exists", async move {
            Ok(self.conn().await?.exists(key).await?)
        })
        .await
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> StoreResult<i64> {
        self.traced("incr", async move {
            // One atomic round trip: create the window with its expiry if absent, then add.
            let mut pipe = redis::pipe();
            let create = pipe.atomic().cmd("SET").arg(key).arg(0).arg("NX");
            if !ttl.is_zero() {
                create.arg("PX").arg(millis(ttl));
            }
            create.ignore().incr(key, by);
            let (value,): (i64,) = pipe.query_async(&mut self.conn().await?).await?;
            Ok(value)
        })
        .await
    }

    async fn ttl(&self, key: &str) -> StoreResult<Option<Duration>> {
        self.traced("ttl", async move {
            let ms: i64 = self.conn().await?.pttl(key).await?;
            Ok((ms >= 0).then(|| Duration::from_millis(ms as u64)))
        })
        .await
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        self.traced("set_add", async move {
            let mut pipe = redis::pipe();
            pipe.atomic().sadd(key, member).ignore();
            if ttl.is_zero() {
                pipe.persist(key).ignore();
            } else {
                pipe.pexpire(key, millis(ttl) as i64).ignore();
            }
            let () = pipe.query_async(&mut self.conn().await?).await?;
            Ok(())
        })
        .await
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        self.traced("set_remove", async move {
            let _: i64 = self.conn().await?.srem(key, member).await?;
            Ok(())
        })
        .await
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        self.traced("set_members", async move {
            let mut members: Vec<String> = self.conn().await?.smembers(key).await?;
            members.sort();
            Ok(members)
        })
        .await
    }

    async fn purge_expired(&self) -> StoreResult<u64> {
        Ok(0)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.traced("ping", async move {
            let _: String = redis::cmd("PING")
                .query_async(&mut self.conn().await?)
                .await?;
            Ok(())
        })
        .await
    }
}
