//! The Azure Functions custom-handler invocation protocol (DESIGN.md section 6): the request
//! the host POSTs to `/<FunctionName>` and the reply it expects.
//!
//! The host is loose with types: strings, numbers and arrays arrive as JSON text inside a JSON
//! string, bytes as base64, objects as objects, and Metadata key casing varies. Everything that
//! reads a value goes through [`decode`] and [`Invocation::meta`] so no caller has to remember.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body the host POSTs for a non-HTTP function.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct InvocationRequest {
    #[serde(rename = "Data", alias = "data", default)]
    pub data: Map<String, Value>,
    #[serde(rename = "Metadata", alias = "metadata", default)]
    pub metadata: Map<String, Value>,
}

/// What the handler answers: output bindings, log lines for the host, and the return value
/// (the reply of blocking Web PubSub events).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InvocationReply {
    #[serde(rename = "Outputs")]
    pub outputs: Map<String, Value>,
    #[serde(rename = "Logs")]
    pub logs: Vec<String>,
    #[serde(rename = "ReturnValue")]
    pub return_value: Value,
}

impl Default for InvocationReply {
    fn default() -> Self {
        Self {
            outputs: Map::new(),
            logs: Vec::new(),
            return_value: Value::Null,
        }
    }
}

impl InvocationReply {
    /// Adds a line to the reply's `Logs` and to this process's log.
    pub fn log(&mut self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!("{line}");
        self.logs.push(line);
    }
}

/// Undoes the host's double encoding: a string holding JSON text becomes that JSON value
/// (`"\"hello\""` -> `"hello"`, `"1"` -> `1`); anything else is returned as it is.
pub fn decode(value: &Value) -> Value {
    match value {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// Bytes of a binding declared with `dataType: binary`: base64 text, possibly double-encoded.
pub fn decode_bytes(value: &Value) -> Option<Vec<u8>> {
    let text = match decode(value) {
        Value::String(s) => s,
        _ => return None,
    };
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// One invocation of a registered trigger function, with the name of its trigger binding
/// taken from the function's own function.json.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: String,
    pub trigger_binding: Option<String>,
    pub request: InvocationRequest,
}

impl Invocation {
    /// The trigger's value, decoded. When the binding name is unknown or absent and Data holds
    /// exactly one value, that one is the trigger (timer payloads carry nothing else).
    pub fn trigger_value(&self) -> Option<Value> {
        let data = &self.request.data;
        let by_name = self
            .trigger_binding
            .as_deref()
            .and_then(|name| get_ignore_case(data, name));
        by_name
            .or_else(|| (data.len() == 1).then(|| data.values().next()).flatten())
            .map(decode)
    }

    /// A Metadata value by case-insensitive key, decoded.
    pub fn meta(&self, key: &str) -> Option<Value> {
        get_ignore_case(&self.request.metadata, key).map(decode)
    }

    /// A Metadata value as text (`Id`, `PopReceipt`...).
    pub fn meta_str(&self, key: &str) -> Option<String> {
        match self.meta(key)? {
            Value::String(s) => Some(s),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A Metadata value as a whole number (`DequeueCount` arrives as `"1"` or `1`).
    pub fn meta_u64(&self, key: &str) -> Option<u64> {
        match self.meta(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn get_ignore_case<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The timer trigger's payload.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct TimerInfo {
    #[serde(rename = "Schedule", default)]
    pub schedule: Value,
    #[serde(rename = "ScheduleStatus", default)]
    pub schedule_status: Option<ScheduleStatus>,
    #[serde(rename = "IsPastDue", default)]
    pub is_past_due: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ScheduleStatus {
    #[serde(rename = "Last")]
    pub last: Option<String>,
    #[serde(rename = "Next")]
    pub next: Option<String>,
    #[serde(rename = "LastUpdated")]
    pub last_updated: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn fixture(name: &str) -> InvocationRequest {
        // The captured payloads live beside the repo in shared/; read them where they are.
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/functions-host")
            .join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        serde_json::from_str(&text).expect("fixture parses as an invocation request")
    }

    fn invocation(request: InvocationRequest, binding: &str) -> Invocation {
        Invocation {
            function: "f".into(),
            trigger_binding: Some(binding.into()),
            request,
        }
    }

    #[test]
    fn every_fixture_parses() {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/functions-host");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let request = fixture(&name);
                assert!(!request.data.is_empty(), "{name} has Data");
                assert!(!request.metadata.is_empty(), "{name} has Metadata");
                seen += 1;
            }
        }
        assert!(seen >= 4, "expected the four captured payloads, saw {seen}");
    }

    #[test]
    fn queue_message_and_metadata_are_unwrapped() {
        let inv = invocation(fixture("queue-string.json"), "inMsg");
        assert_eq!(inv.trigger_value(), Some(json!("aaaaa")));
        assert_eq!(inv.meta_u64("dequeuecount"), Some(1));
        assert_eq!(
            inv.meta_str("ID").as_deref(),
            Some("a0004923-f050-417a-9742-6d7c7b984134")
        );
        assert_eq!(
            inv.meta_str("PopReceipt").as_deref(),
            Some("AgAAAAMAAAAAAAAA8d5gQex+2AE=")
        );
        assert_eq!(
            inv.meta_str("InsertionTime").as_deref(),
            Some("2022-06-13T06:00:06+00:00")
        );
    }

    #[test]
    fn timer_payload_with_null_status() {
        let inv = invocation(fixture("timer.json"), "timer");
        // The binding is named inMsg in the capture: the sole Data value is still the trigger.
        let timer: TimerInfo = serde_json::from_value(inv.trigger_value().unwrap()).unwrap();
        assert!(!timer.is_past_due);
        assert_eq!(timer.schedule_status, None);
        assert_eq!(timer.schedule["AdjustForDST"], json!(true));
        assert_eq!(inv.meta("sys").unwrap()["MethodName"], "timer");
    }

    #[test]
    fn blob_bytes_are_base64() {
        let inv = invocation(fixture("blob-trigger.json"), "blobIn");
        let bytes = decode_bytes(&inv.request.data["blobIn"]).unwrap();
        assert_eq!(bytes, b"hello from byte\n");
        assert_eq!(inv.meta_str("name").as_deref(), Some("hello.txt"));
        assert_eq!(inv.meta("Properties").unwrap()["Length"], 16);
        assert_eq!(
            inv.meta_str("uri").as_deref(),
            Some("https://baldevgroup84df.blob.core.windows.net/bpath1/hello.txt")
        );
    }

    #[test]
    fn non_forwarded_http_request_object() {
        let inv = invocation(fixture("http-trigger-not-forwarded.json"), "httpPayload");
        let req = inv.trigger_value().unwrap();
        assert_eq!(req["Method"], "POST");
        assert_eq!(
            req["Headers"]["X-Forwarded-For"],
            json!(["112.134.130.212:18792"])
        );
        assert_eq!(req["Body"], "Jack");
        assert_eq!(
            inv.meta("headers").unwrap()["X-Forwarded-For"],
            "112.134.130.212:18792"
        );
        assert_eq!(inv.meta_str("name").as_deref(), Some("test1"));
    }

    #[test]
    fn plain_text_is_not_mangled() {
        assert_eq!(decode(&json!("not json")), json!("not json"));
        assert_eq!(decode(&json!("1")), json!(1));
        assert_eq!(decode(&json!({"a": 1})), json!({"a": 1}));
    }
}
