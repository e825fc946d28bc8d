//! The run's last phase, on every exit: everything labelled with the run id removed, and
//! checked.

use std::time::Duration;

use crate::docker::DockerRunner;

/// How long teardown keeps retrying.
const TEARDOWN_PATIENCE: Duration = Duration::from_secs(30);

/// Removes everything labelled with the run id, and checks that nothing is left: a create
/// call in flight when the run was cancelled may land after the first pass, and the engine
/// releases a network's endpoints some time after its containers are gone ("active
/// endpoints"), so removal is retried for up to `TEARDOWN_PATIENCE`.
pub(super) async fn teardown(runner: &DockerRunner, run_id: &str) {
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
            eprintln!("==> teardown: removed {containers} containers and {networks} networks");
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
