//! The `cusdeb-anonymous` binary: parse the command line and environment, then serve.

use std::process::ExitCode;

use cusdeb_anonymous::config::{Config, help_text};
use cusdeb_anonymous::startup::{self, Application, shutdown_signal};
use cusdeb_anonymous::{crypto, openapi_json, openapi_yaml, telemetry};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {}
        ["--help" | "-h" | "help"] => return print(&help_text()),
        ["--version" | "-V"] => return print(&format!("cusdeb-anonymous {}\n", env!("CARGO_PKG_VERSION"))),
        ["openapi"] | ["openapi", "--json"] => return print(&format!("{}\n", openapi_json())),
        ["openapi", "--yaml"] => return print(&openapi_yaml()),
        ["check-config"] => return check_config(),
        other => {
            eprintln!("cusdeb-anonymous: unknown arguments {other:?}; see --help");
            return ExitCode::from(2);
        }
    }

    crypto::install();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("cusdeb-anonymous: {e}");
            return ExitCode::from(2);
        }
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

/// Validates the environment; prints the effective configuration (secrets redacted) and the
/// key lifecycle it produces. Exit 0, or 2 with the one-line error.
fn check_config() -> ExitCode {
    match Config::from_env() {
        Ok(config) => {
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
        Err(e) => {
            eprintln!("cusdeb-anonymous: {e}");
            ExitCode::from(2)
        }
    }
}

fn print(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::SUCCESS
}
