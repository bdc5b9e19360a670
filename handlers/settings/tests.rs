use super::*;
use std::collections::HashMap;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

/// Every setting given, with a value that parses, so every lookup the parser makes happens.
fn full_environment() -> Vec<(&'static str, &'static str)> {
    vec![
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "40123"),
        ("WEBSITE_INSTANCE_ID", "abc"),
        ("COSMOS_ENDPOINT", "https://c.documents.azure.com"),
        ("STORAGE_BLOB_ENDPOINT", "https://a.blob.core.windows.net"),
        ("STORAGE_QUEUE_ENDPOINT", "https://a.queue.core.windows.net"),
        ("KEY_VAULT_URI", "https://v.vault.azure.net"),
        ("REDIS_URL", "rediss://r:6380"),
        ("ACS_EMAIL_ENDPOINT", "https://e.communication.azure.com"),
        ("ACS_EMAIL_KEY", "a2V5"),
        ("EMAIL_SENDER", "DoNotReply@example.com"),
        (
            "WEBPUBSUB_CONNECTION_STRING",
            "Endpoint=https://w.webpubsub.azure.com;AccessKey=k;Version=1.0;",
        ),
        ("OIDC_PROVIDERS", "entra"),
        (
            "OIDC_ENTRA_ISSUER",
            "https://login.microsoftonline.com/t/v2.0",
        ),
        ("OIDC_ENTRA_CLIENT_ID", "id"),
        ("OIDC_ENTRA_CLIENT_SECRET", "secret"),
    ]
}

/// The table is exactly what the parser reads: each lookup goes through it (and would panic
/// otherwise), and between a bare environment and a full one nothing in it goes unread.
#[test]
fn the_table_lists_exactly_what_the_parser_reads() {
    let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
    for environment in [Vec::new(), full_environment()] {
        let map: HashMap<&str, &str> = environment.into_iter().collect();
        Settings::from_lookup(|k| {
            // A provider's own settings are listed once, as templates.
            let k = k.replace("_ENTRA_", "_<NAME>_");
            read.borrow_mut().insert(k.clone());
            map.get(k.replace("_<NAME>_", "_ENTRA_").as_str())
                .map(|v| v.to_string())
        })
        .unwrap();
    }
    let listed: std::collections::BTreeSet<String> =
        table::ALL.iter().map(|s| s.name.to_owned()).collect();
    assert_eq!(read.into_inner(), listed);
    assert_eq!(listed.len(), table::ALL.len(), "a name is listed twice");
}

/// Names documented for the host or other code, not read by this parser.
const READ_ELSEWHERE: &[&str] = &[
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage",
    "RUST_LOG",
];

/// Every setting in the table is in local.settings.json.example (unless the platform sets
/// it), and the example holds nothing else.
#[test]
fn the_example_file_matches_the_table() {
    let example: serde_json::Value =
        serde_json::from_str(include_str!("../../local.settings.json.example")).unwrap();
    let values = example["Values"].as_object().unwrap();
    assert_eq!(values["FUNCTIONS_WORKER_RUNTIME"], "Custom");
    // A provider's own settings (`OIDC_<NAME>_ISSUER`) exist once a name is chosen.
    for setting in table::ALL
        .iter()
        .filter(|s| !s.platform && !s.name.contains('<'))
    {
        assert!(
            values.contains_key(setting.name),
            "{} is read but not in local.settings.json.example",
            setting.name
        );
    }
    for name in values.keys() {
        assert!(
            table::find(name).is_some() || READ_ELSEWHERE.contains(&name.as_str()),
            "local.settings.json.example has {name}, which nothing reads"
        );
    }
}

/// Every setting in the table has a row in the README's settings table, and every name there
/// is read.
#[test]
fn the_readme_settings_table_matches_the_table() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Settings")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has a Settings section");
    let documented: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let first_cell = l.split('|').nth(1).unwrap_or_default();
            first_cell.split('`').skip(1).step_by(2)
        })
        .collect();
    for setting in table::ALL {
        assert!(
            documented.contains(&setting.name),
            "{} is read but has no row in README.md's settings table",
            setting.name
        );
    }
    for name in documented {
        assert!(
            table::find(name).is_some() || READ_ELSEWHERE.contains(&name),
            "README.md documents {name}, which nothing reads"
        );
    }
}

#[test]
fn in_azure_every_missing_service_is_named_at_once() {
    let err = settings(&[("WEBSITE_INSTANCE_ID", "abc"), ("REDIS_URL", "redis://r")]).unwrap_err();
    assert_eq!(err.name, "ALLOW_EMBEDDED");
    let message = err.to_string();
    for name in [
        "COSMOS_ENDPOINT",
        "STORAGE_CONNECTION_STRING",
        "KEY_VAULT_URI",
        "ACS_EMAIL_ENDPOINT",
        "WEBPUBSUB_CONNECTION_STRING",
    ] {
        assert!(message.contains(name), "{name} missing from: {message}");
    }
    assert!(!message.contains("REDIS_URL"), "{message}");
    assert!(settings(&[("WEBSITE_INSTANCE_ID", "abc"), ("ALLOW_EMBEDDED", "true")]).is_ok());
    let map: HashMap<&str, &str> = full_environment().into_iter().collect();
    assert!(Settings::from_lookup(|k| map.get(k).map(|v| v.to_string())).is_ok());
}

#[test]
fn email_and_webpubsub_are_parsed_as_groups() {
    let s = settings(&[
        ("ACS_EMAIL_ENDPOINT", "https://e.example"),
        ("ACS_EMAIL_KEY", "c2VjcmV0"),
        ("EMAIL_SENDER", "me@example.com"),
        (
            "WEBPUBSUB_CONNECTION_STRING",
            "Endpoint=http://localhost;Port=8080;AccessKey=a2V5==;Version=1.0;",
        ),
    ])
    .unwrap();
    let email = s.email.as_ref().unwrap();
    assert_eq!(
        (email.endpoint.as_str(), email.sender.as_str()),
        ("https://e.example/", "me@example.com")
    );
    let pubsub = s.webpubsub.as_ref().unwrap();
    assert_eq!(pubsub.endpoint.as_str(), "http://localhost:8080/");
    assert_eq!(pubsub.access_key.expose(), "a2V5==");
    assert_eq!(s.webpubsub_hub, "chat");
    let printed = format!("{s:?}");
    assert!(!printed.contains("c2VjcmV0") && !printed.contains("a2V5=="));
    // A sender alone configures nothing; an endpoint or key alone is refused.
    assert!(
        settings(&[("EMAIL_SENDER", "me@example.com")])
            .unwrap()
            .email
            .is_none()
    );
    let err = settings(&[("ACS_EMAIL_KEY", "k")]).unwrap_err();
    assert_eq!(err.name, "ACS_EMAIL_ENDPOINT");
    let err = settings(&[("WEBPUBSUB_CONNECTION_STRING", "Endpoint=https://w")]).unwrap_err();
    assert_eq!(err.name, "WEBPUBSUB_CONNECTION_STRING");
    let err = settings(&[("WEBPUBSUB_CONNECTION_STRING", "AccessKey=k")]).unwrap_err();
    assert_eq!(err.name, "WEBPUBSUB_CONNECTION_STRING");
}

#[test]
fn defaults_are_local_and_embedded() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.mode, RunMode::Local);
    assert_eq!(s.port, 7071);
    assert!(s.cosmos.is_none() && s.storage.is_none() && s.redis_url.is_none());
    assert_eq!(s.public_base_url, None);
}

#[test]
fn host_port_selects_host_mode() {
    let s = settings(&[("FUNCTIONS_CUSTOMHANDLER_PORT", "40123"), ("PORT", "1")]).unwrap();
    assert_eq!((s.mode, s.port), (RunMode::Host, 40123));
}

#[test]
fn bad_value_names_the_setting() {
    let err = settings(&[("TRUSTED_PROXY_HOPS", "many")]).unwrap_err();
    assert_eq!(err.name, "TRUSTED_PROXY_HOPS");
    let err = settings(&[("REDIS_URL", "http://x")]).unwrap_err();
    assert_eq!(err.name, "REDIS_URL");
    let err =
        settings(&[("STORAGE_BLOB_ENDPOINT", "https://a.blob.core.windows.net")]).unwrap_err();
    assert_eq!(err.name, "STORAGE_QUEUE_ENDPOINT");
}

#[test]
fn connection_string_keeps_base64_padding_and_never_prints_the_key() {
    let s = settings(&[(
        "STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=abc==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;",
    )])
    .unwrap();
    let Some(StorageSettings::SharedKey {
        account,
        key,
        blob_endpoint,
        ..
    }) = &s.storage
    else {
        panic!("expected shared key storage");
    };
    assert_eq!(account, "devstoreaccount1");
    assert_eq!(key.expose(), "abc==");
    assert_eq!(
        blob_endpoint.as_str(),
        "http://127.0.0.1:10000/devstoreaccount1"
    );
    assert!(!format!("{s:?}").contains("abc=="));
}

#[test]
fn connection_string_without_endpoints_derives_them() {
    let s = settings(&[(
        "STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k;EndpointSuffix=core.windows.net",
    )])
    .unwrap();
    let Some(StorageSettings::SharedKey { queue_endpoint, .. }) = &s.storage else {
        panic!("expected shared key storage");
    };
    assert_eq!(
        queue_endpoint.as_str(),
        "https://acct.queue.core.windows.net/"
    );
}
