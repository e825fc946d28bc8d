//! The run's last phase, on every exit: everything labelled with the run id removed, and
//! checked; and, for a run of several bridge networks, the `DOCKER-USER` rules with its
//! comment (`host::bridges`).

use std::time::Duration;

use crate::docker::DockerRunner;
use crate::host::bridges;

/// How long teardown keeps retrying.
const TEARDOWN_PATIENCE: Duration = Duration::from_secs(30);

/// Removes everything labelled with the run id, and checks that nothing is left: a create
/// call in flight when the run was cancelled may land after the first pass, and the engine
/// releases a network's endpoints some time after its containers are gone ("active
/// endpoints"), so removal is retried for up to `TEARDOWN_PATIENCE`.
///
/// When the run is `routed` (several bridges), its rules are removed first, found by
/// their comment, so that also a run interrupted while its networks were being created
/// leaves none.
pub async fn teardown(runner: &DockerRunner, run_id: &str, routed: bool) {
    let rules = routed.then(|| remove_rules(run_id)).flatten();
    let deadline = tokio::time::Instant::now() + TEARDOWN_PATIENCE;
    let (mut containers, mut networks) = (0, 0);
    loop {
        let outcome = runner.teardown(run_id).await;
        if let Ok(r) = &outcome {
            containers += r.containers;
            networks += r.networks;
        }
        let left = runner
            .labelled_containers("meshlab.run", run_id)
            .await
            .map(|c| c.len())
            .unwrap_or(1)
            + runner
                .labelled_networks("meshlab.run", run_id)
                .await
                .map(|n| n.len())
                .unwrap_or(1);
        if left == 0 {
            match rules {
                None => eprintln!(
                    "==> teardown: removed {containers} containers and {networks} networks"
                ),
                Some(n) => eprintln!(
                    "==> teardown: removed {containers} containers, {networks} networks and {n} {} rule{}",
                    bridges::CHAIN,
                    if n == 1 { "" } else { "s" }
                ),
            }
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let why = outcome.err().map(|e| e.to_string()).unwrap_or_default();
            eprintln!(
                "warning: failed to tear down run {run_id} completely ({left} resources left{}); `orchestrator down` removes them",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {why}")
                }
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Removes run `run_id`'s rules (a few `iptables` calls of a few ms each); returns how
/// many, or `None` (with a warning) when they could not be removed.
fn remove_rules(run_id: &str) -> Option<usize> {
    bridges::remove_run(run_id)
        .inspect_err(|e| {
            eprintln!(
                "warning: failed to remove the run's {} rules: {e}; `orchestrator down` removes them",
                bridges::CHAIN
            );
        })
        .ok()
}
