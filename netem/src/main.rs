//! `labshaper probe | apply ...`: see the library documentation.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use labshaper::{Cli, Command, ShaperError, Termination, apply, probe};

fn main() -> ExitCode {
    // Block SIGTERM/SIGINT before anything else (and before any thread exists).
    let term = match Termination::install() {
        Ok(term) => term,
        Err(e) => return fail(&e),
    };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe => print_probe(),
        Command::Apply(args) => {
            apply(&args.into_config(), &term, &mut std::io::stdout().lock()).map(|_| ())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn print_probe() -> Result<(), ShaperError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&probe())?)?;
    Ok(())
}

fn fail(e: &ShaperError) -> ExitCode {
    eprintln!("labshaper: failed to {e}");
    ExitCode::from(e.exit_code())
}
