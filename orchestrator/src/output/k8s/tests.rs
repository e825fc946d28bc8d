use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_json::{Value, json};

use super::schema::Schemas;
use super::*;
use crate::output::export::{EXPORT_SUBNET, plan_for};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn images() -> Images {
    Images {
        node: "meshlab-node:0123456789abcdef".into(),
        tools: Some("labtools:fedcba9876543210".into()),
    }
}

/// The plan `export k8s` makes of the repository's scenario at `path`.
fn planned(path: &str) -> Plan {
    plan_for(&repo().join(path), EXPORT_SUBNET, Format::K8s).expect("plans")
}

fn parsed(text: &str) -> Plan {
    let s =
        crate::scenario::parse(Path::new("t.toml"), text, &repo().join("netem")).expect("valid");
    crate::plan::plan(&s, EXPORT_SUBNET)
}

/// Every document of a multi-document YAML text, as JSON.
fn documents(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("a YAML document"))
        .collect()
}

fn rendered(plan: &Plan) -> Vec<Value> {
    let ns = namespace_of(&plan.scenario);
    documents(&render(plan, &images(), "t.toml", &ns).expect("renders"))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn assert_valid(schemas: &Schemas, docs: &[Value]) {
    assert!(!docs.is_empty());
    for d in docs {
        let problems = schemas.problems(d);
        assert!(problems.is_empty(), "{problems:#?}\n{d:#}");
    }
}

const FOUR_NODES: &str = r#"
[scenario]
name = "four"
seed = 4
duration = "30s"
[network]
link = { delay = "25ms", jitter = "2.5ms" }
[[groups]]
id = "node"
count = 4
[traffic]
publishers = 1
rate = "2/s"
size = "1KiB"
"#;

#[test]
fn the_exports_of_byzantine_and_four_are_valid_kubernetes_objects() {
    let schemas = Schemas::load();
    for path in ["scenarios/byzantine.toml", "compose/four.toml"] {
        let plan = planned(path);
        let docs = rendered(&plan);
        assert_valid(&schemas, &docs);
        assert_eq!(of_kind(&docs, "Pod").len(), plan.nodes.len(), "{path}");
        assert_eq!(of_kind(&docs, "DaemonSet").len(), 1, "{path}");
    }
}

#[test]
fn the_committed_example_is_valid_and_names_every_node_of_its_scenario() {
    let text = std::fs::read_to_string(repo().join("k8s/four.yaml")).expect("example");
    let docs = documents(&text);
    assert_valid(&Schemas::load(), &docs);
    let pods: BTreeSet<&str> = of_kind(&docs, "Pod")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    let plan = planned("compose/four.toml");
    assert_eq!(
        pods,
        plan.nodes.iter().map(|n| n.name.as_str()).collect(),
        "regenerate: ./lab export k8s compose/four.toml -o k8s/four.yaml"
    );
}

#[test]
fn the_schemas_reject_a_wrong_field_a_wrong_type_and_an_unknown_kind() {
    let schemas = Schemas::load();
    let docs = rendered(&planned("compose/four.toml"));
    let pod = of_kind(&docs, "Pod")[0].clone();
    assert!(schemas.problems(&pod).is_empty());

    let mut misspelt = pod.clone();
    misspelt["spec"]["containers"][0]["imagePolicy"] = json!("IfNotPresent");
    let problems = schemas.problems(&misspelt);
    assert!(
        problems.iter().any(|p| p.contains("imagePolicy")),
        "{problems:?}"
    );

    let mut mistyped = pod.clone();
    mistyped["spec"]["hostPID"] = json!("yes");
    assert!(!schemas.problems(&mistyped).is_empty());

    let mut daemon_set = named(&docs, "DaemonSet", SHAPER_NAME).clone();
    daemon_set["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] =
        json!(1);
    assert!(!schemas.problems(&daemon_set).is_empty());

    let mut deployment = pod;
    deployment["kind"] = json!("Deployment");
    assert_eq!(
        schemas.problems(&deployment),
        ["no schema for apiVersion \"v1\" kind \"Deployment\""]
    );
}

#[test]
fn every_node_is_a_configmap_a_service_at_its_address_and_a_pod_mounting_its_config() {
    let plan = parsed(FOUR_NODES);
    let docs = rendered(&plan);
    let ns = "meshlab-four";
    assert_eq!(docs[0]["kind"], "Namespace");
    assert_eq!(docs[0]["metadata"]["name"], ns);
    assert_eq!(docs[0]["metadata"]["labels"][LABEL_RUN], ns);
    assert_eq!(docs[0]["metadata"]["labels"][LABEL_LAB], "1");
    for d in &docs[1..] {
        assert_eq!(d["metadata"]["namespace"], ns, "{d:#}");
        assert_eq!(d["metadata"]["labels"][LABEL_RUN], ns, "{d:#}");
    }
    for n in &plan.nodes {
        let config = named(&docs, "ConfigMap", &n.name);
        assert_eq!(
            config["data"][CONFIG_KEY].as_str(),
            Some(export::node_config(n).expect("config").as_str()),
            "the configuration compose gives, byte for byte"
        );
        let service = named(&docs, "Service", &n.name);
        assert_eq!(service["spec"]["clusterIP"], n.ip.to_string());
        assert_eq!(service["spec"]["selector"][LABEL_NODE], n.name.as_str());
        assert_eq!(
            service["spec"]["ports"],
            json!([
                {"name": "tcp", "port": 4001, "protocol": "TCP", "targetPort": 4001},
                {"name": "quic", "port": 4001, "protocol": "UDP", "targetPort": 4001},
            ])
        );
        let pod = named(&docs, "Pod", &n.name);
        let labels = &pod["metadata"]["labels"];
        assert_eq!(labels[LABEL_NODE], n.name.as_str());
        assert_eq!(labels[LABEL_ROLE], "honest");
        assert_eq!(labels[export::LABEL_GROUP], "node");
        let spec = &pod["spec"];
        assert_eq!(spec["hostname"], n.name.as_str());
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(
            spec["securityContext"]["sysctls"],
            json!([{"name": CONGESTION_SYSCTL, "value": "cubic"}])
        );
        assert_eq!(spec["volumes"][0]["configMap"]["name"], n.name.as_str());
        let c = &spec["containers"][0];
        assert_eq!(c["image"], "meshlab-node:0123456789abcdef");
        assert_eq!(
            c["env"],
            json!([
                {"name": "RUST_LOG", "value": "warn"},
                {"name": "MESHNODE_CONFIG", "value": "/etc/meshnode/node.toml"},
            ])
        );
        assert_eq!(c["volumeMounts"][0]["mountPath"], CONFIG_DIR);
        assert!(c.get("resources").is_none(), "real time: no CPU limit");
    }
}

#[test]
fn bootstrap_peers_are_dialled_at_their_services_addresses() {
    let plan = planned("scenarios/byzantine.toml");
    let docs = rendered(&plan);
    let service_ips: BTreeSet<String> = of_kind(&docs, "Service")
        .iter()
        .map(|s| s["spec"]["clusterIP"].as_str().expect("ip").to_string())
        .collect();
    assert_eq!(service_ips.len(), plan.nodes.len());
    let mut dials = 0;
    for n in &plan.nodes {
        for addr in &n.bootstrap {
            let ip = addr.split('/').nth(2).expect("/ip4/IP/...");
            assert!(service_ips.contains(ip), "{}: {addr}", n.name);
            dials += 1;
        }
    }
    assert!(dials >= plan.nodes.len(), "{dials}");
}

#[test]
fn the_shaper_is_a_privileged_daemon_set_in_the_hosts_pid_namespace_fed_on_stdin() {
    let plan = planned("scenarios/byzantine.toml");
    let docs = rendered(&plan);
    let ds = named(&docs, "DaemonSet", SHAPER_NAME);
    assert_eq!(ds["apiVersion"], "apps/v1");
    assert!(
        ds["metadata"]["annotations"][ANNOTATION_FEED]
            .as_str()
            .is_some_and(|a| a.contains("kubectl attach -i"))
    );
    let selector = &ds["spec"]["selector"]["matchLabels"];
    let template_labels = &ds["spec"]["template"]["metadata"]["labels"];
    for (k, v) in selector.as_object().expect("labels") {
        assert_eq!(&template_labels[k], v, "the selector picks its own pods");
    }
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(spec["hostPID"], true);
    assert_eq!(spec["hostNetwork"], false);
    let c = &spec["containers"][0];
    assert_eq!(c["image"], "labtools:fedcba9876543210");
    assert_eq!(c["stdin"], true);
    assert_eq!(
        c["command"],
        json!(host_shaper_command(&plan).expect("shapes"))
    );
    assert_eq!(c["securityContext"]["privileged"], true);
    assert_eq!(
        c["securityContext"]["capabilities"]["add"],
        json!(["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"])
    );
    // With regions, the run's regions file where the run binds it.
    assert_eq!(c["volumeMounts"][0]["mountPath"], REGIONS_IN_CONTAINER);
    let regions = named(&docs, "ConfigMap", REGIONS_CONFIG);
    let text = regions["data"][REGIONS_KEY].as_str().expect("file");
    let file = lab_config::SourceRegions::from_toml(text).expect("the shaper reads it");
    assert_eq!(file.matrix.regions.len(), 5);
    assert_eq!(
        file.senders.iter().map(Vec::len).sum::<usize>(),
        plan.nodes.len()
    );
    // Each node pod says its region, for the shaper's `PID REGION` lines.
    let pod = named(&docs, "Pod", "honest-apne-0");
    assert_eq!(
        pod["metadata"]["labels"][export::LABEL_REGION],
        "ap-northeast"
    );
}

#[test]
fn an_unshaped_scenario_has_no_shaper_and_an_unregioned_one_no_regions_file() {
    let plan = parsed(&FOUR_NODES.replace("link = {", "shaper = \"none\"\nlink = {"));
    let docs = rendered(&plan);
    assert!(of_kind(&docs, "DaemonSet").is_empty());
    let docs = rendered(&parsed(FOUR_NODES));
    assert_eq!(of_kind(&docs, "DaemonSet").len(), 1);
    assert_eq!(
        of_kind(&docs, "ConfigMap").len(),
        4,
        "one a node, no regions"
    );
    let ds = named(&docs, "DaemonSet", SHAPER_NAME);
    assert!(ds["spec"]["template"]["spec"].get("volumes").is_none());
}

#[test]
fn a_dilated_plan_limits_each_node_to_its_cpu_quota() {
    let mut plan = parsed(FOUR_NODES);
    plan.time_scale = lab_config::TimeScale::new(4.0).expect("valid");
    plan.cpu_quota = CpuQuota::of(plan.cpu_per_node, plan.time_scale);
    let docs = rendered(&plan);
    for pod in of_kind(&docs, "Pod") {
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "250m"}})
        );
    }
    assert_eq!(
        cpu_limit(CpuQuota {
            period_us: 3000,
            quota_us: 1000
        }),
        Quantity("334m".into()),
        "rounded up"
    );
}

#[test]
fn time_scale_auto_is_planned_in_real_time_and_said_so() {
    let plan = planned("scenarios/byzantine.toml");
    assert!(plan.time_scale.is_real());
    assert_eq!(plan.cpu_quota, None);
    let yaml = render(&plan, &images(), "b.toml", "b").expect("renders");
    assert!(yaml.contains("time_scale = \"auto\""), "{yaml}");
    let compose = plan_for(
        &repo().join("scenarios/byzantine.toml"),
        EXPORT_SUBNET,
        Format::Compose,
    )
    .expect("plans");
    assert_eq!(compose.time_scale_asked, plan.time_scale_asked);
}

#[test]
fn the_header_says_how_to_start_traffic_and_the_dormant_roles() {
    let plan = planned("scenarios/byzantine.toml");
    let yaml = render(
        &plan,
        &images(),
        "scenarios/byzantine.toml",
        "meshlab-byzantine",
    )
    .expect("renders");
    let header: Vec<&str> = yaml.lines().take_while(|l| l.starts_with('#')).collect();
    let header = header.join("\n");
    for p in export::publishers(&plan) {
        assert!(header.contains(&format!(" {p}")), "{p}: {header}");
    }
    assert!(
        header.contains("kill -12 1`:\n#     flash-0 flash-1"),
        "{header}"
    );
    assert!(header.contains("kubectl delete namespace meshlab-byzantine"));
    assert!(yaml.starts_with("# Generated by `orchestrator export k8s scenarios/byzantine.toml`"));
    assert!(!yaml.contains('\t'));
}

#[test]
fn names_are_checked_before_anything_is_written() {
    assert_eq!(parse_namespace("lab-1"), Ok("lab-1".to_string()));
    let e = parse_namespace("Lab_1").expect_err("invalid");
    assert!(e.starts_with("`Lab_1` is not a DNS-1123 label"), "{e}");
    let e = parse_namespace(&"n".repeat(64)).expect_err("too long");
    assert!(e.contains("64 characters"), "{e}");
    let e = render(&parsed(FOUR_NODES), &images(), "t.toml", "-x").expect_err("invalid");
    assert!(
        e.to_string()
            .starts_with("parse the command line: export k8s: name the namespace: `-x`"),
        "{e}"
    );
}

#[test]
fn nat_scenarios_are_refused_as_compose_refuses_them() {
    let plan = planned("scenarios/nat.toml");
    let e = render(&plan, &images(), "scenarios/nat.toml", "n").expect_err("refused");
    assert!(
        e.to_string()
            .contains("export k8s scenarios/nat.toml: the scenario puts nodes behind NATs"),
        "{e}"
    );
}
