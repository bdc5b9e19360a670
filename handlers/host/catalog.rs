//! The function catalog: `host.json` and every `function.json`, read from disk once at start-up.
//!
//! In the repository the functions live under `functions/<Name>/`; in the deployed package the
//! Functions host wants them at the root as `<Name>/function.json`. Both layouts are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Binding types the handler knows how to receive (triggers) or fill (outputs).
pub const KNOWN_BINDING_TYPES: &[&str] = &[
    "httpTrigger",
    "http",
    "timerTrigger",
    "queueTrigger",
    "queue",
    "webPubSubTrigger",
    "webPubSub",
];

/// One binding of a function.json; the fields a trigger type does not use stay `None`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub direction: String,
    #[serde(default)]
    pub name: String,
    pub route: Option<String>,
    pub methods: Option<Vec<String>>,
    pub auth_level: Option<String>,
    pub schedule: Option<String>,
    pub queue_name: Option<String>,
    pub connection: Option<String>,
    pub data_type: Option<String>,
    pub hub: Option<String>,
    pub event_name: Option<String>,
    pub event_type: Option<String>,
    pub run_on_startup: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FunctionJson {
    pub bindings: Vec<Binding>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    pub name: String,
    pub json: FunctionJson,
}

impl FunctionDef {
    /// The one input binding whose type ends in `Trigger`.
    pub fn trigger(&self) -> Option<&Binding> {
        self.json
            .bindings
            .iter()
            .find(|b| b.direction == "in" && b.kind.ends_with("Trigger"))
    }

    /// Forwarded HTTP: exactly one `httpTrigger` in and one `http` out (the host's rule).
    pub fn is_http(&self) -> bool {
        let triggers = self
            .json
            .bindings
            .iter()
            .filter(|b| b.kind == "httpTrigger")
            .count();
        let outs = self
            .json
            .bindings
            .iter()
            .filter(|b| b.kind == "http")
            .count();
        triggers == 1 && outs == 1
    }
}

/// The queue settings of host.json that the dev host imitates.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueOptions {
    pub max_dequeue_count: u32,
    pub visibility_timeout: Duration,
    pub batch_size: u32,
    pub max_polling_interval: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            max_dequeue_count: 5,
            visibility_timeout: Duration::ZERO,
            batch_size: 16,
            max_polling_interval: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub functions: BTreeMap<String, FunctionDef>,
    pub queues: QueueOptions,
    /// host.json `functionTimeout`: how long one invocation may run.
    pub function_timeout: Duration,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            functions: BTreeMap::new(),
            queues: QueueOptions::default(),
            // The Consumption plan's default.
            function_timeout: Duration::from_secs(300),
        }
    }
}

impl Catalog {
    /// Reads the catalog under `root`. Missing files give an empty catalog (the handler still
    /// serves HTTP); a file that exists but does not parse is an error naming it.
    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let mut catalog = Catalog::default();
        let host_path = root.join("host.json");
        if host_path.exists() {
            let host: Value = read_json(&host_path)?;
            catalog.queues = queue_options(&host);
            if let Some(t) = host["functionTimeout"].as_str().and_then(parse_timespan) {
                catalog.function_timeout = t;
            }
        }
        let folders: Vec<PathBuf> = [root.join("functions"), root.to_owned()]
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        for folder in folders {
            for entry in std::fs::read_dir(&folder)? {
                let dir = entry?.path();
                let file = dir.join("function.json");
                if !file.is_file() {
                    continue;
                }
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let json: FunctionJson = read_json(&file)?;
                catalog
                    .functions
                    .entry(name.clone())
                    .or_insert(FunctionDef { name, json });
            }
        }
        Ok(catalog)
    }

    /// Function names are folder names; the host sends them as they are, but a lookup that
    /// ignores case costs nothing and survives a renamed folder on a case-insensitive disk.
    pub fn get(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.get(name).or_else(|| {
            self.functions
                .values()
                .find(|f| f.name.eq_ignore_ascii_case(name))
        })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn queue_options(host: &Value) -> QueueOptions {
    let q = &host["extensions"]["queues"];
    let mut options = QueueOptions::default();
    if let Some(n) = q["maxDequeueCount"].as_u64() {
        options.max_dequeue_count = n as u32;
    }
    if let Some(n) = q["batchSize"].as_u64() {
        options.batch_size = n as u32;
    }
    if let Some(d) = q["visibilityTimeout"].as_str().and_then(parse_timespan) {
        options.visibility_timeout = d;
    }
    if let Some(d) = q["maxPollingInterval"].as_str().and_then(parse_timespan) {
        options.max_polling_interval = d;
    }
    options
}

/// host.json durations are .NET TimeSpans: `hh:mm:ss` (with optional `d.` and fraction).
pub fn parse_timespan(s: &str) -> Option<Duration> {
    let (days, rest) = match s.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let secs: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(Duration::from_secs_f64(
        (days * 86400 + h * 3600 + m * 60) as f64 + secs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("00:00:30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_timespan("00:10:00"), Some(Duration::from_secs(600)));
        assert_eq!(
            parse_timespan("1.02:00:00"),
            Some(Duration::from_secs(93600))
        );
        assert_eq!(parse_timespan("nope"), None);
    }

    #[test]
    fn the_repository_catalog_loads() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let catalog = Catalog::load(&root).unwrap();
        assert_eq!(catalog.queues.max_dequeue_count, 5);
        assert_eq!(catalog.function_timeout, Duration::from_secs(600));
        let cleanup = catalog.get("CLEANUP").expect("cleanup function");
        assert_eq!(cleanup.trigger().unwrap().kind, "timerTrigger");
        assert!(catalog.get("healthz").unwrap().is_http());
    }
}
