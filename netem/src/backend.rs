//! The two ways to impose a [`Shape`]: kernel `tc netem`, or `tbf` + iptables + the
//! user-space NFQUEUE delay line. Each installs its pieces, reports readiness, waits for
//! termination and removes what it installed, also when something fails halfway.

use serde::Serialize;

use crate::commands::{
    Invocation, RuleOp, loss_rule, netem_probe, netem_replace, nfqueue_rule, root_qdisc_delete,
    tbf_replace,
};
use crate::error::ShaperError;
use crate::nfqueue::{DelayLine, DelayStats, QueueSocket};
use crate::scheduler::JitterSampler;
use crate::shape::Shape;
use crate::signals::Termination;

/// The device the availability probe adds a netem qdisc to (and removes it from).
pub const PROBE_DEV: &str = "lo";
/// What `tc` says when the kernel has no `sch_netem`.
const UNKNOWN_QDISC: &str = "Specified qdisc kind is unknown";

/// Which backend a user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// Kernel netem when the probe finds it, user space otherwise.
    Auto,
    /// Kernel `tc netem` only; fails where the kernel lacks it.
    Kernel,
    /// `tbf`, iptables `statistic` and the NFQUEUE delay line.
    Userspace,
}

/// The backend that actually runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Kernel `tc netem`.
    Kernel,
    /// The user-space shaper.
    Userspace,
}

/// The result of `labshaper probe`, printed as one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// Always `"netem_probe"`.
    pub event: &'static str,
    /// Whether a netem qdisc could be added (and was removed again).
    pub netem: bool,
    /// Why not, when it could not: `tc`'s message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Checks for kernel netem by adding a netem qdisc to [`PROBE_DEV`] and removing it.
pub fn probe() -> ProbeReport {
    let report = |netem, detail| ProbeReport {
        event: "netem_probe",
        netem,
        detail,
    };
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

/// Everything `labshaper apply` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyConfig {
    /// The egress device, e.g. `eth0`.
    pub dev: String,
    /// The shape to impose.
    pub shape: Shape,
    /// The requested backend.
    pub backend: BackendChoice,
    /// The NFQUEUE number (user-space backend).
    pub queue: u16,
    /// Most packets the kernel queues to user space at once (user-space backend).
    pub queue_max_len: u32,
    /// Seed of the jitter generator.
    pub seed: u64,
}

/// The line printed on stdout once the shape is in force.
#[derive(Debug, Clone, Serialize)]
struct Ready<'a> {
    event: &'static str,
    backend: Backend,
    requested: BackendChoice,
    dev: &'a str,
    delay_us: u64,
    jitter_us: u64,
    jitter_distribution: &'static str,
    loss: f64,
    rate_kbit: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<u16>,
    seed: u64,
}

/// The line printed on stderr when the shaper stops.
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    event: &'static str,
    backend: Backend,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_line: Option<DelayStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<usize>,
}

impl Stopped {
    /// The stop line of one shaper (`namespaces`: how many it shaped, in `host` mode).
    pub fn new(
        backend: Backend,
        delay_line: Option<DelayStats>,
        namespaces: Option<usize>,
    ) -> Self {
        Self {
            event: "shaper_stopped",
            backend,
            delay_line,
            namespaces,
        }
    }
}

/// What one `apply` did.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    /// The backend that ran.
    pub backend: Backend,
    /// The delay line's counters (user-space backend with a delay).
    pub delay_line: Option<DelayStats>,
}

/// Applies the shape, hands the ready line (JSON) to `ready` once the shape is in force,
/// waits for `term`, and removes everything it installed.
pub fn apply(
    cfg: &ApplyConfig,
    term: &Termination,
    ready: &mut dyn FnMut(String) -> Result<(), ShaperError>,
) -> Result<Applied, ShaperError> {
    cfg.shape.validate()?;
    let backend = match cfg.backend {
        BackendChoice::Kernel => Backend::Kernel,
        BackendChoice::Userspace => Backend::Userspace,
        BackendChoice::Auto => {
            if probe().netem {
                Backend::Kernel
            } else {
                Backend::Userspace
            }
        }
    };
    let mut undo = Undo::default();
    let result = match backend {
        Backend::Kernel => run_kernel(cfg, term, ready, &mut undo),
        Backend::Userspace => run_userspace(cfg, term, ready, &mut undo),
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
    ready: &mut dyn FnMut(String) -> Result<(), ShaperError>,
    undo: &mut Undo,
) -> Result<Option<DelayStats>, ShaperError> {
    match netem_replace(&cfg.dev, &cfg.shape).run() {
        Ok(()) => {}
        Err(ShaperError::Command { stderr, .. }) if stderr.contains(UNKNOWN_QDISC) => {
            return Err(ShaperError::NetemUnavailable(stderr));
        }
        Err(e) => return Err(e),
    }
    undo.push(root_qdisc_delete(&cfg.dev));
    ready(ready_line(cfg, Backend::Kernel, None)?)?;
    term.wait()?;
    Ok(None)
}

fn run_userspace(
    cfg: &ApplyConfig,
    term: &Termination,
    ready: &mut dyn FnMut(String) -> Result<(), ShaperError>,
    undo: &mut Undo,
) -> Result<Option<DelayStats>, ShaperError> {
    let shape = &cfg.shape;
    if shape.limits_rate() {
        tbf_replace(&cfg.dev, shape.rate_kbit).run()?;
        undo.push(root_qdisc_delete(&cfg.dev));
    }
    if shape.drops() {
        loss_rule(RuleOp::Append, &cfg.dev, shape.loss).run()?;
        undo.push(loss_rule(RuleOp::Delete, &cfg.dev, shape.loss));
    }
    if !shape.delays() {
        ready(ready_line(cfg, Backend::Userspace, None)?)?;
        term.wait()?;
        return Ok(None);
    }
    // Bind the queue before any packet is sent to it, and remove the rule before the queue
    // goes away: packets queued to an unbound queue are dropped.
    let socket = QueueSocket::open(cfg.queue, cfg.queue_max_len)?;
    nfqueue_rule(RuleOp::Append, &cfg.dev, cfg.queue).run()?;
    let rule_delete = nfqueue_rule(RuleOp::Delete, &cfg.dev, cfg.queue);
    let sampler = JitterSampler::new(shape.delay(), shape.jitter(), cfg.seed);
    let mut line = DelayLine::new(socket, sampler);
    let ran = ready_line(cfg, Backend::Userspace, Some(cfg.queue))
        .and_then(ready)
        .and_then(|()| line.run(term));
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

/// The `shaper_ready` line for a shape in force.
pub fn ready_line(
    cfg: &ApplyConfig,
    backend: Backend,
    queue: Option<u16>,
) -> Result<String, ShaperError> {
    let ready = Ready {
        event: "shaper_ready",
        backend,
        requested: cfg.backend,
        dev: &cfg.dev,
        delay_us: cfg.shape.delay_us,
        jitter_us: cfg.shape.jitter_us,
        jitter_distribution: "uniform",
        loss: cfg.shape.loss,
        rate_kbit: cfg.shape.rate_kbit,
        queue,
        seed: cfg.seed,
    };
    Ok(serde_json::to_string(&ready)?)
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
    use super::*;

    #[test]
    fn ready_line_names_backend_and_shape() {
        let cfg = ApplyConfig {
            dev: "eth0".to_owned(),
            shape: Shape {
                delay_us: 25_000,
                jitter_us: 2_500,
                loss: 0.01,
                rate_kbit: 0,
            },
            backend: BackendChoice::Auto,
            queue: 0,
            queue_max_len: 4096,
            seed: 7,
        };
        let text = ready_line(&cfg, Backend::Userspace, Some(0)).unwrap_or_default();
        assert_eq!(text.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        assert_eq!(value["event"], "shaper_ready");
        assert_eq!(value["backend"], "userspace");
        assert_eq!(value["requested"], "auto");
        assert_eq!(value["delay_us"], 25_000);
        assert_eq!(value["jitter_us"], 2_500);
        assert_eq!(value["loss"], 0.01);
        assert_eq!(value["queue"], 0);
    }

    #[test]
    fn probe_report_omits_empty_detail() {
        let report = ProbeReport {
            event: "netem_probe",
            netem: true,
            detail: None,
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap_or_default(),
            r#"{"event":"netem_probe","netem":true}"#
        );
    }
}
