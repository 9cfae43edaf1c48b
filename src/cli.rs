//! The command line: `cusdeb-anonymous` serves; `--help`, `--version`, `openapi [--yaml]` and
//! `check-config` print and exit. Every command reads the same environment; a configuration
//! or usage error exits 2 with one line.

use std::process::ExitCode;

use crate::config::{Config, help_text};
use crate::startup::{self, Application, shutdown_signal};
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
    telemetry::init(&config.time_zone, config.log_format);
    startup::raise_open_files_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cusdeb-anonymous: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async {
        let (host, port) = (config.host, config.port);
        let app = Application::build(config)
            .await
            .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
        app.run_until_stopped(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    // A key generation still running on a blocking thread is abandoned, not awaited.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cusdeb-anonymous: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Validates the environment; prints the effective configuration (secrets redacted), the key
/// lifecycle it produces and its warnings. Exit 0, or 2 with the one-line error.
fn check_config() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    let mut out = String::from("configuration is valid\n\n");
    for (name, value) in config.summary() {
        out.push_str(&format!("  {name:<22} {value}\n"));
    }
    out.push_str("\nkey lifecycle:\n");
    for line in config.timeline() {
        out.push_str(&format!("  {line}\n"));
    }
    for warning in config.warnings() {
        out.push_str(&format!("\nwarning: {warning}\n"));
    }
    print(&out)
}

fn config_error(e: &crate::config::ConfigError) -> ExitCode {
    eprintln!("cusdeb-anonymous: {e}");
    ExitCode::from(2)
}

fn print(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::SUCCESS
}
