//! A secrets store that wraps the app's real one (the file store, or the Key Vault fake) and
//! can be told to fail, counting what reaches it: how tests see how often the app calls its
//! vault, and what it does when the vault is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use portal_api::store::{SecretVersion, Secrets, StoreError, StoreResult, Stores};

use crate::helpers::StoreChange;

/// The test's handle on the wrapper.
#[derive(Default)]
pub struct Switch {
    failing: AtomicBool,
    pings: AtomicUsize,
    reads: AtomicUsize,
}

impl Switch {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
    pub fn pings(&self) -> usize {
        self.pings.load(Ordering::SeqCst)
    }
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
    fn check(&self) -> StoreResult<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(anyhow::anyhow!(
                "the vault is down (test)"
            )));
        }
        Ok(())
    }
}

struct Flaky {
    inner: Arc<dyn Secrets>,
    switch: Arc<Switch>,
}

#[async_trait::async_trait]
impl Secrets for Flaky {
    async fn versions(&self, name: &str) -> StoreResult<Vec<SecretVersion>> {
        self.switch.reads.fetch_add(1, Ordering::SeqCst);
        self.switch.check()?;
        self.inner.versions(name).await
    }
    async fn set(&self, name: &str, value: &str) -> StoreResult<SecretVersion> {
        self.switch.check()?;
        self.inner.set(name, value).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.switch.pings.fetch_add(1, Ordering::SeqCst);
        self.switch.check()?;
        self.inner.ping().await
    }
}

/// Wraps the app's secrets store; `switch` controls and observes it.
pub fn flaky_secrets(switch: Arc<Switch>) -> StoreChange {
    Box::new(move |stores: &mut Stores| {
        stores.secrets = Arc::new(Flaky {
            inner: stores.secrets.clone(),
            switch,
        });
    })
}
