//! An in-process cache with Redis semantics for the few commands the app uses. Good for one
//! instance; a scaled-out app uses Redis so that limits and blacklists hold across instances.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::store::{Cache, StoreError, StoreResult};

enum Val {
    Str(String),
    Set(BTreeSet<String>),
}

struct Entry {
    val: Val,
    expires: Option<Instant>,
}

#[derive(Default)]
pub struct MemoryCache {
    map: Mutex<HashMap<String, Entry>>,
}

fn wrong_type(key: &str) -> StoreError {
    StoreError::bug(format!("cache key '{key}' holds another type"))
}

impl MemoryCache {
    /// Runs `f` on the live entry map, expired entries of `key` removed first.
    fn with<T>(&self, key: &str, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map
            .get(key)
            .is_some_and(|e| e.expires.is_some_and(|t| t <= Instant::now()))
        {
            map.remove(key);
        }
        f(&mut map)
    }
}

fn expiry(ttl: Duration) -> Option<Instant> {
    (!ttl.is_zero()).then(|| Instant::now() + ttl)
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        self.with(key, |m| match m.get(key) {
            None => Ok(None),
            Some(Entry {
                val: Val::Str(s), ..
            }) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(key)),
        })
    }

    async fn get_many(&self, keys: &[&str]) -> StoreResult<Vec<Option<String>>> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        self.with(key, |m| {
            m.insert(
                key.to_owned(),
                Entry {
                    val: Val::Str(value.to_owned()),
                    expires: expiry(ttl),
                },
            );
        });
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        Ok(self.with(key, |m| {
            if m.contains_key(key) {
                return false;
            }
            m.insert(
                key.to_owned(),
                Entry {
                    val: Val::Str(value.to_owned()),
                    expires: expiry(ttl),
                },
            );
            true
        }))
    }

    async fn del(&self, key: &str) -> StoreResult<()> {
        self.with(key, |m| m.remove(key));
        Ok(())
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        Ok(self.with(key, |m| m.contains_key(key)))
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> StoreResult<i64> {
        self.with(key, |m| {
            let entry = m.entry(key.to_owned()).or_insert_with(|| Entry {
                val: Val::Str("0".into()),
                expires: expiry(ttl),
            });
            let Val::Str(s) = &mut entry.val else {
                return Err(wrong_type(key));
            };
            let n: i64 = s
                .parse()
                .map_err(|_| StoreError::bug(format!("cache key '{key}' is not a number")))?;
            let next = n + by;
            *s = next.to_string();
            Ok(next)
        })
    }

    async fn ttl(&self, key: &str) -> StoreResult<Option<Duration>> {
        Ok(self.with(key, |m| {
            m.get(key)
                .and_then(|e| e.expires)
                .map(|t| t.saturating_duration_since(Instant::now()))
        }))
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        self.with(key, |m| {
            let entry = m.entry(key.to_owned()).or_insert_with(|| Entry {
                val: Val::Set(BTreeSet::new()),
                expires: None,
            });
            let Val::Set(set) = &mut entry.val else {
                return Err(wrong_type(key));
            };
            set.insert(member.to_owned());
            entry.expires = expiry(ttl);
            Ok(())
        })
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        self.with(key, |m| {
            if let Some(Entry {
                val: Val::Set(set), ..
            }) = m.get_mut(key)
            {
                set.remove(member);
                if set.is_empty() {
                    m.remove(key);
                }
            }
        });
        Ok(())
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        self.with(key, |m| match m.get(key) {
            None => Ok(Vec::new()),
            Some(Entry {
                val: Val::Set(set), ..
            }) => Ok(set.iter().cloned().collect()),
            Some(_) => Err(wrong_type(key)),
        })
    }

    async fn purge_expired(&self) -> StoreResult<u64> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let before = map.len();
        let now = Instant::now();
        map.retain(|_, e| e.expires.is_none_or(|t| t > now));
        Ok((before - map.len()) as u64)
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
