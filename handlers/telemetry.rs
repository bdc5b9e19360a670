//! Logs and telemetry.
//!
//! Logs: human-readable text locally, JSON lines in Azure (`LOG_FORMAT`), filtered by
//! `RUST_LOG` (default `info`); every line inside a request carries its span's request id,
//! invocation id and traceparent.
//!
//! Telemetry: when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set, tracing spans go to
//! Application Insights through OpenTelemetry: the request span (`otel.kind = server`) becomes a
//! request, the spans made by [`dependency`] become dependency calls, and the counters of
//! [`metrics`] become custom metrics (the alert rules in docs/operations.md read them). Without
//! it, nothing is exported and the counters cost a no-op call.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::metrics::Counter;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, Secret, Settings};

/// Flushes and stops the exporters when dropped; `main` keeps it until the process ends.
#[must_use = "telemetry stops when the guard is dropped"]
pub struct Telemetry {
    providers: Option<(SdkTracerProvider, SdkMeterProvider)>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some((traces, metrics)) = self.providers.take() {
            let _ = traces.shutdown();
            let _ = metrics.shutdown();
        }
    }
}

fn providers(
    connection_string: &Secret,
    metric_interval: Duration,
) -> anyhow::Result<(SdkTracerProvider, SdkMeterProvider)> {
    let exporter = opentelemetry_application_insights::Exporter::new_from_connection_string(
        connection_string.expose(),
        LazyClient::default(),
    )
    .map_err(|e| anyhow::anyhow!("APPLICATIONINSIGHTS_CONNECTION_STRING: {e}"))?;
    let resource = Resource::builder()
        .with_service_name("portal-api")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let traces = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(exporter.clone())
        .build();
    let metrics = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(metric_interval)
                .build(),
        )
        .build();
    Ok((traces, metrics))
}

/// The exporters' HTTP client, built on their first export rather than at start-up (a TLS client
/// loads the system's roots: milliseconds every cold start would pay). The SDK's batch
/// processor and periodic reader export from threads of their own, outside the async runtime,
/// so reqwest's blocking client is the one that fits.
#[derive(Debug, Default, Clone)]
struct LazyClient(std::sync::Arc<OnceLock<reqwest::blocking::Client>>);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for LazyClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = match self.0.get() {
            Some(client) => client,
            None => {
                let built = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()?;
                self.0.get_or_init(|| built)
            }
        };
        client.send_bytes(request).await
    }
}

/// Installs the log subscriber and, given a connection string, the exporters. A bad connection
/// string is reported and telemetry stays off: losing telemetry must not stop the API.
pub fn init(settings: &Settings) -> Telemetry {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,azure_core=warn,hyper=warn"))
    };
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = match settings.log_format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let exporters = settings
        .app_insights_connection_string
        .as_ref()
        .map(|cs| providers(cs, settings.metric_export_interval));
    let (providers, problem) = match exporters {
        None => (None, None),
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
    };
    let otel = providers.as_ref().map(|(traces, metrics)| {
        global::set_meter_provider(metrics.clone());
        global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer()
            .with_tracer(traces.tracer("portal-api"))
            .with_filter(filter())
    });
    // try_init: a second call (tests, benches) keeps the first subscriber instead of panicking.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter()))
        .with(otel)
        .try_init();
    if let Some(e) = problem {
        tracing::error!("telemetry is off: {e:#}");
    }
    Telemetry { providers }
}

/// Links the request span to the caller's trace (the Functions host sends `traceparent`), so
/// Application Insights shows the host's invocation and the handler's work as one operation.
pub fn adopt_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    struct Headers<'a>(&'a http::HeaderMap);
    impl opentelemetry::propagation::Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    let parent = global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
    let _ = span.set_parent(parent);
}

/// A dependency call (Cosmos DB, Blob, Queue, Key Vault, Redis, Web PubSub, email): a client
/// span whose `kind` becomes the dependency type in Application Insights (the exporter maps
/// `rpc.system.name` to it) and `target` its target. [`record_status`] adds the answer.
pub fn dependency(kind: &'static str, name: &str, target: &str) -> tracing::Span {
    tracing::info_span!(
        "dependency",
        otel.kind = "client",
        otel.name = name,
        otel.status_code = tracing::field::Empty,
        rpc.system.name = kind,
        server.address = target,
        http.response.status_code = tracing::field::Empty,
    )
}

/// Records a dependency's answer on the current span (a no-op outside a dependency span).
pub fn record_status(status: u16) {
    let span = tracing::Span::current();
    span.record("http.response.status_code", status);
    if status >= 400 {
        span.record("otel.status_code", "error");
    }
}

/// The custom metrics behind the seed's alerts.
pub struct Metrics {
    /// Failed sign-ins (wrong password, locked account, unknown email).
    pub auth_failures: Counter<u64>,
    /// Requests answered 429 by the rate limiter.
    pub throttled: Counter<u64>,
    /// Queue messages that failed their last attempt and went to the `-poison` queue.
    pub queue_poison: Counter<u64>,
}

/// The counters, made on first use (after `init` set the meter provider).
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = global::meter("portal-api");
        Metrics {
            auth_failures: meter.u64_counter("auth.failures").build(),
            throttled: meter.u64_counter("http.throttled").build(),
            queue_poison: meter.u64_counter("queue.poison").build(),
        }
    })
}
