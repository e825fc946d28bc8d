//! `orchestrator down`: everything of the lab that any run left behind, found by the label
//! `meshlab=1`: the lab's `DOCKER-USER` rules, swarm services, containers and networks,
//! removed until none is left (for up to [`PATIENCE`]); then the lab's swarm is left,
//! when a run created it and nothing of the lab is on it any more. A swarm the user made
//! is never left.

use std::fmt;

use super::runner::{lab_swarm_resources, leave_lab_swarm};
use super::teardown::{PATIENCE, until_gone};
use crate::docker::{DockerError, DockerRunner, LABEL_LAB, SwarmMembership, TeardownReport};
use crate::host::bridges;

/// What `down` removed, and the first thing it could not do.
#[derive(Debug, Default)]
pub struct Down {
    /// The lab's `DOCKER-USER` rules removed.
    pub rules: usize,
    /// Swarm services removed.
    pub services: usize,
    /// Containers and networks removed.
    pub removed: TeardownReport,
    /// What became of the lab's swarm, if the engine was in one a run created.
    pub swarm: Option<String>,
    /// Why something of the lab is left, if it is.
    pub error: Option<DockerError>,
}

/// What one removal pass removed.
#[derive(Debug, Default)]
struct Tally {
    services: usize,
    removed: TeardownReport,
}

/// Removes everything of the lab from `engine`; every step is tried, whatever the ones
/// before it did. `rules` is how many rules [`remove_rules`] removed (first, as it needs
/// no engine).
pub async fn down(engine: &DockerRunner, rules: usize) -> Down {
    let mut d = Down {
        rules,
        ..Down::default()
    };
    let gone = until_gone(
        PATIENCE,
        async |t: &mut Tally| {
            // Services first: a service's task container goes with its service.
            let services = engine.remove_labelled_services(LABEL_LAB, "1").await;
            if let Ok(n) = &services {
                t.services += n;
            }
            t.removed += engine.down_all().await?;
            services.map(|_| ())
        },
        async || {
            Ok(engine.count_labelled_services(LABEL_LAB, "1").await? + engine.down_count().await?)
        },
    )
    .await;
    d.services = gone.removed.services;
    d.removed = gone.removed.removed;
    if !gone.complete() {
        d.error = Some(gone.error.unwrap_or_else(|| {
            DockerError::Service(format!(
                "remove everything of the lab: {} left after {} s",
                gone.left.unwrap_or_default(),
                PATIENCE.as_secs()
            ))
        }));
    }
    if let Ok(SwarmMembership::Manager {
        lab_run: Some(run),
        gwbridge_made,
        ..
    }) = engine.swarm_membership().await
    {
        match lab_swarm_resources(engine).await {
            Ok(0) => match leave_lab_swarm(engine, gwbridge_made).await {
                Ok(()) => d.swarm = Some(format!("left the swarm run {run} created")),
                Err(e) => {
                    d.error.get_or_insert(e);
                }
            },
            Ok(n) => {
                d.swarm = Some(format!(
                    "kept the lab's swarm: {n} of its services and overlays are left"
                ))
            }
            Err(e) => {
                d.error.get_or_insert(e);
            }
        }
    }
    d
}

/// Removes the lab's rules (a host without `iptables` has none) and says how many.
pub fn remove_rules() -> usize {
    match bridges::remove_all() {
        Ok(n) => n,
        Err(e) if e.is_missing_program() => 0,
        Err(e) => {
            eprintln!(
                "warning: failed to remove the lab's {} rules: {e}",
                bridges::CHAIN
            );
            0
        }
    }
}

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "removed {} swarm services, {} containers, {} networks and {} {} rules",
            self.services,
            self.removed.containers,
            self.removed.networks,
            self.rules,
            bridges::CHAIN
        )?;
        match &self.swarm {
            Some(s) => write!(f, "; {s}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_kind_of_resource_and_the_swarm() {
        let mut d = Down {
            rules: 2,
            services: 1,
            removed: TeardownReport {
                containers: 11,
                networks: 3,
            },
            ..Down::default()
        };
        assert_eq!(
            d.to_string(),
            format!(
                "removed 1 swarm services, 11 containers, 3 networks and 2 {} rules",
                bridges::CHAIN
            )
        );
        d.swarm = Some("left the swarm run smoke-1 created".into());
        assert!(
            d.to_string()
                .ends_with("; left the swarm run smoke-1 created"),
            "{d}"
        );
    }
}
