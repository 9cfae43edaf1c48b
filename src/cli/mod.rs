//! The command line: `cusdeb-anonymous` serves; `--help`, `--version`, `openapi [--yaml]`,
//! `check-config` and `keys …` ([`keys`]) act and exit. Every command reads the same
//! environment; a configuration or usage error exits 2 with one line.

mod keys;

use std::process::ExitCode;

use crate::config::{Config, help_text};
use crate::startup::{self, Application, StartError, shutdown_signal};
use crate::store::{Access, KeyStore};
use crate::{openapi_json, openapi_yaml, telemetry};

/// Runs the command `args` (without the program name) names.
pub fn run(args: &[String]) -> ExitCode {
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => serve(),
        ["--help" | "-h" | "help"] => print(&help_text()),
        ["--version" | "-V"] => print(&format!("cusdeb-anonymous {}\n", env!("CARGO_PKG_VERSION"))),
        ["openapi"] | ["openapi", "--json"] => print(&format!("{}\n", openapi_json())),
        ["openapi", "--yaml"] => print(&openapi_yaml()),
        ["check-config"] => check_config(),
        ["keys", rest @ ..] => keys::run(rest),
        other => {
            eprintln!("cusdeb-anonymous: unknown arguments {other:?}; see --help");
            ExitCode::from(2)
        }
    }
}

/// Reads the configuration and serves until SIGTERM/SIGINT.
fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}"), 1),
    };
    // Before anything is logged: a locked, corrupt or undecryptable store is one line, exit 2.
    // (PostgreSQL connects later, inside the runtime.)
    let store = match runtime.block_on(async { KeyStore::open(&config.store, Access::Serve) }) {
        Ok(store) => store,
        Err(e) => return fail(&e.to_string(), 2),
    };
    telemetry::init(&config.time_zone, config.log_format);
    let served = runtime.block_on(async {
        // Reads the store first: what waiting cannot cure is the only line printed (exit 2).
        let app = Application::build(config, store).await?;
        startup::raise_open_files_limit();
        app.run_until_stopped(shutdown_signal()).await.map_err(StartError::Io)
    });
    // A key generation still running on a blocking thread is abandoned, not awaited.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cusdeb-anonymous: {e}");
            match e {
                StartError::Store(_) => ExitCode::from(2),
                StartError::Io(_) => ExitCode::FAILURE,
            }
        }
    }
}

/// Validates the environment and opens the key store as the server would (reachable,
/// writable, decryptable); prints the effective configuration (secrets redacted), the key
/// lifecycle it produces and its warnings. Exit 0, or the one-line error with the status the
/// server would exit with.
fn check_config() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    let store_report = match config.rotates() {
        false => None,
        true => match keys::with_store(&config, Access::Serve, async |store| {
            let limit = crate::store::CALL_TIMEOUT + std::time::Duration::from_secs(1);
            match tokio::time::timeout(limit, store.check()).await {
                Ok(result) => result,
                Err(_) => Err(crate::store::StoreError::passing("the key store did not answer".into())),
            }
        }) {
            Ok(report) => Some(report),
            Err(code) => return code,
        },
    };
    let mut out = String::from("configuration is valid\n\n");
    for (name, value) in config.summary() {
        out.push_str(&format!("  {name:<24} {value}\n"));
    }
    out.push_str("\nkey lifecycle:\n");
    for line in config.timeline() {
        out.push_str(&format!("  {line}\n"));
    }
    if let Some(report) = store_report {
        out.push_str(&format!("\nkey store: {report}\n"));
    }
    for warning in config.warnings() {
        out.push_str(&format!("\nwarning: {warning}\n"));
    }
    print(&out)
}

fn config_error(e: &crate::config::ConfigError) -> ExitCode {
    fail(&e.to_string(), 2)
}

/// One line on stderr, and the exit status.
fn fail(line: &str, status: u8) -> ExitCode {
    eprintln!("cusdeb-anonymous: {line}");
    ExitCode::from(status)
}

fn print(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::SUCCESS
}
