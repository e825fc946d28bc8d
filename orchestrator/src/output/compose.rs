//! `orchestrator export compose SCENARIO`: the scenario's testnet as a docker compose file.
//!
//! One service per node of the seeded plan, on the image `meshlab-node:<hash>` that
//! `orchestrator run` builds from the same `meshnode` binary, with its fixed address on a
//! compose network of the plan's subnet and its whole configuration in
//! `MESHNODE_CONFIG_TOML` (as the runner hands it). When the scenario shapes links, each
//! node also gets a `<node>-shaper` sidecar on the `labtools:<hash>` image sharing its
//! network namespace, with the shape flags the runner's one host shaper uses.
//!
//! Publishers wait for SIGUSR1 (their configs have no `start_at_ms`, unlike in a run),
//! so traffic starts with `docker compose kill -s SIGUSR1 <publisher…>`; the file's header
//! lists them. The default subnet is [`COMPOSE_SUBNET`], outside the 10.77–10.96 range
//! runs pick from, so a compose testnet and lab runs can coexist.
//!
//! A plan of several bridges (above `plan::NODES_PER_BRIDGE` nodes) gets one compose
//! network a bridge, `mesh-<k>` on the plan's /20s, without masquerading, as a run creates
//! them; compose cannot route between them, so the header gives the `DOCKER-USER` rule to
//! insert before `up` and delete after `down` (comment `meshlab-compose:<scenario>`).

use std::fmt::Write as _;
use std::path::Path;

use crate::docker::tools_image::{tools_context, tools_tag};
use crate::docker::{DockerRunner, MASQUERADE_OPTION, context_hash, node_image_context};
use crate::error::Error;
use crate::host::bridges::AcceptRule;
use crate::plan::{self, Plan, Subnet};
use crate::run::binaries;
use crate::run::shaper::shaper_command;

/// The subnet compose files use unless told otherwise: `10.97.0.0/16`.
pub const COMPOSE_SUBNET: Subnet = Subnet { octets: [10, 97] };

/// The images a compose file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeImages {
    /// The node image, `meshlab-node:<hash>`.
    pub node: String,
    /// The shaper image, `labtools:<hash>`, when the scenario shapes links.
    pub tools: Option<String>,
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

/// A YAML double-quoted scalar (JSON string syntax, which YAML reads alike), with `$`
/// doubled so that compose does not interpolate it.
fn quoted(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| format!("\"{s}\""))
        .replace('$', "$$")
}

/// `text` as a YAML literal block (`|`) indented by `indent` spaces, `$` doubled.
fn literal_block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut o = String::from("|\n");
    for line in text.trim_end_matches('\n').lines() {
        if line.is_empty() {
            o.push('\n');
        } else {
            let _ = writeln!(o, "{pad}{}", line.replace('$', "$$"));
        }
    }
    o
}

/// The compose network of bridge `k` of `plan`: `mesh` when it has one bridge, else
/// `mesh-<k>`.
fn network_name(plan: &Plan, k: usize) -> String {
    if plan.bridges.routed() {
        format!("mesh-{k}")
    } else {
        "mesh".to_string()
    }
}

/// The rule that routes between the bridges of a compose testnet of `plan`.
pub fn compose_rule(plan: &Plan) -> AcceptRule {
    AcceptRule::within(
        plan.subnet,
        format!("meshlab-compose:{}", crate::scenario::slug(&plan.scenario)),
    )
}

fn service_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The compose file of `plan` on `images`; `source` names the scenario in the header.
pub fn render(plan: &Plan, images: &ComposeImages, source: &str) -> Result<String, Error> {
    if plan.has_nat() {
        return Err(Error::Usage(format!(
            "export compose {source}: the scenario puts nodes behind NATs, whose routers and private networks only `run` sets up (export it without `nat`)"
        )));
    }
    let shaped = plan.shapes() && images.tools.is_some();
    if shaped && plan.regions.is_some() {
        return Err(Error::Usage(
            "export compose: a scenario placed in regions (`[network] matrix`) needs the run's one shaper, which delays by source; compose files give each node a sidecar with one link (run it with `orchestrator run`, or use a `profile`)".into(),
        ));
    }
    let publishers: Vec<&str> = plan
        .nodes
        .iter()
        .filter(|n| n.traffic.is_some())
        .map(|n| n.name.as_str())
        .collect();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Generated by `orchestrator export compose {source}`; regenerate rather than edit."
    );
    let _ = writeln!(
        o,
        "# Scenario {}, seed {}: {} nodes on {}, links {}.",
        plan.scenario,
        plan.seed,
        plan.nodes.len(),
        plan.subnet.cidr(),
        if shaped {
            format!(
                "{:?} ± {:?} by labshaper sidecars ({})",
                plan.link.delay, plan.link.jitter, plan.shaper
            )
        } else {
            "unshaped".to_string()
        }
    );
    let _ = writeln!(
        o,
        "# The images are the ones `./lab run` builds (it prints their tags).\n#"
    );
    let _ = writeln!(
        o,
        "# Nodes select cubic congestion control: where the host does not allow it in\n\
         # namespaces (`orchestrator doctor` says), allow it first: sysctl -w\n\
         # net.ipv4.tcp_allowed_congestion_control=\"$(sysctl -n net.ipv4.tcp_allowed_congestion_control) cubic\"\n#"
    );
    if plan.bridges.routed() {
        let rule = compose_rule(plan);
        let _ = writeln!(
            o,
            "# The nodes span {} bridge networks (at most {} a bridge; a Linux bridge holds 1024\n\
             # ports). Docker isolates bridges from each other: let the host route between them\n\
             # (as root, with net.ipv4.ip_forward = 1) before `up`, and remove the rule after `down`:\n\
             #   {}\n\
             #   {}\n#",
            plan.bridges.count,
            plan.bridges.nodes_per_bridge,
            rule.insert(),
            rule.delete()
        );
    }
    let _ = writeln!(
        o,
        "#   docker compose up -d                     # nodes{}",
        if shaped { " and shapers" } else { "" }
    );
    let _ = writeln!(
        o,
        "#   docker compose kill -s SIGUSR1 {}   # start the publishers' traffic",
        publishers.join(" ")
    );
    let _ = writeln!(
        o,
        "#   docker compose logs --no-log-prefix {}   # JSON events, e.g. \"delivered\"",
        plan.nodes.first().map_or("", |n| n.name.as_str())
    );
    let _ = writeln!(o, "#   docker compose down");
    let _ = writeln!(o, "#\n# (`docker-compose` takes the same subcommands.)");
    let _ = writeln!(o, "services:");
    let first = plan.nodes.first().map(|n| n.name.clone());
    for n in &plan.nodes {
        if !service_name_ok(&n.name) {
            return Err(Error::Usage(format!(
                "export compose: node name {:?} is not a valid service name",
                n.name
            )));
        }
        let _ = writeln!(o, "  {}:", n.name);
        let _ = writeln!(o, "    image: {}", quoted(&images.node));
        let _ = writeln!(o, "    environment:");
        let _ = writeln!(o, "      RUST_LOG: \"warn\"");
        let _ = write!(
            o,
            "      MESHNODE_CONFIG_TOML: {}",
            literal_block(&n.node_config_toml(None)?, 8)
        );
        let _ = writeln!(o, "    networks:");
        let _ = writeln!(o, "      {}:", network_name(plan, n.network));
        let _ = writeln!(o, "        ipv4_address: {}", quoted(&n.ip.to_string()));
        let _ = writeln!(o, "    sysctls:");
        let _ = writeln!(
            o,
            "      net.ipv4.tcp_congestion_control: {}",
            quoted(crate::host::congestion::WANTED)
        );
        if let Some(q) = plan.cpu_quota {
            // The CPU model of a dilated scenario (README, "Virtual time").
            let _ = writeln!(o, "    cpu_period: {}", q.period_us);
            let _ = writeln!(o, "    cpu_quota: {}", q.quota_us);
        }
        let _ = writeln!(o, "    stop_grace_period: 5s");
        let _ = writeln!(o, "    labels:");
        let _ = writeln!(o, "      meshlab.compose: {}", quoted(&plan.scenario));
        let _ = writeln!(o, "      meshlab.node: {}", quoted(&n.name));
        let _ = writeln!(o, "      meshlab.role: {}", quoted(n.role.name()));
        if let Some(first) = first.as_ref().filter(|f| **f != n.name) {
            let _ = writeln!(o, "    depends_on:");
            let _ = writeln!(o, "      - {first}");
        }
        if let (true, Some(tools), Some(command)) = (shaped, &images.tools, shaper_command(plan)) {
            let args: Vec<String> = command.iter().map(|a| quoted(a)).collect();
            let _ = writeln!(o, "  {}-shaper:", n.name);
            let _ = writeln!(o, "    image: {}", quoted(tools));
            let _ = writeln!(o, "    command: [{}]", args.join(", "));
            let _ = writeln!(
                o,
                "    network_mode: {}",
                quoted(&format!("service:{}", n.name))
            );
            let _ = writeln!(o, "    cap_add:");
            let _ = writeln!(o, "      - NET_ADMIN");
            let _ = writeln!(o, "    depends_on:");
            let _ = writeln!(o, "      - {}", n.name);
            let _ = writeln!(o, "    labels:");
            let _ = writeln!(o, "      meshlab.compose: {}", quoted(&plan.scenario));
            let _ = writeln!(o, "      meshlab.node: {}", quoted(&n.name));
            let _ = writeln!(o, "      meshlab.role: \"shaper\"");
        }
    }
    let _ = writeln!(o, "networks:");
    for k in 0..plan.bridges.count {
        let _ = writeln!(o, "  {}:", network_name(plan, k));
        let _ = writeln!(o, "    driver: bridge");
        if plan.bridges.routed() {
            let _ = writeln!(o, "    driver_opts:");
            let _ = writeln!(o, "      {MASQUERADE_OPTION}: \"false\"");
        }
        let _ = writeln!(o, "    ipam:");
        let _ = writeln!(o, "      config:");
        let _ = writeln!(
            o,
            "        - subnet: {}",
            quoted(&plan.bridges.cidr(plan.subnet, k))
        );
    }
    Ok(o)
}

/// The image tags `orchestrator run` would build for these binaries.
pub fn image_tags(plan: &Plan, bins: &binaries::Binaries) -> Result<ComposeImages, Error> {
    let node_ctx = node_image_context(&bins.meshnode).map_err(|e| Error::Infra(e.to_string()))?;
    let tools = if plan.shapes() {
        let ctx = tools_context(&bins.labshaper).map_err(|e| Error::Infra(e.to_string()))?;
        Some(tools_tag(&ctx))
    } else {
        None
    };
    Ok(ComposeImages {
        node: format!("meshlab-node:{}", context_hash(&node_ctx)),
        tools,
    })
}

/// What `export compose` is given.
#[derive(Debug, Clone)]
pub struct ExportOptions<'a> {
    /// The scenario file.
    pub scenario: &'a Path,
    /// The compose network's subnet.
    pub subnet: Subnet,
    /// A prebuilt static meshnode (with `shaper_binary`; default: cargo builds both).
    pub node_binary: Option<&'a Path>,
    /// A prebuilt static labshaper.
    pub shaper_binary: Option<&'a Path>,
}

/// Plans the scenario in `opts.subnet`, computes the image tags from the binaries, and
/// returns the compose file. Warns on stderr when Docker is reachable and lacks an image.
pub async fn export(opts: &ExportOptions<'_>) -> Result<String, Error> {
    let s = plan::load(opts.scenario)?;
    let plan = plan::plan(&s, opts.subnet);
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
    render(&plan, &images, &opts.scenario.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::shaper::host_shaper_command;

    fn test_plan(shaper: &str) -> Plan {
        let text = format!(
            r#"
[scenario]
name = "four"
seed = 4
duration = "30s"
[network]
link = {{ delay = "25ms", jitter = "2.5ms" }}
shaper = "{shaper}"
[[groups]]
id = "node"
count = 4
[traffic]
publishers = 1
rate = "2/s"
size = "1KiB"
"#
        );
        let s = crate::scenario::parse(Path::new("four.toml"), &text, Path::new("/nonexistent"))
            .expect("valid");
        plan::plan(&s, COMPOSE_SUBNET)
    }

    fn images() -> ComposeImages {
        ComposeImages {
            node: "meshlab-node:0123456789abcdef".into(),
            tools: Some("labtools:fedcba9876543210".into()),
        }
    }

    /// The text of the literal block under `MESHNODE_CONFIG_TOML` of `service`.
    fn config_of(yaml: &str, service: &str) -> String {
        let start = yaml
            .find(&format!("\n  {service}:\n"))
            .expect("service present");
        let rest = &yaml[start..];
        let block = rest
            .split("MESHNODE_CONFIG_TOML: |\n")
            .nth(1)
            .expect("config block");
        block
            .lines()
            .take_while(|l| l.starts_with("        ") || l.is_empty())
            .map(|l| l.strip_prefix("        ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn subnets_parse() {
        assert_eq!(parse_subnet("10.97.0.0/16"), Ok(Subnet::new(10, 97)));
        assert_eq!(parse_subnet("172.30"), Ok(Subnet::new(172, 30)));
        assert!(parse_subnet("10.97.1.0/24").is_err());
        assert!(parse_subnet("300.1").is_err());
    }

    #[test]
    fn every_node_is_a_service_with_its_address_and_config() {
        let p = test_plan("auto");
        let yaml = render(&p, &images(), "four.toml").expect("renders");
        for n in &p.nodes {
            assert!(yaml.contains(&format!("\n  {}:\n", n.name)), "{yaml}");
            assert!(
                yaml.contains(&format!("ipv4_address: \"{}\"", n.ip)),
                "{yaml}"
            );
            let config = config_of(&yaml, &n.name);
            assert_eq!(
                config.parse::<toml::Table>().expect("valid toml"),
                n.node_config_toml(None)
                    .expect("config")
                    .parse::<toml::Table>()
                    .expect("valid toml"),
                "{}",
                n.name
            );
            assert!(!config.contains("start_at_ms"), "waits for SIGUSR1");
        }
        assert_eq!(
            yaml.matches("image: \"meshlab-node:0123456789abcdef\"")
                .count(),
            4
        );
        assert!(yaml.contains("- subnet: \"10.97.0.0/16\""), "{yaml}");
        assert!(yaml.contains("ipv4_address: \"10.97.0.2\""), "{yaml}");
        // No tabs: YAML forbids them in indentation.
        assert!(!yaml.contains('\t'));
    }

    #[test]
    fn shaped_scenarios_get_a_sidecar_per_node_with_the_runners_arguments() {
        let p = test_plan("userspace");
        let yaml = render(&p, &images(), "four.toml").expect("renders");
        assert_eq!(yaml.matches("-shaper:\n").count(), 4, "{yaml}");
        assert!(yaml.contains("network_mode: \"service:node-0\""), "{yaml}");
        assert!(yaml.contains(
            "command: [\"/labshaper\", \"apply\", \"--dev\", \"eth0\", \"--delay-us\", \"25000\", \"--jitter-us\", \"2500\", \"--loss\", \"0\", \"--backend\", \"userspace\"]"
        ), "{yaml}");
        assert!(yaml.contains("image: \"labtools:fedcba9876543210\""));
        let unshaped = render(&test_plan("none"), &images(), "four.toml").expect("renders");
        assert!(!unshaped.contains("-shaper:"), "{unshaped}");
        assert!(unshaped.contains("unshaped"), "{unshaped}");
    }

    /// The value after `flag` in a command line.
    fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).map(String::as_str)
    }

    #[test]
    fn a_dilated_plan_exports_its_dilated_links_and_cpu_quota() {
        let mut p = test_plan("userspace");
        assert!(
            !render(&p, &images(), "four.toml")
                .expect("renders")
                .contains("cpu_quota")
        );
        p.time_scale = lab_config::TimeScale::new(4.0).expect("valid");
        p.cpu_quota = crate::scenario::CpuQuota::of(p.cpu_per_node, p.time_scale);
        for n in &mut p.nodes {
            n.time_scale = p.time_scale;
        }
        let yaml = render(&p, &images(), "four.toml").expect("renders");
        assert_eq!(
            yaml.matches("cpu_period: 4000\n    cpu_quota: 1000\n")
                .count(),
            4,
            "{yaml}"
        );
        assert_eq!(yaml.matches("time_scale = 4.0").count(), 4, "{yaml}");
        assert!(
            yaml.contains("\"--delay-us\", \"100000\", \"--jitter-us\", \"10000\""),
            "{yaml}"
        );
    }

    #[test]
    fn shaper_flags_carry_delay_and_jitter_in_exact_microseconds() {
        let p = test_plan("userspace");
        assert_eq!(p.link.jitter, std::time::Duration::from_micros(2500));
        for args in [shaper_command(&p), host_shaper_command(&p)] {
            let args = args.expect("the plan shapes");
            assert_eq!(flag_value(&args, "--delay-us"), Some("25000"), "{args:?}");
            assert_eq!(flag_value(&args, "--jitter-us"), Some("2500"), "{args:?}");
            assert!(!args.iter().any(|a| a.ends_with("-ms")), "{args:?}");
        }
        assert_eq!(
            host_shaper_command(&p).expect("the plan shapes")[..3],
            ["/labshaper", "host", "--stdin"]
        );
    }

    #[test]
    fn the_lan_profiles_sub_millisecond_shape_reaches_the_shaper() {
        let netem = Path::new(env!("CARGO_MANIFEST_DIR")).join("../netem");
        let mut p = test_plan("auto");
        p.link =
            crate::scenario::profile::load(&crate::scenario::profile::profile_path(&netem, "lan"))
                .expect("netem/lan.toml");
        let args = host_shaper_command(&p).expect("the plan shapes");
        assert_eq!(flag_value(&args, "--delay-us"), Some("500"), "{args:?}");
        assert_eq!(flag_value(&args, "--jitter-us"), Some("100"), "{args:?}");
        assert_eq!(flag_value(&args, "--loss"), Some("0"), "{args:?}");
        assert_eq!(
            flag_value(&args, "--rate-kbit"),
            Some("1000000"),
            "{args:?}"
        );
        assert_eq!(flag_value(&args, "--backend"), Some("auto"), "{args:?}");
    }

    #[test]
    fn the_header_names_the_publishers_to_signal() {
        let p = test_plan("auto");
        let yaml = render(&p, &images(), "four.toml").expect("renders");
        let publisher = p
            .nodes
            .iter()
            .find(|n| n.traffic.is_some())
            .expect("publisher");
        assert!(
            yaml.contains(&format!("kill -s SIGUSR1 {} ", publisher.name)),
            "{yaml}"
        );
        assert!(yaml.lines().take_while(|l| l.starts_with('#')).count() > 3);
    }

    #[test]
    fn one_bridge_is_one_mesh_network_on_the_whole_subnet() {
        let yaml = render(&test_plan("auto"), &images(), "four.toml").expect("renders");
        assert_eq!(yaml.matches("      mesh:\n").count(), 4, "{yaml}");
        assert!(yaml.ends_with("networks:\n  mesh:\n    driver: bridge\n    ipam:\n      config:\n        - subnet: \"10.97.0.0/16\"\n"), "{yaml}");
        assert!(!yaml.contains("DOCKER-USER"), "{yaml}");
        assert!(!yaml.contains(MASQUERADE_OPTION), "{yaml}");
    }

    #[test]
    fn a_split_plan_gets_a_network_a_bridge_and_the_rule_to_route_between_them() {
        let text = "[scenario]\nname = \"four\"\nseed = 4\nduration = \"30s\"\n[[groups]]\nid = \"node\"\ncount = 4\n[traffic]\npublishers = 1\nrate = \"2/s\"\nsize = \"1KiB\"\n";
        let scenario =
            crate::scenario::parse(Path::new("four.toml"), text, Path::new("/nonexistent"))
                .expect("valid");
        let p = plan::plan_with_bridges(&scenario, COMPOSE_SUBNET, 2);
        assert_eq!(p.bridges.count, 2);
        let yaml = render(&p, &images(), "four.toml").expect("renders");
        let service = |name: &str| {
            let start = yaml.find(&format!("\n  {name}:\n")).expect("service");
            let rest = &yaml[start + 1..];
            let end = rest[2..].find("\n  n").map_or(rest.len(), |e| e + 2);
            rest[..end].to_string()
        };
        for (name, net, ip) in [
            ("node-0", "mesh-0", "10.97.0.2"),
            ("node-1", "mesh-0", "10.97.0.3"),
            ("node-2", "mesh-1", "10.97.16.2"),
            ("node-3", "mesh-1", "10.97.16.3"),
        ] {
            let svc = service(name);
            assert!(
                svc.contains(&format!("      {net}:\n        ipv4_address: \"{ip}\"")),
                "{svc}"
            );
        }
        for (net, cidr) in [("mesh-0", "10.97.0.0/20"), ("mesh-1", "10.97.16.0/20")] {
            assert!(
                yaml.contains(&format!(
                    "  {net}:\n    driver: bridge\n    driver_opts:\n      com.docker.network.bridge.enable_ip_masquerade: \"false\"\n    ipam:\n      config:\n        - subnet: \"{cidr}\"\n"
                )),
                "{yaml}"
            );
        }
        assert!(yaml.contains("#   iptables -w -I DOCKER-USER -s 10.97.0.0/16 -d 10.97.0.0/16 -m comment --comment meshlab-compose:four -j ACCEPT\n"), "{yaml}");
        assert!(
            yaml.contains("#   iptables -w -D DOCKER-USER -s 10.97.0.0/16"),
            "{yaml}"
        );
        assert!(!yaml.contains('\t'));
    }

    #[test]
    fn dollars_are_escaped_for_compose() {
        assert_eq!(quoted("a$b"), "\"a$$b\"");
        assert_eq!(
            literal_block("x = \"$HOME\"\n\ny = 1\n", 2),
            "|\n  x = \"$$HOME\"\n\n  y = 1\n"
        );
    }
}
