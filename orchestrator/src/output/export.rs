//! What every `orchestrator export` format shares (`compose`, `k8s`): the seeded plan, the
//! images `run` builds, and the facts of each node's container (its configuration,
//! environment, labels, congestion control), so that the formats cannot drift apart.

use std::collections::BTreeMap;
use std::path::Path;

use crate::docker::tools_image::{tools_context, tools_tag};
use crate::docker::{DockerRunner, LABEL_ROLE, context_hash, node_image_context};
use crate::error::Error;
use crate::plan::{self, NodePlan, Plan, Subnet};
use crate::run::binaries;
use crate::scenario::TimeScaleChoice;

/// The subnet exports use unless told otherwise: `10.97.0.0/16`, outside the 10.77–10.96
/// range runs pick from (so a compose testnet and lab runs can coexist), and inside the
/// service range kubeadm and minikube give a cluster by default (`10.96.0.0/12`).
pub const EXPORT_SUBNET: Subnet = Subnet { octets: [10, 97] };

/// The name of each exported node's resources (as a run's containers).
pub use crate::docker::LABEL_NODE;
/// The group of an exported node.
pub const LABEL_GROUP: &str = "meshlab.group";
/// The region of an exported node, in a scenario placed in regions.
pub const LABEL_REGION: &str = "meshlab.region";

/// The variable that holds a node's log filter, and its value in every export (a run's):
/// warnings only on stderr, the events on stdout.
pub use crate::run::NODE_LOG;

/// The namespaced sysctl that selects a node's TCP congestion control
/// ([`crate::host::congestion::WANTED`]).
pub const CONGESTION_SYSCTL: &str = "net.ipv4.tcp_congestion_control";

/// How long a node is given to stop before it is killed, in seconds (a run's).
pub const STOP_GRACE_SECONDS: u64 = crate::run::STOP_GRACE.as_secs();

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A docker compose file (`output::compose`).
    Compose,
    /// Kubernetes manifests (`output::k8s`).
    K8s,
}

impl Format {
    /// The format's subcommand, `compose` or `k8s`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Compose => "compose",
            Format::K8s => "k8s",
        }
    }
}

/// The images an export names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// The node image, `meshlab-node:<hash>`.
    pub node: String,
    /// The shaper image, `labtools:<hash>`, when the scenario shapes links.
    pub tools: Option<String>,
}

/// What `export` is given.
#[derive(Debug, Clone)]
pub struct ExportOptions<'a> {
    /// The scenario file.
    pub scenario: &'a Path,
    /// The nodes' subnet: compose's network, or Kubernetes' node Service addresses.
    pub subnet: Subnet,
    /// A prebuilt static meshnode (with `shaper_binary`; default: cargo builds both).
    pub node_binary: Option<&'a Path>,
    /// A prebuilt static labshaper.
    pub shaper_binary: Option<&'a Path>,
}

/// Parses `A.B.0.0/16` (or `A.B`) into a subnet.
pub fn parse_subnet(s: &str) -> Result<Subnet, String> {
    let bad = || format!("subnet {s:?} is not of the form A.B.0.0/16");
    let head = s.strip_suffix(".0.0/16").unwrap_or(s);
    let mut parts = head.split('.');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let a: u8 = a.parse().map_err(|_| bad())?;
    let b: u8 = b.parse().map_err(|_| bad())?;
    Ok(Subnet::new(a, b))
}

/// Loads and plans the scenario of `opts` for `format` ([`plan_for`]), and computes the
/// image tags from the binaries. Warns on stderr when Docker is reachable and lacks an
/// image.
pub async fn prepare(opts: &ExportOptions<'_>, format: Format) -> Result<(Plan, Images), Error> {
    let plan = plan_for(opts.scenario, opts.subnet, format)?;
    let bins = binaries::build(opts.node_binary, opts.shaper_binary)?;
    let images = image_tags(&plan, &bins)?;
    if let Ok(runner) = DockerRunner::connect().await {
        for tag in std::iter::once(&images.node).chain(images.tools.as_ref()) {
            if matches!(runner.image_exists(tag).await, Ok(false)) {
                eprintln!(
                    "warning: image {tag} is not built yet: `./lab run {}` builds it",
                    opts.scenario.display()
                );
            }
        }
    }
    Ok((plan, images))
}

/// Loads the scenario at `path` and plans it in `subnet` for `format`.
///
/// `time_scale = "auto"` sizes the dilation to this host's cores: right for compose, which
/// runs here, but a cluster's cores are not this host's, so Kubernetes manifests are
/// planned in real time unless the scenario fixes its time scale (the plan still records
/// that `auto` was asked).
pub fn plan_for(path: &Path, subnet: Subnet, format: Format) -> Result<Plan, Error> {
    let mut s = plan::load(path)?;
    let asked = s.time_scale;
    if format == Format::K8s && asked == TimeScaleChoice::Auto {
        s.time_scale = TimeScaleChoice::Fixed(lab_config::TimeScale::REAL);
    }
    let mut plan = plan::plan(&s, subnet);
    plan.time_scale_asked = asked.to_string();
    Ok(plan)
}

/// The image tags `orchestrator run` would build for these binaries.
pub fn image_tags(plan: &Plan, bins: &binaries::Binaries) -> Result<Images, Error> {
    let node_ctx = node_image_context(&bins.meshnode).map_err(|e| Error::Infra(e.to_string()))?;
    let tools = if plan.shapes() {
        let ctx = tools_context(&bins.labshaper).map_err(|e| Error::Infra(e.to_string()))?;
        Some(tools_tag(&ctx))
    } else {
        None
    };
    Ok(Images {
        node: format!("meshlab-node:{}", context_hash(&node_ctx)),
        tools,
    })
}

/// Fails when the scenario puts nodes behind NATs: their routers and private networks are
/// set up by `run` alone.
pub fn refuse_nat(plan: &Plan, format: Format, source: &str) -> Result<(), Error> {
    if plan.has_nat() {
        return Err(Error::Usage(format!(
            "export {} {source}: the scenario puts nodes behind NATs, whose routers and private networks only `run` sets up (export it without `nat`)",
            format.name()
        )));
    }
    Ok(())
}

/// A node's configuration as exports give it: the run's, except that publishers have no
/// start time and wait for SIGUSR1.
pub fn node_config(n: &NodePlan) -> Result<String, Error> {
    n.node_config_toml(None)
}

/// The nodes that publish once signalled (SIGUSR1).
pub fn publishers(plan: &Plan) -> Vec<&str> {
    plan.nodes
        .iter()
        .filter(|n| n.traffic.is_some())
        .map(|n| n.name.as_str())
        .collect()
}

/// The nodes whose role stays dormant until signalled
/// ([`lab_config::node::ATTACK_ON_SIGNAL`]), which a run's timeline does and an export
/// leaves to its user.
pub fn dormant(plan: &Plan) -> Vec<&str> {
    plan.nodes
        .iter()
        .filter(|n| n.dormant)
        .map(|n| n.name.as_str())
        .collect()
}

/// The region node `n` is placed in, in a scenario placed in regions.
pub fn region_of<'p>(plan: &'p Plan, n: &NodePlan) -> Option<&'p str> {
    let regions = plan.regions.as_ref()?;
    let r = *regions.of_node.get(n.index)?;
    regions.names().get(r).map(String::as_str)
}

/// The labels that say what an exported node is: its name, role and group, and its
/// region when placed in one (keys in order).
pub fn node_labels(plan: &Plan, n: &NodePlan) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (LABEL_NODE.to_string(), n.name.clone()),
        (LABEL_ROLE.to_string(), n.role.name().to_string()),
        (LABEL_GROUP.to_string(), n.group.clone()),
    ]);
    if let Some(region) = region_of(plan, n) {
        labels.insert(LABEL_REGION.to_string(), region.to_string());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse() {
        assert_eq!(parse_subnet("10.97.0.0/16"), Ok(Subnet::new(10, 97)));
        assert_eq!(parse_subnet("172.30"), Ok(Subnet::new(172, 30)));
        assert!(parse_subnet("10.97.1.0/24").is_err());
        assert!(parse_subnet("300.1").is_err());
    }
}
