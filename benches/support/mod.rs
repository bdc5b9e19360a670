//! What the load benchmarks that drive the release handler as a child process share. A folder
//! with mod.rs, so that cargo does not take it for a benchmark of its own.
#![allow(dead_code)] // each benchmark uses its own subset

/// A numeric environment variable, for the benchmarks' size knobs.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's peak resident memory (VmHWM) in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The release handler in local mode on a free port, stopped however the benchmark ends.
pub struct Handler {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

impl Handler {
    /// Starts it on the embedded stores in `data_dir`, with `settings` on top of quiet logs, and
    /// waits until it answers.
    pub async fn start(data_dir: &std::path::Path, settings: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
            .env("PORT", port.to_string())
            .env("DATA_DIR", data_dir)
            .env("SCRIPT_ROOT", env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start handler");
        let handler = Handler {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        while http.get(format!("{}/", handler.base)).send().await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        handler
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now, for the handler's `PORT`.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
