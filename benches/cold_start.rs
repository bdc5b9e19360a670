//! Cold start: from exec of the `handler` binary to the first 200 on `/api/healthz`.
//!
//!     cargo bench --bench cold_start            # 50 starts per configuration
//!     COLD_START_RUNS=200 cargo bench --bench cold_start
//!
//! Two configurations: the embedded defaults (local mode, as `cargo run`), and every Azure
//! setting present in host mode (as the Functions host starts it in Azure). In the second, every
//! Azure endpoint points at a listener of this benchmark that counts connections, which proves
//! the handler makes no network call at start-up (the run fails if one arrives).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod support;
use support::free_port;

fn healthz_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream
        .write_all(b"GET /api/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}

/// Starts the handler once and returns the time to its first healthy answer.
fn one_start(binary: &str, env: &[(String, String)], data_dir: &Path) -> Duration {
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env.iter().cloned())
        .env("PORT", port.to_string())
        .envs(
            env.iter()
                .any(|(k, _)| k == "FUNCTIONS_CUSTOMHANDLER_PORT")
                .then(|| ("FUNCTIONS_CUSTOMHANDLER_PORT".to_string(), port.to_string())),
        )
        .env("DATA_DIR", data_dir)
        .env("SCRIPT_ROOT", env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start handler");
    let elapsed = loop {
        if healthz_ok(port) {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "handler did not answer within 10 s"
        );
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} runs {:>4}  median {:>6.2} ms  p90 {:>6.2} ms  min {:>6.2} ms  max {:>6.2} ms",
        samples.len(),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
    );
    pick(0.5)
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_handler");
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);

    // A listener standing in for every Azure service: it only counts who calls.
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    let trap_port = trap.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    {
        let calls = calls.clone();
        std::thread::spawn(move || {
            for stream in trap.incoming() {
                calls.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
    }
    let at = |scheme: &str| format!("{scheme}://127.0.0.1:{trap_port}/");
    let azure: Vec<(String, String)> = vec![
        ("FUNCTIONS_CUSTOMHANDLER_PORT".into(), "set per start".into()),
        ("COSMOS_ENDPOINT".into(), at("https")),
        ("COSMOS_KEY".into(), "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==".into()),
        (
            "STORAGE_CONNECTION_STRING".into(),
            format!(
                "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint={};QueueEndpoint={};",
                at("http"),
                at("http")
            ),
        ),
        ("KEY_VAULT_URI".into(), at("https")),
        ("REDIS_URL".into(), format!("redis://127.0.0.1:{trap_port}/")),
        ("ACS_EMAIL_ENDPOINT".into(), at("https")),
        ("ACS_EMAIL_KEY".into(), "c2VjcmV0".into()),
        ("EMAIL_SENDER".into(), "DoNotReply@example.com".into()),
        (
            "APPLICATIONINSIGHTS_CONNECTION_STRING".into(),
            format!(
                "InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint={}",
                at("https")
            ),
        ),
    ];

    let work = tempfile::tempdir().unwrap();
    let measure = |name: &str, env: &[(String, String)]| {
        let samples: Vec<Duration> = (0..runs)
            .map(|i| {
                // A fresh data folder each time: the first start of a new instance.
                let dir = work.path().join(format!("{name}-{i}"));
                one_start(binary, env, &dir)
            })
            .collect();
        report(name, samples)
    };
    // Let the page cache hold the binary, as it does on a warm worker.
    one_start(binary, &[], &work.path().join("warm-up"));
    let embedded = measure("embedded defaults", &[]);
    let with_azure = measure("host mode, azure settings", &azure);
    let network_calls = calls.load(Ordering::SeqCst);
    println!("connections to Azure endpoints during start-up: {network_calls}");
    assert_eq!(network_calls, 0, "start-up must not touch the network");
    let budget = Duration::from_millis(10);
    assert!(
        embedded < budget && with_azure < budget,
        "median cold start above {budget:?}"
    );
}
