//! The two ways to impose a link shape: kernel `tc netem`, or `tbf` + iptables + the
//! user-space NFQUEUE delay line. Each installs its pieces, reports readiness, waits for
//! termination and removes what it installed, also when something fails halfway.

use std::sync::Arc;

use lab_config::{BackendChoice, ShaperConfig};
use lab_events::shaper::{Backend, DelayStats, JitterDistribution, ShaperReport};

use crate::commands::{
    Invocation, RuleOp, loss_rule, netem_probe, netem_replace, nfqueue_rule, root_qdisc_delete,
    tbf_replace,
};
use crate::error::ShaperError;
use crate::live::{Live, LiveLinks};
use crate::nfqueue::{DelayLine, Delays, QueueSocket, granularity};
use crate::scheduler::JitterSampler;
use crate::shape::check;
use crate::shared_loop::SharedLoop;
use crate::signals::Termination;
use crate::sources::{RegionLinks, SourceSampler};

/// The device the availability probe adds a netem qdisc to (and removes it from).
pub const PROBE_DEV: &str = "lo";
/// What `tc` says when the kernel has no `sch_netem`.
const UNKNOWN_QDISC: &str = "Specified qdisc kind is unknown";

/// Checks for kernel netem by adding a netem qdisc to [`PROBE_DEV`] and removing it; the
/// answer is a [`ShaperReport::NetemProbe`].
pub fn probe() -> ShaperReport {
    let report = |netem, detail| ShaperReport::NetemProbe { netem, detail };
    match netem_probe(PROBE_DEV).run() {
        Ok(()) => match root_qdisc_delete(PROBE_DEV).run() {
            Ok(()) => report(true, None),
            Err(e) => report(true, Some(format!("probe qdisc left on lo: failed to {e}"))),
        },
        Err(ShaperError::Command { stderr, .. }) if stderr.contains(UNKNOWN_QDISC) => {
            report(false, Some(stderr))
        }
        Err(e) => report(false, Some(format!("failed to {e}"))),
    }
}

/// Everything `labshaper apply` needs: what the orchestrator configures, and the
/// user-space back end's own settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyConfig {
    /// The shape, the requested backend and the egress device.
    pub shaper: ShaperConfig,
    /// The NFQUEUE number (user-space backend).
    pub queue: u16,
    /// Most packets the kernel queues to user space at once (user-space backend).
    pub queue_max_len: u32,
    /// Seed of the jitter generator.
    pub seed: u64,
    /// On a testnet placed in regions, the links into this namespace's region by source
    /// (user-space backend; `shaper.shape` is then its in-region link, for the ready line).
    pub sources: Option<RegionLinks>,
    /// The run's link changes and this namespace's process, when links may change at run
    /// time (`labshaper host --live`; user-space backend, a delay line in every namespace).
    pub live: Option<LiveHandle>,
}

/// A namespace's share of the run's [`LiveLinks`]: the table and its own process.
#[derive(Debug, Clone)]
pub struct LiveHandle {
    /// The run's table of changed links.
    pub links: Arc<LiveLinks>,
    /// The process whose namespace this is.
    pub pid: u32,
}

impl PartialEq for LiveHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.links, &other.links) && self.pid == other.pid
    }
}

/// Hands over the ready line ([`ShaperReport::ShaperReady`]) once the shape is in force.
pub type ReadySink<'a> = dyn FnMut(ShaperReport) -> Result<(), ShaperError> + 'a;

/// What one `apply` did.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    /// The backend that ran.
    pub backend: Backend,
    /// The delay line's counters (user-space backend with a delay).
    pub delay_line: Option<DelayStats>,
}

/// Applies the shape, hands the ready line to `ready` once the shape is in force, waits
/// for `term`, and removes everything it installed.
/// The delay line (user-space backend) is served by `shared`.
pub fn apply(
    cfg: &ApplyConfig,
    term: &Termination,
    shared: &SharedLoop,
    ready: &mut ReadySink<'_>,
) -> Result<Applied, ShaperError> {
    check(&cfg.shaper.shape)?;
    let backend = match cfg.shaper.backend {
        // Per-source links and link changes exist in user space only.
        BackendChoice::Kernel if cfg.live.is_some() => return Err(ShaperError::LiveKernel),
        BackendChoice::Kernel => Backend::Kernel,
        BackendChoice::Userspace => Backend::Userspace,
        BackendChoice::Auto if cfg.sources.is_some() || cfg.live.is_some() => Backend::Userspace,
        BackendChoice::Auto => match probe() {
            ShaperReport::NetemProbe { netem: true, .. } => Backend::Kernel,
            _ => Backend::Userspace,
        },
    };
    let mut undo = Undo::default();
    let result = match backend {
        Backend::Kernel => run_kernel(cfg, term, ready, &mut undo),
        Backend::Userspace => run_userspace(cfg, term, ready, shared, &mut undo),
    };
    undo.run_all();
    Ok(Applied {
        backend,
        delay_line: result?,
    })
}

fn run_kernel(
    cfg: &ApplyConfig,
    term: &Termination,
    ready: &mut ReadySink<'_>,
    undo: &mut Undo,
) -> Result<Option<DelayStats>, ShaperError> {
    if cfg.sources.is_some() {
        return Err(ShaperError::KernelBySource);
    }
    let dev = &cfg.shaper.dev;
    match netem_replace(dev, &cfg.shaper.shape).run() {
        Ok(()) => {}
        Err(ShaperError::Command { stderr, .. }) if stderr.contains(UNKNOWN_QDISC) => {
            return Err(ShaperError::NetemUnavailable(stderr));
        }
        Err(e) => return Err(e),
    }
    undo.push(root_qdisc_delete(dev));
    ready(ready_line(cfg, Backend::Kernel, None))?;
    term.wait()?;
    Ok(None)
}

fn run_userspace(
    cfg: &ApplyConfig,
    term: &Termination,
    ready: &mut ReadySink<'_>,
    shared: &SharedLoop,
    undo: &mut Undo,
) -> Result<Option<DelayStats>, ShaperError> {
    let ShaperConfig { shape, dev, .. } = &cfg.shaper;
    if let Some(rate) = shape.rate_limit_kbit() {
        tbf_replace(dev, rate).run()?;
        undo.push(root_qdisc_delete(dev));
    }
    // By source, each link's loss is drawn with its delay in the delay line.
    if shape.drops() && cfg.sources.is_none() {
        loss_rule(RuleOp::Append, dev, shape.loss).run()?;
        undo.push(loss_rule(RuleOp::Delete, dev, shape.loss));
    }
    // A link change needs a delay line to carry it, even where the run's link delays nothing.
    if !shape.delays() && cfg.sources.is_none() && cfg.live.is_none() {
        ready(ready_line(cfg, Backend::Userspace, None))?;
        term.wait()?;
        return Ok(None);
    }
    // Bind the queue before any packet is sent to it, and remove the rule before the queue
    // goes away: packets queued to an unbound queue are dropped.
    // Per-source delays and changed senders need each packet's source (its IP header).
    let headers = cfg.sources.is_some() || cfg.live.is_some();
    let socket = QueueSocket::open(cfg.queue, cfg.queue_max_len, headers)?;
    nfqueue_rule(RuleOp::Append, dev, cfg.queue).run()?;
    let rule_delete = nfqueue_rule(RuleOp::Delete, dev, cfg.queue);
    let (delays, finest) = match &cfg.sources {
        Some(links) => (
            Delays::BySource(SourceSampler::new(links, cfg.seed)),
            links.shortest_delay(),
        ),
        None => (
            Delays::Uniform(JitterSampler::new(shape.delay, shape.jitter, cfg.seed)),
            shape.delay,
        ),
    };
    let mut line = DelayLine::new(socket, delays, granularity(finest));
    if let Some(h) = &cfg.live {
        line = line.with_live(Live::new(h.links.clone(), h.pid, cfg.seed));
    }
    let ran = match ready(ready_line(cfg, Backend::Userspace, Some(cfg.queue))) {
        Err(e) => Err(e),
        Ok(()) => {
            let (ran, back) = shared.hold(line, term);
            match back {
                Some(back) => {
                    line = back;
                    ran
                }
                // The loop thread is gone, and the queue with it: the kernel drops what
                // was held once the rule is deleted and the socket closed.
                None => {
                    let removed = rule_delete.run();
                    return ran.and(removed).map(|()| None);
                }
            }
        }
    };
    let removed = rule_delete.run();
    let flushed = line.flush();
    let stats = line.stats();
    let unbound = line.into_socket().unbind();
    ran?;
    removed?;
    flushed?;
    unbound?;
    Ok(Some(stats))
}

/// The `shaper_ready` line for a shape in force (with no pid: `host` adds it).
pub fn ready_line(cfg: &ApplyConfig, backend: Backend, queue: Option<u16>) -> ShaperReport {
    let ShaperConfig {
        shape,
        backend: requested,
        dev,
    } = &cfg.shaper;
    ShaperReport::ShaperReady {
        backend,
        requested: *requested,
        dev: dev.clone(),
        delay_us: shape.delay_us(),
        jitter_us: shape.jitter_us(),
        jitter_distribution: JitterDistribution::Uniform,
        loss: shape.loss,
        rate_kbit: shape.rate_limit_kbit().unwrap_or(0),
        queue,
        seed: cfg.seed,
        pid: None,
    }
}

/// Removal commands for what has been installed, run newest first.
#[derive(Debug, Default)]
struct Undo(Vec<Invocation>);

impl Undo {
    fn push(&mut self, inv: Invocation) {
        self.0.push(inv);
    }

    /// Runs every removal; a failure is reported on stderr and does not stop the others.
    fn run_all(&mut self) {
        while let Some(inv) = self.0.pop() {
            if let Err(e) = inv.run() {
                eprintln!("labshaper: failed to {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lab_config::LinkShape;

    use super::*;

    #[test]
    fn ready_line_names_backend_and_shape() {
        let cfg = ApplyConfig {
            shaper: ShaperConfig {
                dev: "eth0".to_owned(),
                shape: LinkShape {
                    delay: Duration::from_micros(25_000),
                    jitter: Duration::from_micros(2_500),
                    loss: 0.01,
                    rate_kbit: None,
                },
                backend: BackendChoice::Auto,
            },
            queue: 0,
            queue_max_len: 4096,
            seed: 7,
            sources: None,
            live: None,
        };
        assert_eq!(
            ready_line(&cfg, Backend::Userspace, Some(0)).to_line(),
            r#"{"event":"shaper_ready","backend":"userspace","requested":"auto","dev":"eth0","delay_us":25000,"jitter_us":2500,"jitter_distribution":"uniform","loss":0.01,"rate_kbit":0,"queue":0,"seed":7}"#
        );
        let kernel = ready_line(&cfg, Backend::Kernel, None).to_line();
        assert!(kernel.contains(r#""backend":"kernel""#), "{kernel}");
        assert!(!kernel.contains("queue"), "{kernel}");
    }

    #[test]
    fn probe_report_omits_empty_detail() {
        let report = ShaperReport::NetemProbe {
            netem: true,
            detail: None,
        };
        assert_eq!(report.to_line(), r#"{"event":"netem_probe","netem":true}"#);
    }
}
