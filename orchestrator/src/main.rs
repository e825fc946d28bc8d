//! `orchestrator` binary: parse the command line and dispatch (see `orchestrator --help`).

use clap::Parser;
use orchestrator::cli::{Cli, dispatch};

fn main() -> std::process::ExitCode {
    // Logs (the Docker code's warnings among them) go to stderr; RUST_LOG sets the level,
    // default: warnings, and this crate's info.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,orchestrator=info")),
        )
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the runtime: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    std::process::ExitCode::from(runtime.block_on(dispatch(cli)))
}
