//! The `cusdeb-anonymous` binary: the command line in [`cusdeb_anonymous::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    cusdeb_anonymous::cli::run(&args)
}
