//! Readiness: the run waits until every honest node's mesh holds `mesh_n_low` peers (or a
//! timeout), following the `mesh` events in the nodes' events files.

use std::time::Duration;

use lab_events::{Event, Record};

use super::events_dir::EventsDir;
use super::follow::Follower;
use super::progress::phase_bar;
use crate::plan::Plan;

/// How often the files are read.
const POLL: Duration = Duration::from_millis(200);
/// The most read from one file per poll (a node writes a few hundred bytes a second;
/// a file further behind is read on at once, without waiting for the next poll).
const READ_PER_POLL: usize = 256 * 1024;

/// Follows every honest node's events until each mesh holds `mesh_n_low` peers or
/// `timeout` passes; returns the honest nodes that never got there. Attackers are not
/// awaited: peer scoring is meant to keep them out of meshes.
pub(super) async fn await_meshes(
    plan: &Plan,
    events: &EventsDir,
    timeout: Duration,
) -> Vec<String> {
    let need = plan.gossipsub.mesh_n_low;
    let honest: Vec<&str> = plan
        .nodes
        .iter()
        .filter(|n| n.is_honest())
        .map(|n| n.name.as_str())
        .collect();
    let mut followers: Vec<Follower> = honest
        .iter()
        .map(|name| Follower::new(&events.host_file(name)))
        .collect();
    let mut mesh = vec![0usize; honest.len()];
    let bar = phase_bar(honest.len() as u64, "meshed");
    let deadline = tokio::time::Instant::now() + timeout;
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut behind = false;
    loop {
        let ready = mesh.iter().filter(|n| **n >= need).count();
        bar.set_position(ready as u64);
        if ready == mesh.len() || tokio::time::Instant::now() >= deadline {
            break;
        }
        if !behind
            && tokio::time::timeout_at(deadline, ticks.tick())
                .await
                .is_err()
        {
            break;
        }
        // The reads leave the runtime's threads free (a file far behind takes a while).
        let polled = tokio::task::spawn_blocking(move || {
            let found = poll(&mut followers);
            (followers, found)
        })
        .await;
        let Ok((back, found)) = polled else {
            eprintln!("warning: failed to follow the nodes' events: the reader stopped");
            break;
        };
        followers = back;
        behind = found.behind;
        for (i, peers) in found.mesh {
            mesh[i] = peers;
        }
    }
    bar.finish();
    honest
        .iter()
        .zip(&mesh)
        .filter(|(_, n)| **n < need)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// What one poll of every file found.
#[derive(Debug, Default)]
struct Polled {
    /// (follower index, mesh size) for each `mesh` event, in file order.
    mesh: Vec<(usize, usize)>,
    /// Whether some file has more to read at once.
    behind: bool,
}

/// Reads what is new in every file (at most [`READ_PER_POLL`] each). A file that cannot
/// be read is reported and tried again at the next poll.
fn poll(followers: &mut [Follower]) -> Polled {
    let mut found = Polled::default();
    for (i, f) in followers.iter_mut().enumerate() {
        match f.read_new(READ_PER_POLL) {
            Ok(new) => {
                found.behind |= new.more;
                found.mesh.extend(
                    new.lines
                        .iter()
                        .filter_map(|line| match Record::parse(line) {
                            Ok(Record {
                                event: Event::Mesh { peers, .. },
                                ..
                            }) => Some((i, peers.len())),
                            _ => None,
                        }),
                );
            }
            Err(e) => eprintln!("warning: failed to {e}"),
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use lab_events::Record;

    use super::*;

    fn mesh_line(node: &str, peers: usize) -> String {
        let mut line = Record {
            ts_ns: 1,
            node: node.into(),
            event: Event::Mesh {
                topic: "t".into(),
                peers: (0..peers).map(|p| format!("p{p}")).collect(),
            },
        }
        .to_line();
        line.push('\n');
        line
    }

    #[test]
    fn a_poll_reports_each_mesh_event_of_each_file_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        let text = format!("{}not json\n{}", mesh_line("a", 2), mesh_line("a", 5));
        std::fs::write(&a, text).unwrap();
        let mut followers = vec![Follower::new(&a), Follower::new(&b)];
        let found = poll(&mut followers);
        assert_eq!(found.mesh, [(0, 2), (0, 5)]);
        assert!(!found.behind);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&b)
            .unwrap();
        file.write_all(mesh_line("b", 4).as_bytes()).unwrap();
        assert_eq!(poll(&mut followers).mesh, [(1, 4)]);
    }
}
