//! Keeps infra/ honest without the Bicep compiler: the settings the handler reads, the storage
//! layout of the code, the connections the function.json files name, the wiring of the Bicep
//! modules, and the CI workflow are checked against each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use portal_api::store::schema;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = repo().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Bicep text with comments removed and string contents kept, so brackets inside strings and
/// comments do not count.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut in_string = false;
            let bytes = line.as_bytes();
            for i in 0..bytes.len() {
                match bytes[i] {
                    b'\'' => in_string = !in_string,
                    b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
                    _ => {}
                }
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text inside the first bracket pair (`{...}` or `[...]`) that follows `marker`.
fn block_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("'{marker}' not found"));
    let rest = &text[at + marker.len()..];
    let open = rest.find(['{', '[']).expect("an opening bracket");
    let mut depth = 0;
    let mut in_string = false;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '\'' => in_string = !in_string,
            '{' | '[' if !in_string => depth += 1,
            '}' | ']' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return &rest[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced brackets after '{marker}'")
}

/// `key: value` entries at the top level of a block.
fn top_level_entries(block: &str) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let mut depth = 0;
    let mut in_string = false;
    for line in block.lines() {
        if depth == 0
            && let Some((key, value)) = line.split_once(':')
        {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                entries.insert(key.to_owned(), value.trim().to_owned());
            }
        }
        for c in line.chars() {
            match c {
                '\'' => in_string = !in_string,
                '{' | '[' | '(' if !in_string => depth += 1,
                '}' | ']' | ')' if !in_string => depth -= 1,
                _ => {}
            }
        }
    }
    entries
}

/// The quoted strings of a block (`['a', 'b']`).
fn strings(block: &str) -> Vec<String> {
    block
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn main_bicep() -> String {
    strip_comments(&read("infra/main.bicep"))
}

fn app_settings() -> BTreeMap<String, String> {
    top_level_entries(block_after(&main_bicep(), "var appSettings ="))
}

/// Settings the Functions platform sets by itself, or that only make sense on a workstation.
const NOT_FOR_AZURE: &[&str] = &[
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage",
    "PORT",
    "DATA_DIR",
    "SCRIPT_ROOT",
];

#[test]
fn every_setting_the_handler_reads_is_provisioned_or_documented_as_optional() {
    let example: Value = serde_json::from_str(&read("local.settings.json.example")).unwrap();
    let known: BTreeSet<String> = example["Values"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let provisioned = app_settings();
    let readme = read("infra/README.md");
    let optional = readme
        .split("## Optional settings")
        .nth(1)
        .expect("infra/README.md has an 'Optional settings' section");
    for name in &known {
        if NOT_FOR_AZURE.contains(&name.as_str()) || provisioned.contains_key(name) {
            continue;
        }
        assert!(
            optional.contains(&format!("`{name}`")),
            "{name} is read by the handler but neither set in infra/main.bicep nor listed under \
             'Optional settings' in infra/README.md"
        );
    }
    // And nothing is provisioned that the handler or the host would not read (a typo there
    // would silently leave the real setting at its default).
    for name in provisioned.keys() {
        let for_the_host = name.contains("__") || name.starts_with("APPLICATIONINSIGHTS_");
        assert!(
            for_the_host || known.contains(name),
            "infra/main.bicep sets {name}, which nothing reads"
        );
    }
    // Secrets come from Key Vault references, never as plain values.
    for secret in ["REDIS_URL", "WEBPUBSUB_CONNECTION_STRING", "ACS_EMAIL_KEY"] {
        assert!(
            provisioned[secret].starts_with("kvRef("),
            "{secret} must be a Key Vault reference, is {}",
            provisioned[secret]
        );
    }
    for keyed in ["COSMOS_KEY", "STORAGE_CONNECTION_STRING"] {
        assert!(
            !provisioned.contains_key(keyed),
            "{keyed}: Azure uses the managed identity"
        );
    }
}

#[test]
fn every_container_queue_and_blob_container_is_provisioned_as_the_code_expects() {
    let main = main_bicep();
    let containers: Vec<(String, String, bool)> = block_after(&main, "var cosmosContainers =")
        .lines()
        .filter(|l| l.contains("name:"))
        .map(|l| {
            let entries: BTreeMap<&str, &str> = l
                .trim()
                .trim_matches(['{', '}'])
                .split(',')
                .filter_map(|kv| kv.split_once(':'))
                .map(|(k, v)| (k.trim(), v.trim().trim_matches('\'')))
                .collect();
            (
                entries["name"].to_owned(),
                entries["partitionKey"].to_owned(),
                entries["ttl"] == "true",
            )
        })
        .collect();
    let expected: Vec<(String, String, bool)> = schema::CONTAINERS
        .iter()
        .map(|c| (c.name.to_owned(), c.partition_key.to_owned(), c.ttl))
        .collect();
    assert_eq!(
        containers, expected,
        "Cosmos containers (name, partition key, ttl)"
    );
    assert_eq!(
        strings(block_after(&main, "var blobContainers =")),
        schema::BLOB_CONTAINERS
    );
    assert_eq!(strings(block_after(&main, "var queues =")), schema::QUEUES);

    // The module makes each queue's -poison twin, and uses each list it is given.
    let storage = strip_comments(&read("infra/modules/storage.bicep"));
    assert!(storage.contains("'${q}-poison'"), "poison queues");
    assert!(storage.contains("for container in concat(blobContainers"));
    let cosmos = strip_comments(&read("infra/modules/cosmos.bicep"));
    assert!(cosmos.contains("for container in containers"));
    assert!(cosmos.contains("paths: [container.partitionKey]"));
    assert!(cosmos.contains("container.ttl ? { defaultTtl: -1 }"));
}

#[test]
fn every_connection_a_function_names_is_an_app_setting() {
    let settings = app_settings();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("functions")).unwrap() {
        let path = entry.unwrap().path().join("function.json");
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for binding in json["bindings"].as_array().unwrap() {
            let Some(connection) = binding["connection"].as_str() else {
                continue;
            };
            let prefix = format!("{connection}__");
            assert!(
                settings.contains_key(connection)
                    || settings.keys().any(|k| k.starts_with(&prefix)),
                "{}: connection {connection} is not an app setting in infra/main.bicep",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "found only {checked} connections");
}

/// `param name type [= default]` lines of a module; true when the parameter has no default.
fn module_params(module: &str) -> BTreeMap<String, bool> {
    strip_comments(module)
        .lines()
        .filter_map(|l| l.strip_prefix("param "))
        .map(|l| {
            let name = l.split_whitespace().next().unwrap().to_owned();
            (name, !l.contains('='))
        })
        .collect()
}

#[test]
fn every_module_gets_exactly_the_parameters_it_declares() {
    let main = main_bicep();
    let mut modules = 0;
    for part in main.split("\nmodule ").skip(1) {
        let file = part.split('\'').nth(1).expect("module path");
        let declared = module_params(&read(Path::new("infra").join(file)));
        let passed = top_level_entries(block_after(part, "params:"));
        for (name, required) in &declared {
            assert!(
                !required || passed.contains_key(name),
                "{file}: required parameter {name} is not passed"
            );
        }
        for name in passed.keys() {
            assert!(
                declared.contains_key(name),
                "{file}: main.bicep passes {name}, which it does not declare"
            );
        }
        modules += 1;
    }
    assert!(modules >= 9, "found {modules} modules");
    // Every module file is used.
    for entry in std::fs::read_dir(repo().join("infra/modules")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            main.contains(&format!("'modules/{name}'")),
            "{name} is not used"
        );
    }
}

#[test]
fn the_workflow_is_valid_yaml_that_runs_only_the_repos_own_commands() {
    let dir = repo().join(".github/workflows");
    let mut workflows = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let workflow: Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        workflows += 1;
        assert_eq!(workflow["permissions"]["contents"], "read");
        let jobs = workflow["jobs"].as_object().expect("jobs");
        let mut logins = 0;
        for (job_name, job) in jobs {
            for step in job["steps"].as_array().expect("steps") {
                if let Some(uses) = step["uses"].as_str() {
                    let (action, version) = uses.split_once('@').expect("a pinned version");
                    assert!(
                        version.starts_with('v'),
                        "{job_name}: {uses} is not pinned to a release"
                    );
                    if action == "azure/login" {
                        logins += 1;
                        for id in ["client-id", "tenant-id", "subscription-id"] {
                            assert!(step["with"][id].is_string(), "azure/login needs {id}");
                        }
                        assert!(
                            step["with"].get("creds").is_none(),
                            "OIDC login, no stored credentials"
                        );
                        assert_eq!(
                            job["permissions"]["id-token"], "write",
                            "{job_name}: OIDC needs id-token: write"
                        );
                    }
                }
                if let Some(run) = step["run"].as_str() {
                    let command = run.split_whitespace().collect::<Vec<_>>();
                    let script = match command.as_slice() {
                        ["bash", script, ..] => script,
                        [script, ..] => script,
                        [] => panic!("{job_name}: empty run step"),
                    };
                    let file = repo().join(script);
                    assert!(
                        ["scripts/", ".ci/", "infra/"]
                            .iter()
                            .any(|d| script.starts_with(d))
                            && file.is_file(),
                        "{job_name}: '{run}' is not one of the repository's own commands"
                    );
                    let syntax = std::process::Command::new("bash")
                        .arg("-n")
                        .arg(&file)
                        .status()
                        .unwrap();
                    assert!(syntax.success(), "{script} has a shell syntax error");
                }
            }
        }
        assert_eq!(logins, 1, "one OIDC login, in the deploy job");
    }
    assert!(workflows >= 1);
}
