//! The run's one shaper container (DESIGN §3: one privileged shaper per host instead of a
//! sidecar per node). It starts before the nodes, in the host's pid namespace with no
//! network of its own, and runs `labshaper host --stdin`: the runner writes each node's
//! pid to its stdin as soon as the node runs, and the shaper enters that node's network
//! namespace and shapes it, so that every node boots into shaped links (shaping a running
//! 100-node testnet at once stalled the host for 20 s and cost meshes).

use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use lab_config::shaper::DEFAULT_DEV;
use lab_config::{HostLine, ShaperConfig};
use lab_events::now_ns;
use lab_events::shaper::ShaperReport;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::docker::tools_image::LABSHAPER_IN_IMAGE;
use crate::docker::{BindMount, ContainerSpec, DockerError, DockerRunner, LogSource};
use crate::error::Error;
use crate::plan::Plan;
use crate::run::clocks::ClockSample;

/// Where the regions file is bound in the shaper container.
pub const REGIONS_IN_CONTAINER: &str = "/regions.toml";
/// The role label of the shaper container.
pub const SHAPER_ROLE: &str = "shaper";
/// How long the shaper may take to answer a clock probe.
const CLOCK_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the shaper may take to shape the last node after it was handed over.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running shaper container and the two tasks that talk to it.
pub struct HostShaper {
    /// The container's id.
    pub id: String,
    /// Each node's region name (in node order), when the run is placed in regions: its
    /// stdin line says it after the pid.
    regions: Option<Vec<String>>,
    pids: UnboundedSender<String>,
    reports: UnboundedReceiver<ShaperReport>,
    /// The host's clock readings, answering `clock` lines.
    clock: UnboundedReceiver<u64>,
    writer: JoinHandle<Result<(), String>>,
    reader: JoinHandle<()>,
}

impl HostShaper {
    /// Starts the shaper container for `plan` (from [`shaper_spec`]) and attaches to its
    /// stdin before it starts.
    pub async fn start(
        runner: &DockerRunner,
        spec: &ContainerSpec,
        plan: &Plan,
    ) -> Result<Self, Error> {
        let id = runner.create_container(spec).await.map_err(infra)?;
        let input = runner.attach_stdin(&id).await.map_err(infra)?;
        runner.start_container(&id).await.map_err(infra)?;
        Ok(Self::over(runner, id, input, plan))
    }

    /// Attaches to the stdin of a shaper container that already runs (a swarm service's
    /// task): it waits for its first line, so nothing is missed.
    pub async fn attach(runner: &DockerRunner, id: String, plan: &Plan) -> Result<Self, Error> {
        let input = runner.attach_stdin(&id).await.map_err(infra)?;
        Ok(Self::over(runner, id, input, plan))
    }

    /// The shaper container `id`, written to through `input`, read from its stdout.
    fn over(
        runner: &DockerRunner,
        id: String,
        input: Pin<Box<dyn AsyncWrite + Send>>,
        plan: &Plan,
    ) -> Self {
        let (pids, pid_rx) = unbounded_channel();
        let writer = tokio::spawn(write_pids(input, pid_rx));
        let (report_tx, reports) = unbounded_channel();
        let (clock_tx, clock) = unbounded_channel();
        let mut lines = runner.follow_logs(&id, LogSource::Stdout);
        let reader = tokio::spawn(async move {
            while let Some(Ok(line)) = lines.next().await {
                let sent = match parse_report(&line) {
                    Some(ShaperReport::Clock { realtime_ns }) => clock_tx.send(realtime_ns).is_ok(),
                    Some(report) => report_tx.send(report).is_ok(),
                    None => true,
                };
                if !sent {
                    return;
                }
            }
        });
        let regions = plan.regions.as_ref().map(|r| {
            r.of_node
                .iter()
                .map(|&i| r.names().get(i).cloned().unwrap_or_default())
                .collect()
        });
        Self {
            id,
            regions,
            pids,
            reports,
            clock,
            writer,
            reader,
        }
    }

    /// Hands a running node (its index in the plan, its pid as the host sees it) to the
    /// shaper.
    pub fn shape(&self, node: usize, pid: u32) -> Result<(), Error> {
        let region = self.regions.as_ref().and_then(|r| r.get(node)).cloned();
        self.send(HostLine::Shape { pid, region })
    }

    /// Writes `line` to the shaper's stdin (a link change needs `--live`: the plan's
    /// timeline changes links).
    pub fn send(&self, line: HostLine) -> Result<(), Error> {
        let text = line.to_string();
        self.pids
            .send(text)
            .map_err(|_| Error::Infra(format!("tell the shaper `{line}`: it stopped reading")))
    }

    /// One reading of the host's clock: the orchestrator's clock as it asked (a `clock`
    /// line on stdin) and as the answer came, and the host's in between; `None` when the
    /// shaper does not answer within a second.
    pub async fn read_clock(&mut self) -> Option<ClockSample> {
        // Answers to earlier probes that timed out are not this one's.
        while self.clock.try_recv().is_ok() {}
        let sent_ns = now_ns();
        self.send(HostLine::Clock).ok()?;
        let remote_ns = tokio::time::timeout(CLOCK_TIMEOUT, self.clock.recv())
            .await
            .ok()??;
        Some(ClockSample {
            sent_ns,
            remote_ns,
            received_ns: now_ns(),
        })
    }

    /// Waits until `nodes` namespaces are shaped; returns the back end. Fails on the first
    /// namespace that could not be shaped, when the shaper exits, or after the timeout
    /// (with the shaper's stderr).
    pub async fn await_ready(
        &mut self,
        runner: &DockerRunner,
        nodes: usize,
    ) -> Result<String, Error> {
        let mut backends: Vec<String> = Vec::new();
        let mut ready = 0;
        let why = loop {
            if ready == nodes {
                backends.sort();
                backends.dedup();
                return Ok(backends.join("+"));
            }
            match tokio::time::timeout(READY_TIMEOUT, self.reports.recv()).await {
                Ok(Some(ShaperReport::ShaperReady { backend, .. })) => {
                    ready += 1;
                    backends.push(backend.name().to_string());
                }
                Ok(Some(ShaperReport::ShaperFailed { pid, error })) => {
                    break format!("pid {pid}: {error}");
                }
                Ok(Some(_)) => {}
                Ok(None) => break "it exited".to_string(),
                Err(_) => {
                    break format!(
                        "{ready} of {nodes} nodes shaped, none more in {READY_TIMEOUT:?}"
                    );
                }
            }
        };
        let writer = if self.writer.is_finished() {
            match (&mut self.writer).await {
                Ok(Err(e)) => format!(" (stdin: {e})"),
                _ => String::new(),
            }
        } else {
            String::new()
        };
        let stderr = runner
            .collect_logs(&self.id, LogSource::Stderr)
            .await
            .unwrap_or_default()
            .join("\n");
        Err(Error::Infra(format!(
            "shape links: shaper {}: {why}{writer}: {stderr}",
            self.id
        )))
    }
}

impl Drop for HostShaper {
    fn drop(&mut self) {
        self.writer.abort();
        self.reader.abort();
    }
}

/// Writes each node's line (`PID` or `PID REGION`) to the shaper's stdin.
async fn write_pids(
    mut input: Pin<Box<dyn AsyncWrite + Send>>,
    mut pids: UnboundedReceiver<String>,
) -> Result<(), String> {
    while let Some(line) = pids.recv().await {
        input
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        input.flush().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A `shaper_ready`, `shaper_failed` or `clock` line; anything else (another report, a
/// line of text) is not a report the runner waits for.
fn parse_report(line: &str) -> Option<ShaperReport> {
    match ShaperReport::parse(line).ok()? {
        r @ (ShaperReport::ShaperReady { .. }
        | ShaperReport::ShaperFailed { .. }
        | ShaperReport::Clock { .. }) => Some(r),
        _ => None,
    }
}

/// What the shaper imposes for `plan`: its link shape in real time (dilated by the run's
/// time scale) with its back end on each node's egress device; `None` when the scenario's
/// shaper is `none`.
pub fn shaper_config(plan: &Plan) -> Option<ShaperConfig> {
    Some(ShaperConfig {
        // With regions each namespace's links come from the regions file.
        shape: plan.link.dilated(plan.time_scale),
        backend: plan.shaper.backend()?,
        dev: DEFAULT_DEV.to_string(),
    })
}

/// The `labshaper` command line of a node's sidecar, as compose files name it; `None` when
/// the scenario's shaper is `none`.
pub fn shaper_command(plan: &Plan) -> Option<Vec<String>> {
    let mut args = vec![LABSHAPER_IN_IMAGE.to_string(), "apply".into()];
    args.extend(shaper_config(plan)?.to_args());
    Some(args)
}

/// The `labshaper host` command line that shapes every node of a run from one container:
/// the same shape in the network namespace of each pid it reads on stdin; `None` when the
/// scenario's shaper is `none`.
pub fn host_shaper_command(plan: &Plan) -> Option<Vec<String>> {
    let mut args = vec![
        LABSHAPER_IN_IMAGE.to_string(),
        "host".into(),
        "--stdin".into(),
    ];
    if plan.regions.is_some() {
        args.extend(["--regions".to_string(), REGIONS_IN_CONTAINER.to_string()]);
    }
    if plan.timeline.changes_links() {
        args.push("--live".into());
    }
    args.extend(shaper_config(plan)?.to_args());
    Some(args)
}

/// The shaper container of run `run_id` for `plan`'s link shape, from the tools `image`:
/// in the host's pid namespace with no network of its own; with regions, `regions_file`
/// is the host file of [`regions_file_text`], bound in at [`REGIONS_IN_CONTAINER`].
pub fn shaper_spec(
    run_id: &str,
    plan: &Plan,
    image: &str,
    regions_file: Option<&std::path::Path>,
) -> Result<ContainerSpec, Error> {
    let cmd = host_shaper_command(plan)
        .ok_or_else(|| Error::Infra("start the shaper: the scenario's shaper is `none`".into()))?;
    Ok(ContainerSpec {
        run_id: run_id.to_string(),
        role: SHAPER_ROLE.into(),
        name: format!("{run_id}-shaper"),
        image: image.to_string(),
        cmd: Some(cmd),
        host_pid_no_network: true,
        open_stdin: true,
        // NET_ADMIN for tc/iptables/NFQUEUE, SYS_ADMIN for setns into each node's
        // namespace, SYS_PTRACE to open /proc/<pid>/ns/net of the node processes.
        cap_add: vec!["NET_ADMIN".into(), "SYS_ADMIN".into(), "SYS_PTRACE".into()],
        mounts: regions_file
            .map(|host| BindMount {
                host: host.to_path_buf(),
                container: REGIONS_IN_CONTAINER.to_string(),
                read_only: true,
            })
            .into_iter()
            .collect(),
        ..ContainerSpec::default()
    })
}

/// Where a shaper without the host's pid namespace finds the host's `/proc`.
pub const HOST_PROC_IN_CONTAINER: &str = "/host/proc";

/// `spec` for an engine that cannot put it in the host's pid namespace (a swarm
/// service): the host's `/proc` bound in read-only at [`HOST_PROC_IN_CONTAINER`], and
/// `labshaper host --proc` pointed at it, so that the host pids it is handed still name
/// the nodes' namespaces.
pub fn with_host_proc(mut spec: ContainerSpec) -> ContainerSpec {
    spec.host_pid_no_network = false;
    spec.mounts.push(BindMount {
        host: "/proc".into(),
        container: HOST_PROC_IN_CONTAINER.to_string(),
        read_only: true,
    });
    if let Some(cmd) = spec.cmd.as_mut() {
        cmd.extend(["--proc".to_string(), HOST_PROC_IN_CONTAINER.to_string()]);
    }
    spec
}

/// The regions file the shaper reads for `plan` (its matrix in real time and each region's
/// node addresses); `None` when the run is not placed in regions.
pub fn regions_file_text(plan: &Plan) -> Option<Result<String, Error>> {
    let regions = plan.regions.as_ref()?;
    let ips: Vec<std::net::Ipv4Addr> = plan.nodes.iter().map(|n| n.ip).collect();
    Some(
        regions
            .for_shaper(plan.time_scale, &ips)
            .to_toml()
            .map_err(|e| Error::Encode {
                what: "the shaper's regions file".into(),
                message: e,
            }),
    )
}

fn infra(e: DockerError) -> Error {
    Error::Infra(e.to_string())
}

#[cfg(test)]
mod tests {
    use lab_events::shaper::Backend;

    use super::*;
    use crate::scenario::ShaperChoice;
    use crate::testkit;

    #[test]
    fn reads_ready_and_failed_lines_and_ignores_the_rest() {
        // A ready line as `labshaper host` writes it.
        let ready = concat!(
            r#"{"event":"shaper_ready","backend":"userspace","requested":"auto","dev":"eth0","#,
            r#""delay_us":25000,"jitter_us":2500,"jitter_distribution":"uniform","loss":0.0,"#,
            r#""rate_kbit":0,"queue":0,"seed":3,"pid":7}"#
        );
        assert!(
            matches!(
                parse_report(ready),
                Some(ShaperReport::ShaperReady {
                    backend: Backend::Userspace,
                    delay_us: 25_000,
                    jitter_us: 2_500,
                    pid: Some(7),
                    ..
                })
            ),
            "{:?}",
            parse_report(ready)
        );
        assert_eq!(
            parse_report(r#"{"event":"shaper_failed","pid":9,"error":"failed to x"}"#),
            Some(ShaperReport::ShaperFailed {
                pid: 9,
                error: "failed to x".into()
            })
        );
        assert_eq!(parse_report(r#"{"event":"shaper_stopped"}"#), None);
        assert_eq!(
            parse_report(r#"{"event":"shaper_stopped","backend":"kernel"}"#),
            None
        );
        assert_eq!(parse_report("labshaper: hello"), None);
        // A ready line missing what labshaper always writes is not one.
        assert_eq!(
            parse_report(r#"{"event":"shaper_ready","backend":"userspace","pid":7}"#),
            None
        );
    }

    #[test]
    fn the_plans_shape_and_back_end_go_to_the_shaper() {
        let mut plan = testkit::Small {
            link: r#"{ delay = "25ms", jitter = "2.5ms", loss = 0.01, rate = "10mbit" }"#,
            ..testkit::Small::default()
        }
        .plan();
        let Some(cfg) = shaper_config(&plan) else {
            panic!("{:?} shapes", plan.shaper);
        };
        assert_eq!(cfg.shape, plan.link);
        assert_eq!(Some(cfg.backend), plan.shaper.backend());
        assert_eq!(cfg.dev, "eth0");
        assert_eq!(
            host_shaper_command(&plan).map(|c| c[3..].to_vec()),
            Some(cfg.to_args())
        );
        plan.shaper = ShaperChoice::None;
        assert_eq!(shaper_config(&plan), None);
        assert_eq!(shaper_command(&plan), None);
        assert_eq!(host_shaper_command(&plan), None);
    }
}
