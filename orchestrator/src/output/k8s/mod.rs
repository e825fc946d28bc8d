//! `orchestrator export k8s SCENARIO`: the scenario's testnet as Kubernetes manifests.
//!
//! One multi-document YAML file of typed API objects (`k8s-openapi`, Kubernetes 1.33):
//!
//! - a `Namespace`, labelled with the lab's run label (its value is the namespace's name);
//! - per node of the seeded plan, a `ConfigMap` holding its configuration as compose files
//!   and runs give it, a `Pod` of the node image with that configuration mounted (fixed
//!   hostname, the node's name), and a `Service` at the node's planned address. Pods have
//!   no fixed addresses, and the node dials `/ip4` bootstrap addresses only (its transport
//!   resolves no DNS names), so each node's bootstrap peers are their Services' cluster
//!   addresses, which a manifest may fix: `--subnet` must lie in the cluster's service
//!   range. The configurations are thus byte for byte a compose file's.
//! - when the scenario shapes links, the run's one shaper as a privileged `DaemonSet`
//!   (`labshaper host --stdin`, in the host's pid namespace), one pod per cluster node,
//!   and with regions a `ConfigMap` of the regions file. It shapes the namespace of each
//!   pid it reads on its stdin, and nothing writes them: the manifests cannot know a
//!   pod's pid. The file's header, the DaemonSet's annotation and the README say how to
//!   feed it.
//!
//! What [`super::compose`] and these manifests share comes from [`super::export`].

mod names;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, Namespace,
    Pod, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SecurityContext,
    Service, ServicePort, ServiceSpec, Sysctl, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_config::node::{ATTACK_ON_SIGNAL, is_quic};

use super::export::{
    self, CONGESTION_SYSCTL, ExportOptions, Format, Images, LABEL_NODE, NODE_LOG,
    STOP_GRACE_SECONDS,
};
use crate::docker::{LABEL_LAB, LABEL_ROLE, LABEL_RUN};
use crate::error::Error;
use crate::host::congestion;
use crate::plan::{NodePlan, Plan};
use crate::run::shaper::{
    REGIONS_IN_CONTAINER, SHAPER_ROLE, host_shaper_command, regions_file_text,
};
use crate::scenario::{CpuQuota, TimeScaleChoice};

pub use names::namespace_of;

/// The Kubernetes version whose API the manifests are written in (the `k8s-openapi`
/// feature the workspace selects).
pub const KUBERNETES_VERSION: &str = "1.33";

/// The node container's name in its pod.
const NODE_CONTAINER: &str = "node";
/// Where a node's configuration is mounted.
const CONFIG_DIR: &str = "/etc/meshnode";
/// The key (and file name) of a node's configuration in its ConfigMap.
const CONFIG_KEY: &str = "node.toml";
/// The node's variable naming its configuration file.
const CONFIG_ENV: &str = "MESHNODE_CONFIG";
/// The volume of the node's configuration.
const CONFIG_VOLUME: &str = "config";
/// The shaper DaemonSet's name and its container's.
const SHAPER_NAME: &str = "meshlab-shaper";
/// The ConfigMap of the shaper's regions file.
const REGIONS_CONFIG: &str = "meshlab-regions";
/// The key of the regions file in it.
const REGIONS_KEY: &str = "regions.toml";
/// The annotation that says how the shaper is fed.
const ANNOTATION_FEED: &str = "meshlab.feed";
/// The capabilities the shaper needs (as the run's shaper container gets them): NET_ADMIN
/// for tc/iptables/NFQUEUE, SYS_ADMIN to enter each node's network namespace, SYS_PTRACE
/// to open `/proc/<pid>/ns/net` of the node processes.
const SHAPER_CAPABILITIES: [&str; 3] = ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"];

/// How the shaper DaemonSet is fed, in its annotation (the README has the steps).
const FEED: &str = "Shapes the network namespace of every pid it reads on stdin, one line each: `PID` (with regions `PID REGION`, the pod's meshlab.region label), the pid of a node pod's meshnode process as its cluster node's host sees it. Nothing writes them: on each cluster node, find the pids of the node pods scheduled there (e.g. crictl inspect) and write them to the shaper pod of that node with `kubectl attach -i`. See README, Kubernetes.";

/// One API object of the manifests.
#[derive(Debug, Clone, PartialEq)]
enum Object {
    /// The run's namespace.
    Namespace(Namespace),
    /// A node's configuration, or the shaper's regions file.
    ConfigMap(ConfigMap),
    /// A node's fixed address.
    Service(Service),
    /// A node.
    Pod(Pod),
    /// The shaper.
    DaemonSet(DaemonSet),
}

impl Object {
    /// The object as one YAML document.
    fn to_yaml(&self) -> Result<String, serde_norway::Error> {
        match self {
            Object::Namespace(o) => serde_norway::to_string(o),
            Object::ConfigMap(o) => serde_norway::to_string(o),
            Object::Service(o) => serde_norway::to_string(o),
            Object::Pod(o) => serde_norway::to_string(o),
            Object::DaemonSet(o) => serde_norway::to_string(o),
        }
    }
}

/// Reads `--namespace`: a DNS-1123 label.
pub fn parse_namespace(s: &str) -> Result<String, String> {
    names::dns1123_label(s)?;
    Ok(s.to_string())
}

/// Plans the scenario in `opts.subnet` (the nodes' Service addresses), computes the image
/// tags from the binaries, and returns the manifests in `namespace` (default: from the
/// scenario's name). Warns on stderr when Docker is reachable and lacks an image.
pub async fn export(opts: &ExportOptions<'_>, namespace: Option<&str>) -> Result<String, Error> {
    let (plan, images) = export::prepare(opts, Format::K8s).await?;
    let ns = namespace.map_or_else(|| namespace_of(&plan.scenario), str::to_string);
    render(&plan, &images, &opts.scenario.display().to_string(), &ns)
}

/// The manifests of `plan` on `images` in namespace `ns`; `source` names the scenario in
/// the header.
pub fn render(plan: &Plan, images: &Images, source: &str, ns: &str) -> Result<String, Error> {
    let objects = objects(plan, images, source, ns)?;
    let mut o = header(plan, source, ns);
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            o.push_str("---\n");
        }
        let doc = object.to_yaml().map_err(|e| Error::Encode {
            what: "the Kubernetes manifests".into(),
            message: e.to_string(),
        })?;
        o.push_str(&doc);
    }
    Ok(o)
}

/// Every object of the manifests, in the order they are applied: the namespace, the
/// shaper, then each node's ConfigMap, Service and Pod.
fn objects(plan: &Plan, images: &Images, source: &str, ns: &str) -> Result<Vec<Object>, Error> {
    export::refuse_nat(plan, Format::K8s, source)?;
    names::dns1123_label(ns).map_err(|e| usage(format!("name the namespace: {e}")))?;
    let mut objects = vec![Object::Namespace(Namespace {
        metadata: ObjectMeta {
            name: Some(ns.to_string()),
            labels: Some(namespace_labels(ns)),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    })];
    if let (true, Some(tools)) = (plan.shapes(), &images.tools) {
        let regions = match regions_file_text(plan) {
            Some(text) => {
                let text = text?;
                objects.push(Object::ConfigMap(ConfigMap {
                    metadata: meta(REGIONS_CONFIG, ns, shaper_labels(ns)),
                    data: Some(BTreeMap::from([(REGIONS_KEY.to_string(), text)])),
                    ..ConfigMap::default()
                }));
                true
            }
            None => false,
        };
        objects.push(Object::DaemonSet(shaper(plan, tools, ns, regions)?));
    }
    for n in &plan.nodes {
        names::dns1035_label(&n.name).map_err(|e| usage(format!("name node {}: {e}", n.name)))?;
        let labels = node_labels(plan, n, ns)?;
        objects.push(Object::ConfigMap(ConfigMap {
            metadata: meta(&n.name, ns, labels.clone()),
            data: Some(BTreeMap::from([(
                CONFIG_KEY.to_string(),
                export::node_config(n)?,
            )])),
            ..ConfigMap::default()
        }));
        objects.push(Object::Service(service(n, ns, labels.clone())));
        objects.push(Object::Pod(pod(plan, n, images, ns, labels)));
    }
    Ok(objects)
}

fn usage(message: String) -> Error {
    Error::Usage(format!("export k8s: {message}"))
}

/// The labels of every object of the run in namespace `ns`.
fn run_labels(ns: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_LAB.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), ns.to_string()),
    ])
}

/// The namespace's labels: the run's, and Pod Security `privileged` (the shaper is a
/// privileged pod in the host's pid namespace and the node pods set a sysctl; a namespace
/// under `baseline` or `restricted` would refuse them).
fn namespace_labels(ns: &str) -> BTreeMap<String, String> {
    let mut labels = run_labels(ns);
    labels.insert(
        "pod-security.kubernetes.io/enforce".to_string(),
        "privileged".to_string(),
    );
    labels
}

/// The labels of node `n`'s objects: the run's and what the node is, each value checked.
fn node_labels(plan: &Plan, n: &NodePlan, ns: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut labels = run_labels(ns);
    for (key, value) in export::node_labels(plan, n) {
        names::label_value(&value).map_err(|e| usage(format!("label node {}: {e}", n.name)))?;
        labels.insert(key, value);
    }
    Ok(labels)
}

fn shaper_labels(ns: &str) -> BTreeMap<String, String> {
    let mut labels = run_labels(ns);
    labels.insert(LABEL_ROLE.to_string(), SHAPER_ROLE.to_string());
    labels
}

fn meta(name: &str, ns: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(ns.to_string()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// A port a node listens on: its name, protocol and number.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodePort {
    name: &'static str,
    protocol: &'static str,
    port: u16,
}

/// The ports node `n` listens on for peers (from its configuration's listen addresses).
fn peer_ports(n: &NodePlan) -> Vec<NodePort> {
    n.node_config(None)
        .listen
        .iter()
        .filter_map(|addr| {
            let port = addr.split('/').nth(4)?.parse().ok()?;
            Some(if is_quic(addr) {
                NodePort {
                    name: "quic",
                    protocol: "UDP",
                    port,
                }
            } else {
                NodePort {
                    name: "tcp",
                    protocol: "TCP",
                    port,
                }
            })
        })
        .collect()
}

/// Node `n`'s Service: its planned address (the cluster address its peers dial), to its
/// pod alone.
fn service(n: &NodePlan, ns: &str, labels: BTreeMap<String, String>) -> Service {
    Service {
        metadata: meta(&n.name, ns, labels),
        spec: Some(ServiceSpec {
            cluster_ip: Some(n.ip.to_string()),
            selector: Some(BTreeMap::from([
                (LABEL_RUN.to_string(), ns.to_string()),
                (LABEL_NODE.to_string(), n.name.clone()),
            ])),
            ports: Some(
                peer_ports(n)
                    .into_iter()
                    .map(|p| ServicePort {
                        name: Some(p.name.to_string()),
                        protocol: Some(p.protocol.to_string()),
                        port: i32::from(p.port),
                        target_port: Some(IntOrString::Int(i32::from(p.port))),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The CPU limit of a dilated node's quota, in millicores (rounded up: never below the
/// quota). Kubernetes keeps its own CFS period (100 ms by default).
fn cpu_limit(q: CpuQuota) -> Quantity {
    let milli = (q.quota_us.saturating_mul(1000) + q.period_us - 1) / q.period_us.max(1);
    Quantity(format!("{}m", milli.max(1)))
}

/// Node `n`'s pod: the node image with its configuration mounted, as compose gives it.
fn pod(
    plan: &Plan,
    n: &NodePlan,
    images: &Images,
    ns: &str,
    labels: BTreeMap<String, String>,
) -> Pod {
    let config = n.node_config(None);
    let mut ports: Vec<ContainerPort> = peer_ports(n)
        .into_iter()
        .map(|p| ContainerPort {
            name: Some(p.name.to_string()),
            protocol: Some(p.protocol.to_string()),
            container_port: i32::from(p.port),
            ..ContainerPort::default()
        })
        .collect();
    if config.metrics_port != 0 {
        ports.push(ContainerPort {
            name: Some("metrics".into()),
            protocol: Some("TCP".into()),
            container_port: i32::from(config.metrics_port),
            ..ContainerPort::default()
        });
    }
    let env = |name: &str, value: &str| EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        ..EnvVar::default()
    };
    Pod {
        metadata: meta(&n.name, ns, labels),
        spec: Some(PodSpec {
            hostname: Some(n.name.clone()),
            // A run does not restart a node either (a crash is a finding).
            restart_policy: Some("Never".into()),
            termination_grace_period_seconds: Some(
                i64::try_from(STOP_GRACE_SECONDS).unwrap_or(i64::MAX),
            ),
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            security_context: Some(PodSecurityContext {
                sysctls: Some(vec![Sysctl {
                    name: CONGESTION_SYSCTL.to_string(),
                    value: congestion::WANTED.to_string(),
                }]),
                ..PodSecurityContext::default()
            }),
            containers: vec![Container {
                name: NODE_CONTAINER.to_string(),
                image: Some(images.node.clone()),
                image_pull_policy: Some("IfNotPresent".into()),
                env: Some(vec![
                    env(NODE_LOG.0, NODE_LOG.1),
                    env(CONFIG_ENV, &format!("{CONFIG_DIR}/{CONFIG_KEY}")),
                ]),
                ports: Some(ports),
                volume_mounts: Some(vec![VolumeMount {
                    name: CONFIG_VOLUME.to_string(),
                    mount_path: CONFIG_DIR.to_string(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                }]),
                resources: plan.cpu_quota.map(|q| ResourceRequirements {
                    limits: Some(BTreeMap::from([("cpu".to_string(), cpu_limit(q))])),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            volumes: Some(vec![Volume {
                name: CONFIG_VOLUME.to_string(),
                config_map: Some(ConfigMapVolumeSource {
                    name: n.name.clone(),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// The run's one shaper, one pod per cluster node: `labshaper host --stdin` in the host's
/// pid namespace with the run's arguments; with `regions`, the regions file mounted where
/// the run binds it.
fn shaper(plan: &Plan, tools: &str, ns: &str, regions: bool) -> Result<DaemonSet, Error> {
    let command = host_shaper_command(plan)
        .ok_or_else(|| Error::Infra("export k8s: the scenario's shaper is `none`".into()))?;
    let labels = shaper_labels(ns);
    let selector = BTreeMap::from([
        (LABEL_RUN.to_string(), ns.to_string()),
        (LABEL_ROLE.to_string(), SHAPER_ROLE.to_string()),
    ]);
    let mut metadata = meta(SHAPER_NAME, ns, labels.clone());
    metadata.annotations = Some(BTreeMap::from([(
        ANNOTATION_FEED.to_string(),
        FEED.to_string(),
    )]));
    Ok(DaemonSet {
        metadata,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    host_pid: Some(true),
                    host_network: Some(false),
                    automount_service_account_token: Some(false),
                    containers: vec![Container {
                        name: SHAPER_NAME.to_string(),
                        image: Some(tools.to_string()),
                        image_pull_policy: Some("IfNotPresent".into()),
                        command: Some(command),
                        // Its pids come on stdin, written with `kubectl attach -i`.
                        stdin: Some(true),
                        security_context: Some(SecurityContext {
                            privileged: Some(true),
                            capabilities: Some(Capabilities {
                                add: Some(
                                    SHAPER_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
                                ),
                                ..Capabilities::default()
                            }),
                            ..SecurityContext::default()
                        }),
                        volume_mounts: regions.then(|| {
                            vec![VolumeMount {
                                name: REGIONS_CONFIG.to_string(),
                                mount_path: REGIONS_IN_CONTAINER.to_string(),
                                sub_path: Some(REGIONS_KEY.to_string()),
                                read_only: Some(true),
                                ..VolumeMount::default()
                            }]
                        }),
                        ..Container::default()
                    }],
                    volumes: regions.then(|| {
                        vec![Volume {
                            name: REGIONS_CONFIG.to_string(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: REGIONS_CONFIG.to_string(),
                                ..ConfigMapVolumeSource::default()
                            }),
                            ..Volume::default()
                        }]
                    }),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        ..DaemonSet::default()
    })
}

/// The comment block the file opens with: what it holds, and how to run it.
fn header(plan: &Plan, source: &str, ns: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Generated by `orchestrator export k8s {source}`; regenerate rather than edit."
    );
    let links = if !plan.shapes() {
        "unshaped".to_string()
    } else if let Some(r) = &plan.regions {
        format!(
            "from the {} regions of matrix {} by the labshaper DaemonSet ({})",
            r.names().len(),
            r.matrix.name,
            plan.shaper
        )
    } else {
        format!(
            "{:?} ± {:?} by the labshaper DaemonSet ({})",
            plan.link.delay, plan.link.jitter, plan.shaper
        )
    };
    let _ = writeln!(
        o,
        "# Scenario {}, seed {}: {} node pods in namespace {ns}, links {links}.",
        plan.scenario,
        plan.seed,
        plan.nodes.len(),
    );
    let _ = writeln!(
        o,
        "# Kubernetes {KUBERNETES_VERSION} objects. README, \"Kubernetes\", has the steps and what does not carry over.\n#"
    );
    let _ = writeln!(
        o,
        "# Each node dials its peers' Services, at the planned addresses in {}: that range\n\
         # must lie in the cluster's service range and be free (`--subnet`; kubeadm's default\n\
         # range is 10.96.0.0/12). The images are the ones `./lab run` builds (it prints their\n\
         # tags): load them into the cluster's nodes (`kind load docker-image IMAGE`) or push\n\
         # them where the nodes pull from. Node pods select {} congestion control, a sysctl\n\
         # the kubelets must allow: --allowed-unsafe-sysctls={CONGESTION_SYSCTL}.",
        plan.subnet.cidr(),
        congestion::WANTED,
    );
    if plan.shapes() && plan.regions.is_some() {
        let _ = writeln!(
            o,
            "# With regions the shaper tells a packet's sender by its source address. Its regions\n\
             # file ({REGIONS_CONFIG}) lists the Services' addresses, the source of the packets of\n\
             # connections a node dialled; those it accepted come from the dialler's pod address:\n\
             # add the pods' addresses to their regions before feeding the shaper (README)."
        );
    }
    if plan.time_scale_asked == TimeScaleChoice::Auto.to_string() {
        let _ = writeln!(
            o,
            "# time_scale = \"auto\" sizes k to this host's cores, not a cluster's: planned in real time."
        );
    }
    let _ = writeln!(o, "#");
    let _ = writeln!(o, "#   kubectl apply -f FILE");
    let _ = writeln!(
        o,
        "#   kubectl -n {ns} wait --for=condition=Ready pod -l {LABEL_RUN}={ns}"
    );
    if plan.shapes() {
        let _ = writeln!(
            o,
            "#   # feed the shaper: each node pod's pid to the {SHAPER_NAME} pod on its cluster node"
        );
    }
    let _ = writeln!(
        o,
        "#   kubectl -n {ns} debug POD --image=busybox --target={NODE_CONTAINER} -- kill -USR1 1   # start traffic, for each of:"
    );
    let _ = writeln!(o, "#     {}", export::publishers(plan).join(" "));
    let dormant = export::dormant(plan);
    if !dormant.is_empty() {
        let _ = writeln!(
            o,
            "#   # the timeline is not carried over: these act their role after `kill -{ATTACK_ON_SIGNAL} 1`:\n#     {}",
            dormant.join(" ")
        );
    }
    let _ = writeln!(
        o,
        "#   kubectl -n {ns} logs {}   # JSON events, e.g. \"delivered\"",
        plan.nodes.first().map_or("", |n| n.name.as_str())
    );
    let _ = writeln!(o, "#   kubectl delete namespace {ns}");
    o
}

#[cfg(test)]
mod schema;

#[cfg(test)]
mod tests;
