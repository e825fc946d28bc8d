//! The NAT routers of a run, and the default route of each node behind one.
//!
//! Per router (`plan::nat`): a bridge network, its private side, unmasqueraded and kept
//! apart from every other network by the engine's isolation between bridges (not an
//! `internal` network, whose rules would drop the bridged packets between a node and its
//! router's far side); and a container of
//! the tools image on the run's network at the router's public address and on the private
//! network at `.2`, with `NET_ADMIN` and `net.ipv4.ip_forward = 1` in its own namespace,
//! idling in `ip monitor link`. Its rules (`plan::nat::rules`) are loaded by
//! `iptables-restore` in a short-lived tools container sharing its network namespace.
//!
//! A NATed node's default route must point at its router, and a node container has no
//! `NET_ADMIN` (nor an `ip`): as soon as it runs, a short-lived tools container with
//! `NET_ADMIN` joins its network namespace (`--network container:<node>`) and runs
//! `ip route replace default via <router>`, then is removed. That is the least invasive
//! of the ways in: the node keeps no capability, the shaper (which does enter every
//! node's namespace) is left alone and is absent from unshaped runs, and nothing runs on
//! the host. Until the route is in, the node's first dials fail at once and its redial
//! schedule (2 s, 6 s, … virtual) tries again.
//!
//! Routers are not shaped: the delay is imposed on every node's ingress, so a path through
//! NATs has the same imposed delay as a direct one. Every network and container here
//! carries the run's label: teardown (and `orchestrator down`) removes them with the nodes.

use std::net::Ipv4Addr;

use futures::{StreamExt, TryStreamExt};

use super::{CONCURRENCY, infra};
use crate::docker::{ContainerSpec, ContextFile, DockerRunner, Egress, NetworkAttachment};
use crate::error::Error;
use crate::plan::nat::rules;
use crate::plan::{Plan, RouterPlan};

/// Container role label of a router.
pub const ROUTER_ROLE: &str = "nat";
/// Container role label of a short-lived helper in a router's or node's namespace.
const HELPER_ROLE: &str = "nat-helper";
/// Where a router's rules are put in its helper.
const RULES_FILE: &str = "rules.v4";

/// The run's NATs, once up: each router's private network (by router index).
#[derive(Debug, Default)]
pub struct Nats {
    /// Each router's private network name.
    pub private: Vec<String>,
}

/// The private network of router `r` in run `run_id`.
fn private_network(run_id: &str, r: &RouterPlan) -> String {
    format!("meshlab-{run_id}-{}", r.name)
}

/// Creates every router's private network and starts the routers with their rules
/// (`networks` are the run's bridges). Returns when every router forwards.
pub async fn start(
    runner: &DockerRunner,
    run_id: &str,
    plan: &Plan,
    tools: &str,
    networks: &[String],
) -> Result<Nats, Error> {
    let mut private = Vec::with_capacity(plan.routers.len());
    for r in &plan.routers {
        let name = private_network(run_id, r);
        runner
            .create_bridge(run_id, &name, &r.private_cidr, Egress::Private)
            .await
            .map_err(infra)?;
        private.push(name);
    }
    futures::stream::iter(plan.routers.iter().zip(&private))
        .map(|(r, net)| start_router(runner, run_id, plan, tools, networks, r, net))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    eprintln!(
        "==> {} NAT routers forwarding for {} nodes",
        plan.routers.len(),
        plan.nodes.iter().filter(|n| n.nat_place.is_some()).count()
    );
    Ok(Nats { private })
}

/// The container spec of router `r` on `public` (its bridge of the run).
fn router_spec(run_id: &str, tools: &str, public: &str, r: &RouterPlan) -> ContainerSpec {
    ContainerSpec {
        run_id: run_id.to_string(),
        role: ROUTER_ROLE.to_string(),
        name: format!("{run_id}-{}", r.name),
        image: tools.to_string(),
        cmd: Some(["ip", "monitor", "link"].map(String::from).to_vec()),
        network: Some(NetworkAttachment {
            network: public.to_string(),
            ipv4: Some(r.public_ip),
        }),
        cap_add: vec!["NET_ADMIN".to_string()],
        sysctls: vec![("net.ipv4.ip_forward".to_string(), "1".to_string())],
        labels: vec![
            ("meshlab.router".to_string(), r.name.clone()),
            ("meshlab.nat".to_string(), r.nat.name().to_string()),
        ],
        log_max_bytes: Some(1 << 20),
        ..ContainerSpec::default()
    }
}

/// Starts router `r`, attached to its private network `private` too, and loads its rules.
async fn start_router(
    runner: &DockerRunner,
    run_id: &str,
    plan: &Plan,
    tools: &str,
    networks: &[String],
    r: &RouterPlan,
    private: &str,
) -> Result<(), Error> {
    let public = networks.get(r.network).ok_or_else(|| {
        Error::Infra(format!(
            "attach router {} to bridge {}: the run has {} networks",
            r.name,
            r.network,
            networks.len()
        ))
    })?;
    let id = runner
        .create_container(&router_spec(run_id, tools, public, r))
        .await
        .map_err(infra)?;
    runner
        .connect_network(&id, private, Some(r.private_ip))
        .await
        .map_err(infra)?;
    runner.start_container(&id).await.map_err(infra)?;
    let nodes: Vec<Ipv4Addr> = r.nodes.iter().map(|&i| plan.nodes[i].ip).collect();
    let text = rules::iptables_restore(r, &nodes);
    in_namespace(
        runner,
        run_id,
        tools,
        &id,
        &format!("{}-rules", r.name),
        vec!["iptables-restore".into(), format!("/{RULES_FILE}")],
        &[ContextFile {
            path: RULES_FILE.to_string(),
            mode: 0o644,
            data: text.into_bytes(),
        }],
    )
    .await
}

/// Points the default route of running node container `id` (named `node`) at `gateway`,
/// its router's private address.
pub async fn route(
    runner: &DockerRunner,
    run_id: &str,
    tools: &str,
    id: &str,
    node: &str,
    gateway: Ipv4Addr,
) -> Result<(), Error> {
    in_namespace(
        runner,
        run_id,
        tools,
        id,
        &format!("{node}-route"),
        ["ip", "route", "replace", "default", "via"]
            .map(String::from)
            .into_iter()
            .chain([gateway.to_string()])
            .collect(),
        &[],
    )
    .await
}

/// Runs `cmd` in a short-lived tools container (`NET_ADMIN`) in the network namespace of
/// running container `target`, with `files` put in first; fails unless it exits 0. The
/// helper is removed however it ends (and carries the run's label, should removal fail).
async fn in_namespace(
    runner: &DockerRunner,
    run_id: &str,
    tools: &str,
    target: &str,
    what: &str,
    cmd: Vec<String>,
    files: &[ContextFile],
) -> Result<(), Error> {
    let spec = ContainerSpec {
        run_id: run_id.to_string(),
        role: HELPER_ROLE.to_string(),
        name: format!("{run_id}-{what}"),
        image: tools.to_string(),
        cmd: Some(cmd.clone()),
        network_mode_container: Some(target.to_string()),
        cap_add: vec!["NET_ADMIN".to_string()],
        ..ContainerSpec::default()
    };
    let id = runner.create_container(&spec).await.map_err(infra)?;
    let ran = async {
        if !files.is_empty() {
            runner.put_files(&id, files).await?;
        }
        runner.start_container(&id).await?;
        runner.wait_exit(&id).await
    }
    .await;
    if let Err(e) = runner.remove_container(&id).await {
        tracing::warn!(container = %spec.name, error = %e, "left for the run's teardown");
    }
    match ran.map_err(infra)? {
        0 => Ok(()),
        code => Err(Error::Infra(format!(
            "run `{}` for {what}: it exited with code {code}",
            cmd.join(" ")
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::plan::{Subnet, plan};
    use crate::scenario::NatType;

    #[test]
    fn a_router_is_labelled_forwards_and_sits_at_its_public_address() {
        let s = crate::testkit::parse(crate::testkit::NATS);
        let p = plan(&s, Subnet::new(10, 80));
        let r = &p.routers[4];
        let spec = router_spec("run", "labtools:x", "meshlab-run", r);
        assert_eq!(spec.name, "run-nat-carrier");
        assert_eq!(spec.role, ROUTER_ROLE);
        assert_eq!(spec.network.as_ref().unwrap().ipv4, Some(r.public_ip));
        assert!(spec.cap_add.contains(&"NET_ADMIN".to_string()));
        assert!(
            spec.sysctls
                .contains(&("net.ipv4.ip_forward".into(), "1".into()))
        );
        assert!(
            spec.labels
                .contains(&("meshlab.nat".into(), NatType::Symmetric.name().into()))
        );
        assert_eq!(private_network("run", r), "meshlab-run-nat-carrier");
    }
}
