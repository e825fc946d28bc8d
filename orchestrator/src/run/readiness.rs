//! Readiness: the run waits until every honest node's mesh holds `mesh_n_low` peers (or a
//! timeout), following the nodes' own `mesh` events.

use std::time::Duration;

use futures::StreamExt;
use lab_events::{Event, Record};
use tokio::sync::mpsc;

use super::progress::phase_bar;
use crate::docker::{DockerRunner, LogSource};
use crate::plan::{NodePlan, Plan};

/// Follows every honest node's events until each mesh holds `mesh_n_low` peers or
/// `timeout` passes; returns the honest nodes that never got there. Attackers are not
/// awaited: peer scoring is meant to keep them out of meshes.
pub(super) async fn await_meshes(
    runner: &DockerRunner,
    plan: &Plan,
    node_ids: &[String],
    timeout: Duration,
) -> Vec<String> {
    let need = plan.gossipsub.mesh_n_low;
    let (tx, mut rx) = mpsc::channel::<(usize, usize)>(4096);
    let honest: Vec<(&NodePlan, &String)> = plan
        .nodes
        .iter()
        .zip(node_ids)
        .filter(|(n, _)| n.is_honest())
        .collect();
    let tasks: Vec<_> = honest
        .iter()
        .enumerate()
        .map(|(i, (_, id))| {
            let mut lines = runner.follow_logs(id, LogSource::Stdout);
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(line)) = lines.next().await {
                    if let Ok(Record {
                        event: Event::Mesh { peers, .. },
                        ..
                    }) = Record::parse(&line)
                        && tx.send((i, peers.len())).await.is_err()
                    {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut mesh = vec![0usize; honest.len()];
    let mut ready = 0;
    let bar = phase_bar(honest.len() as u64, "meshed");
    let deadline = tokio::time::Instant::now() + timeout;
    while ready < mesh.len() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((i, n))) => {
                let was = mesh[i] >= need;
                mesh[i] = n;
                match (was, n >= need) {
                    (false, true) => ready += 1,
                    (true, false) => ready -= 1,
                    _ => {}
                }
                bar.set_position(ready as u64);
            }
            Ok(None) | Err(_) => break,
        }
    }
    bar.finish();
    for t in tasks {
        t.abort();
    }
    honest
        .iter()
        .zip(&mesh)
        .filter(|(_, n)| **n < need)
        .map(|((p, _), _)| p.name.clone())
        .collect()
}
