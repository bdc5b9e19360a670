//! `handler`: settings -> App -> serve. Instead of serving, `handler seed [FILE]` loads the
//! sample course catalog into the configured backend, and `handler restore --from DATE
//! [--force]` loads a backup into it.

use portal_api::{AppState, Application, Settings, telemetry};

/// mimalloc rather than the system allocator: a request decodes and encodes JSON documents,
/// many small allocations from every worker thread at once, where glibc's malloc and free
/// were a fifth of the handler's CPU under the chat fan-out load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("handler: cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let _telemetry = telemetry::init(&settings);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("seed") {
        let file = args
            .get(1)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| settings.script_root.join("seed/courses.json"));
        let loaded = match AppState::build(settings) {
            Ok(state) => portal_api::courses::seed::run(&state, &file).await,
            Err(e) => Err(e),
        };
        return match loaded {
            Ok(n) => {
                println!("seeded {n} courses from {}", file.display());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("handler seed: {e:#}");
                std::process::ExitCode::from(1)
            }
        };
    }
    if args.first().map(String::as_str) == Some("restore") {
        return restore(settings, &args[1..]).await;
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e:#}");
            return std::process::ExitCode::from(1);
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server stopped: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn restore(settings: Settings, args: &[String]) -> std::process::ExitCode {
    let usage = "usage: handler restore --from YYYY-MM-DD [--force]";
    let mut date = None;
    let mut force = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--from" => {
                date = args
                    .next()
                    .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
            }
            "--force" => force = true,
            _ => date = None,
        }
    }
    let Some(date) = date else {
        eprintln!("{usage}");
        return std::process::ExitCode::from(2);
    };
    let restored = match AppState::build(settings) {
        Ok(state) => portal_api::jobs::backup::restore(&state, date, force).await,
        Err(e) => Err(e),
    };
    match restored {
        Ok(r) => {
            println!(
                "restored {} documents into {} containers from the backup of {date}",
                r.documents, r.containers
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("handler restore: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
