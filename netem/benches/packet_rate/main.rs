//! Packet-rate benchmark of the user-space shaper (needs root): what each shaped packet costs
//! the host, measured as `labshaper host` runs.
//!
//! A hub namespace sends 64-byte UDP datagrams round-robin to N leaf namespaces over veth
//! pairs at fixed rates (or, with `--tcp`, 8300-byte messages over one TCP connection per
//! leaf); the shaper delays each leaf's ingress by 25 ms ± 2.5 ms. Every rate
//! runs unshaped (`none`) and shaped by each binary given (`A`, and `B` with `--compare`),
//! interleaved, `--reps` times. Per span: packets sent in the measured window, host busy CPU
//! per packet (`/proc/stat`: exact on an otherwise idle host, polluted by anything else
//! running), the flow's CPU per packet (on-CPU time of this process's sender and receiver
//! threads plus the shaper's, from schedstat: the veth path's softirq work runs in the
//! sender's and the shaper's system calls, so this counts the packet path without the
//! neighbours'), the marginal cost of both (shaped minus the same rep's unshaped span), the
//! shaper process's own on-CPU time per packet, datagrams lost, and the
//! one-way delay's p50/p99 with the extra over the imposed shape (p50 - 25 ms, p99 -
//! 27.45 ms, the uniform's p99). Medians over reps at the end. Everything created is
//! removed on exit, on error, on panic and on SIGINT/SIGTERM.
//!
//! ```text
//! cargo bench -p labshaper --bench packet_rate -- [--rates 5000,20000,50000] [--secs 3]
//!     [--leaves 4] [--reps 1] [--tcp] [--labshaper PATH] [--compare PATH]
//! ```

mod cpu;
mod shaper;
mod tcp;
mod topology;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use labshaper::Termination;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::cpu::{HostTicks, process_cpu_ns};
use crate::shaper::Shaper;
use crate::topology::Topology;
use crate::traffic::{Flow, Kind, Sample};

/// The imposed shape.
const DELAY_US: u64 = 25_000;
const JITTER_US: u64 = 2_500;
/// The uniform delay's 99th percentile, in ms.
const SHAPE_P99_MS: f64 = 27.45;
/// Traffic before the measured window (the delay line fills in 27.5 ms).
const WARMUP: Duration = Duration::from_millis(500);
/// Longest wait for the last delayed datagrams after the sender stops.
const DRAIN: Duration = Duration::from_millis(300);
/// The whole run must stay under this.
const MAX_RUN: Duration = Duration::from_secs(120);

/// Command line.
#[derive(Debug, Parser)]
struct Args {
    /// Datagrams per second, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = [5_000u64, 20_000, 50_000])]
    rates: Vec<u64>,
    /// Length of each measured window, in seconds.
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Number of leaf namespaces (shaped, one shaper thread each).
    #[arg(long, default_value_t = 4)]
    leaves: usize,
    /// Repetitions of every (rate, mode) span.
    #[arg(long, default_value_t = 1)]
    reps: usize,
    /// The labshaper binary to measure (`A`).
    #[arg(long, default_value = env!("CARGO_BIN_EXE_labshaper"))]
    labshaper: String,
    /// Send 8300-byte messages over TCP (rates are then messages per second, and the
    /// per-packet columns are per message).
    #[arg(long)]
    tcp: bool,
    /// A second labshaper binary (`B`), measured interleaved with `A`.
    #[arg(long)]
    compare: Option<String>,
    /// Accepted and ignored (cargo bench passes it).
    #[arg(long, hide = true)]
    bench: bool,
}

/// One measured span.
#[derive(Debug, Clone)]
struct Span {
    rate: u64,
    mode: &'static str,
    packets: u64,
    host_us: f64,
    flow_us: f64,
    shaper_us: Option<f64>,
    lost: u64,
    p50_ms: f64,
    p99_ms: f64,
}

fn main() {
    let term = match Termination::install() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("packet_rate: failed to {e}");
            std::process::exit(2);
        }
    };
    let args = Args::parse();
    if let Err(e) = run(&args, &term) {
        eprintln!("packet_rate: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args, term: &Termination) -> Result<(), String> {
    let modes: Vec<(&'static str, Option<&str>)> = std::iter::once(("none", None))
        .chain(std::iter::once(("A", Some(args.labshaper.as_str()))))
        .chain(args.compare.as_deref().map(|b| ("B", Some(b))))
        .collect();
    let per_span = WARMUP + Duration::from_secs_f64(args.secs) + Duration::from_millis(800);
    let estimate =
        per_span * u32::try_from(args.rates.len() * modes.len() * args.reps).unwrap_or(u32::MAX);
    if estimate > MAX_RUN {
        return Err(format!(
            "failed to plan: {} spans take about {estimate:?}, more than {MAX_RUN:?}; fewer reps, rates or secs",
            args.rates.len() * modes.len() * args.reps
        ));
    }
    println!(
        "labshaper A: {}{}",
        args.labshaper,
        args.compare
            .as_deref()
            .map(|b| format!("\nlabshaper B: {b}"))
            .unwrap_or_default()
    );
    println!(
        "{} leaves, {} s windows, shape {} ms ± {} ms, load before: {}",
        args.leaves,
        args.secs,
        DELAY_US as f64 / 1e3,
        JITTER_US as f64 / 1e3,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let topo = Arc::new(Topology::create(args.leaves)?);
    let mut spans = Vec::new();
    println!(
        "rep  rate/s mode  packets  host us/pkt  flow us/pkt  shaper us/pkt  lost  p50 ms  p99 ms"
    );
    for rep in 0..args.reps {
        for &rate in &args.rates {
            // Rotate the order each rep so that no mode always runs first.
            let mut order = modes.clone();
            order.rotate_left(rep % modes.len());
            for (mode, bin) in order {
                let kind = if args.tcp { Kind::Tcp } else { Kind::Udp };
                let s = span(&topo, rate, kind, mode, bin, args.secs, term)?;
                println!(
                    "{rep:>3} {rate:>7} {mode:>4} {:>8} {:>12.2} {:>12.2} {:>14} {:>5} {:>7.2} {:>7.2}",
                    s.packets,
                    s.host_us,
                    s.flow_us,
                    s.shaper_us
                        .map(|u| format!("{u:.2}"))
                        .unwrap_or_else(|| "-".into()),
                    s.lost,
                    s.p50_ms,
                    s.p99_ms
                );
                spans.push(s);
            }
        }
    }
    summary(&spans, &args.rates, &modes);
    Ok(())
}

/// Runs one span: shaper (unless `none`), flow, warm-up, measured window, drain.
fn span(
    topo: &Arc<Topology>,
    rate: u64,
    kind: Kind,
    mode: &'static str,
    bin: Option<&str>,
    secs: f64,
    term: &Termination,
) -> Result<Span, String> {
    let shaper = match bin {
        Some(bin) => Some(Shaper::start(bin, &topo.leaf_pids(), DELAY_US, JITTER_US)?),
        None => None,
    };
    let flow = Flow::start(topo, rate, kind)?;
    wait(WARMUP, term)?;
    let (sent0, w0, host0) = (flow.sent(), flow.now_ns(), HostTicks::read()?);
    let shaper0 = shaper.as_ref().map(|s| process_cpu_ns(s.pid()));
    let bench0 = process_cpu_ns(std::process::id());
    wait(Duration::from_secs_f64(secs), term)?;
    let (sent1, w1, host1) = (flow.sent(), flow.now_ns(), HostTicks::read()?);
    let shaper1 = shaper.as_ref().map(|s| process_cpu_ns(s.pid()));
    let bench1 = process_cpu_ns(std::process::id());
    let (samples, lost) = flow.stop(DRAIN)?;
    drop(shaper);
    let packets = sent1.saturating_sub(sent0).max(1);
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| (w0..w1).contains(&s.sent_ns))
        .collect();
    let shaper_ns = shaper0.zip(shaper1).map(|(a, b)| b.saturating_sub(a));
    let flow_ns = bench1.saturating_sub(bench0) + shaper_ns.unwrap_or(0);
    let mut delays: Vec<u64> = window.iter().map(|s| s.delay_ns).collect();
    delays.sort_unstable();
    Ok(Span {
        rate,
        mode,
        packets,
        host_us: host0.busy_secs_until(&host1) * 1e6 / packets as f64,
        flow_us: flow_ns as f64 / 1e3 / packets as f64,
        shaper_us: shaper_ns.map(|ns| ns as f64 / 1e3 / packets as f64),
        lost,
        p50_ms: percentile(&delays, 0.50),
        p99_ms: percentile(&delays, 0.99),
    })
}

/// Waits `d`, or fails at once on SIGINT/SIGTERM.
fn wait(d: Duration, term: &Termination) -> Result<(), String> {
    let ms = u16::try_from(d.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(term.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) => Ok(()),
        Ok(_) => Err("interrupted: cleaned up".to_owned()),
        Err(e) => Err(format!("failed to wait: {e}")),
    }
}

/// The `q` quantile of sorted nanoseconds, in ms (NaN when empty).
fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Medians over reps; the marginal cost is each rep's shaped span minus its unshaped one.
fn summary(spans: &[Span], rates: &[u64], modes: &[(&'static str, Option<&str>)]) {
    println!("\nmedians over reps (marginal: shaped minus the same rep's unshaped span)");
    println!(
        "rate/s mode  host us/pkt  host marginal  flow us/pkt  flow marginal  shaper us/pkt  lost  extra p50 ms  extra p99 ms"
    );
    for &rate in rates {
        let none: Vec<&Span> = spans
            .iter()
            .filter(|s| s.rate == rate && s.mode == "none")
            .collect();
        for (mode, _) in modes {
            let these: Vec<&Span> = spans
                .iter()
                .filter(|s| s.rate == rate && s.mode == *mode)
                .collect();
            let host = median(these.iter().map(|s| s.host_us).collect());
            let marginal = median(
                these
                    .iter()
                    .zip(&none)
                    .map(|(s, n)| s.host_us - n.host_us)
                    .collect(),
            );
            let flow = median(these.iter().map(|s| s.flow_us).collect());
            let flow_marginal = median(
                these
                    .iter()
                    .zip(&none)
                    .map(|(s, n)| s.flow_us - n.flow_us)
                    .collect(),
            );
            let shaper = median(these.iter().filter_map(|s| s.shaper_us).collect());
            let lost = median(these.iter().map(|s| s.lost as f64).collect());
            let (p50, p99) = if *mode == "none" {
                (
                    median(these.iter().map(|s| s.p50_ms).collect()),
                    median(these.iter().map(|s| s.p99_ms).collect()),
                )
            } else {
                (
                    median(
                        these
                            .iter()
                            .map(|s| s.p50_ms - DELAY_US as f64 / 1e3)
                            .collect(),
                    ),
                    median(these.iter().map(|s| s.p99_ms - SHAPE_P99_MS).collect()),
                )
            };
            println!(
                "{rate:>6} {mode:>4} {host:>12.2} {marginal:>14.2} {flow:>12.2} {flow_marginal:>14.2} {shaper:>14.2} {lost:>5.0} {p50:>13.3} {p99:>13.3}"
            );
        }
    }
    println!("(for none, the extra columns are the unshaped one-way delay p50/p99)");
}
