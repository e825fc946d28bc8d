//! The run's bridge network, on the first free /16 among a few.

use lab_events::now_ns;

use crate::docker::DockerRunner;
use crate::error::Error;
use crate::plan::Subnet;

/// Candidate subnets: `10.77.0.0/16` to `10.96.0.0/16`.
const CANDIDATES: u8 = 20;

/// Creates the run's network on the first free subnet among 10.77-10.96 (starting at a
/// time-drawn one, so that concurrent runs rarely collide); returns its name and subnet.
pub(super) async fn create(runner: &DockerRunner, run_id: &str) -> Result<(String, Subnet), Error> {
    let name = format!("meshlab-{run_id}");
    let mut last = None;
    let start = (now_ns() % u64::from(CANDIDATES)) as u8;
    for k in 0..CANDIDATES {
        let subnet = Subnet::new(10, 77 + (start + k) % CANDIDATES);
        match runner.create_network(run_id, &name, &subnet.cidr()).await {
            Ok(net) => return Ok((net.name, subnet)),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Infra(format!(
        "create network {name}: no free subnet in 10.77.0.0-10.96.0.0/16 ({})",
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}
