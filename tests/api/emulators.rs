//! The real emulators, started once per test process on free loopback ports by
//! `tests/emulators/launcher.mjs` (Azurite for Blob and Queue, cosmosdb-server for Cosmos DB,
//! redis-server for Redis). The launcher stops them when our end of its stdin closes, which
//! happens when this process exits, however it exits.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Emulators {
    /// Accounts of their own for test apps: see `storage_account`.
    pub storage_accounts: Vec<StorageAccount>,
    pub cosmos_endpoint: String,
    pub cosmos_key: String,
    pub redis_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccount {
    pub connection_string: String,
}

/// A storage account no other app of this test run uses: every app's dev host pumps the same
/// queue names, so apps sharing an account would take each other's messages.
pub fn storage_account() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let accounts = &emulators().storage_accounts;
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    assert!(
        n < accounts.len(),
        "more Azure test apps than emulator storage accounts"
    );
    accounts[n].connection_string.clone()
}

/// Kept for the life of the process so the launcher's stdin stays open.
static LAUNCHER: Mutex<Option<Child>> = Mutex::new(None);

fn emulator_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulators")
}

/// Installs the pinned npm packages (with the cosmosdb-server patches) on first use, so that
/// `cargo test` works from a fresh clone with only node, npm and redis-server present.
pub fn ensure_installed() {
    let dir = emulator_dir();
    let installed = [
        "node_modules/.bin/azurite-blob",
        "node_modules/@azure/storage-blob",
        "node_modules/oidc-provider",
    ]
    .iter()
    .all(|p| dir.join(p).exists());
    if installed {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .expect("npm must be on PATH to install the test emulators");
    assert!(status.success(), "npm ci in tests/emulators failed");
}

/// Runs one of the Node scripts beside the launcher and returns what it printed; panics with
/// its error output when it fails.
pub fn node_script(script: &str, args: &[&str]) -> String {
    ensure_installed();
    let output = Command::new("node")
        .arg(emulator_dir().join(script))
        .args(args)
        .output()
        .expect("node must be on PATH");
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn emulators() -> &'static Emulators {
    static EMULATORS: OnceLock<Emulators> = OnceLock::new();
    EMULATORS.get_or_init(|| {
        ensure_installed();
        let mut child = Command::new("node")
            .arg(emulator_dir().join("launcher.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be on PATH to start the test emulators");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator launcher's answer");
        let emulators: Emulators = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            panic!(
                "the emulator launcher did not start (is redis-server installed?): {e}: {line:?}"
            )
        });
        *LAUNCHER.lock().unwrap() = Some(child);
        emulators
    })
}
