//! `meshnode` binary: parse the command line, run the node until SIGTERM or SIGINT.

use clap::Parser;
use lab_config::node::{ATTACK_OFF_SIGNAL, ATTACK_ON_SIGNAL};
use meshnode::cli::Args;
use meshnode::sink::{EventSink, FileSink, StdoutSink};
use meshnode::{Command, NodeConfig, start, sybil};
use tokio::signal::unix::{SignalKind, signal};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    // One thread by default: a node needs no more than one core, and a hundred nodes on
    // one host each with a multi-thread pool only fight over the cores.
    let runtime = match args.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(n));
            b
        }
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: failed to {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.resolve()?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    // Installed before the node starts: SIGUSR1's default action would kill the process.
    let mut usr1 = signal(SignalKind::user_defined1())?;
    // A dormant role's switches (harmless to any other node, which they would kill).
    let mut attack_on = signal(SignalKind::from_raw(ATTACK_ON_SIGNAL))?;
    let mut attack_off = signal(SignalKind::from_raw(ATTACK_OFF_SIGNAL))?;
    let sybil_sinks = (0..sybil::identities(&config))
        .map(|_| sink(&config))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sybils = sybil::start(&config, sybil_sinks).await?;
    let node = start(config.clone(), sink(&config)?).await?;
    tracing::info!(peer_id = %node.peer_id, addrs = ?node.listen_addrs, "node started");
    let commands = node.commands();
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => {
                tracing::info!("SIGUSR1: starting traffic");
                let _ = commands.send(Command::StartTraffic).await;
            }
            _ = attack_on.recv() => {
                tracing::info!("signal {ATTACK_ON_SIGNAL}: the role acts");
                let _ = commands.send(Command::Act(true)).await;
            }
            _ = attack_off.recv() => {
                tracing::info!("signal {ATTACK_OFF_SIGNAL}: honest again");
                let _ = commands.send(Command::Act(false)).await;
            }
        }
    }
    let _ = commands.send(Command::Shutdown).await;
    for s in sybils {
        s.shutdown().await?;
    }
    let totals = node.join().await?;
    tracing::info!(?totals, "node stopped");
    Ok(())
}

/// Where the records of a node with `config` go: its events file, or stdout.
fn sink(config: &NodeConfig) -> anyhow::Result<Box<dyn EventSink>> {
    Ok(match &config.events {
        Some(path) => Box::new(FileSink::open(path)?),
        None => Box::new(StdoutSink),
    })
}
