//! The shared state every handler and function reaches, and how it is built from settings.
//! It sits below the domains: it holds their services (signing keys, realtime delivery, email)
//! but none of their routes; `router.rs` composes those.

use std::sync::Arc;

use crate::email::Delivery;
use crate::host::Catalog;
use crate::settings::Settings;
use crate::store::Stores;
use crate::store::embedded::FolderBlobs;

/// What every handler can reach: one `Arc`, so the clones axum makes of it for every request
/// and middleware (several a request) are one atomic increment, not one per service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub stores: Stores,
    pub functions: Arc<Catalog>,
    /// The embedded blob store, when blobs are local: it serves its own signed URLs.
    pub dev_blobs: Option<Arc<FolderBlobs>>,
    /// Where the outbox delivers.
    pub email: Delivery,
    /// Signing keys and password hashing.
    pub auth: Arc<crate::auth::Auth>,
    /// Realtime delivery: Azure Web PubSub, or the local hub.
    pub realtime: crate::chat::realtime::Realtime,
    /// `/api/readyz`'s last probe, shared by its callers for a few seconds.
    pub readiness: Arc<crate::health::ReadinessCache>,
}

impl AppState {
    /// Every client and store, from settings; reads local files only.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let functions = Catalog::load(&settings.script_root)?;
        let (stores, dev_blobs) = Stores::from_settings(&settings)?;
        for (name, backend) in stores.backends.all() {
            tracing::info!(dependency = name, backend = ?backend, "{name}: {}", stores.describe(name));
        }
        // Settings already refused local stand-ins in Azure unless ALLOW_EMBEDDED=true.
        let email = Delivery::from_settings(&settings)?;
        tracing::info!(dependency = "email", "email: {}", email.describe());
        let auth = crate::auth::Auth::new(&settings, &stores)?;
        let realtime = crate::chat::realtime::Realtime::from_settings(&settings)?;
        tracing::info!(dependency = "realtime", "realtime: {}", realtime.describe());
        Ok(AppState(Arc::new(Services {
            settings: Arc::new(settings),
            stores,
            functions: Arc::new(functions),
            dev_blobs,
            email,
            auth,
            realtime,
            readiness: Arc::default(),
        })))
    }

    /// This API's public base URL without a trailing `/`, or "" when unset, so the links the
    /// API hands out (share links, media URLs) are absolute where the deployment says where.
    pub fn api_base(&self) -> &str {
        self.settings
            .public_base_url
            .as_ref()
            .map_or("", |base| base.as_str().trim_end_matches('/'))
    }

    /// The same services under other settings (tests of a setting's effect).
    pub fn with_settings(&self, settings: Settings) -> AppState {
        let mut services = (*self.0).clone();
        services.settings = Arc::new(settings);
        AppState(Arc::new(services))
    }

    /// The services to change, while nothing else holds the state yet (before serving).
    pub(crate) fn services_mut(&mut self) -> Option<&mut Services> {
        Arc::get_mut(&mut self.0)
    }
}
