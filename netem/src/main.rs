//! `labshaper probe | apply ...`: see the library documentation.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use lab_events::shaper::ShaperReport;
use labshaper::{
    Cli, Command, HostInput, ShaperError, SharedLoop, Termination, apply, host, probe,
};

fn main() -> ExitCode {
    // Block SIGTERM/SIGINT before anything else (and before any thread exists).
    let term = match Termination::install() {
        Ok(term) => term,
        Err(e) => return fail(&e),
    };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe => print_probe(),
        Command::Apply(args) => args.into_config().and_then(|cfg| apply_one(&cfg, &term)),
        Command::Host(args) => args.load_regions().and_then(|regions| {
            let pids = args.pids;
            args.apply.into_config().and_then(|cfg| {
                let out = &mut std::io::stdout();
                let input = HostInput {
                    pids: &pids,
                    stdin: args.stdin,
                    live: args.live,
                    proc: &args.proc,
                };
                host(&cfg, regions.as_ref(), input, &term, out)
            })
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// `apply`: the ready line on stdout, the stop line on stderr.
fn apply_one(cfg: &labshaper::ApplyConfig, term: &Termination) -> Result<(), ShaperError> {
    let (shared, delay_loop) = SharedLoop::start()?;
    let applied = apply(cfg, term, &shared, &mut |line| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", line.to_line())?;
        out.flush()?;
        Ok(())
    });
    // The line is back: the loop ends with its last handle.
    drop(shared);
    if delay_loop.join().is_err() {
        eprintln!("labshaper: failed to {}", ShaperError::ThreadPanicked);
    }
    let applied = applied?;
    let stopped = ShaperReport::ShaperStopped {
        backend: applied.backend,
        delay_line: applied.delay_line,
        namespaces: None,
    };
    eprintln!("{}", stopped.to_line());
    Ok(())
}

fn print_probe() -> Result<(), ShaperError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", probe().to_line())?;
    Ok(())
}

fn fail(e: &ShaperError) -> ExitCode {
    eprintln!("labshaper: failed to {e}");
    ExitCode::from(e.exit_code())
}
