//! The run's last phase, on every exit: everything labelled with the run id removed, and
//! checked; and, for a run of several bridge networks, the `DOCKER-USER` rules with its
//! comment (`host::bridges`). Also the one way the lab removes anything: a removal pass
//! repeated until nothing is left ([`until_gone`]), which the Swarm runner's services and
//! `orchestrator down` use too.

use std::time::Duration;

use crate::docker::{DockerError, DockerRunner, TeardownReport};
use crate::host::bridges;

/// How long removal keeps retrying.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The pause between two removal passes.
const PAUSE: Duration = Duration::from_millis(500);

/// What repeated removal achieved.
#[derive(Debug)]
pub struct Gone<T> {
    /// What the passes removed, added up.
    pub removed: T,
    /// How many resources were left after the last pass; `None` when they could not be
    /// counted.
    pub left: Option<usize>,
    /// The error of the last pass, or else of its count; errors of earlier passes are
    /// dropped, as each pass tries everything again.
    pub error: Option<DockerError>,
}

impl<T> Gone<T> {
    /// Whether nothing was left.
    pub fn complete(&self) -> bool {
        self.left == Some(0)
    }

    /// For a warning: how many resources were left, and why, e.g. `3 resources left:
    /// failed to ...`.
    pub fn what_is_left(&self) -> String {
        let left = self.left.map_or_else(
            || "resources left uncounted".to_string(),
            |n| format!("{n} resources left"),
        );
        match &self.error {
            Some(e) => format!("{left}: {e}"),
            None => left,
        }
    }
}

/// Runs `pass` (one removal pass, adding what it removed to the tally) and then `left`
/// (how many resources remain), again and again, [`PAUSE`] apart, until nothing is left
/// or `patience` has passed. Every pass runs in full even when the one before failed: a
/// create call in flight when a run was cancelled may land after the first pass, a swarm
/// service's task container goes a moment after its service, and the engine releases a
/// network's endpoints some time after its containers ("active endpoints").
pub async fn until_gone<T: Default>(
    patience: Duration,
    mut pass: impl AsyncFnMut(&mut T) -> Result<(), DockerError>,
    mut left: impl AsyncFnMut() -> Result<usize, DockerError>,
) -> Gone<T> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut removed = T::default();
    loop {
        let mut error = pass(&mut removed).await.err();
        let count = match left().await {
            Ok(n) => Some(n),
            Err(e) => {
                error.get_or_insert(e);
                None
            }
        };
        if count == Some(0) || tokio::time::Instant::now() >= deadline {
            return Gone {
                removed,
                left: count,
                error,
            };
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Removes everything labelled with the run id, and checks that nothing is left (for up
/// to [`PATIENCE`]).
///
/// When the run is `routed` (several bridges), its rules are removed first, found by
/// their comment, so that also a run interrupted while its networks were being created
/// leaves none.
pub async fn teardown(runner: &DockerRunner, run_id: &str, routed: bool) {
    let rules = routed.then(|| remove_rules(run_id)).flatten();
    let gone = until_gone(
        PATIENCE,
        async |r: &mut TeardownReport| {
            let t = runner.teardown(run_id).await?;
            *r += t;
            Ok(())
        },
        async || runner.run_resources(run_id).await,
    )
    .await;
    if !gone.complete() {
        eprintln!(
            "warning: failed to tear down run {run_id} completely ({}); `orchestrator down` removes them",
            gone.what_is_left()
        );
        return;
    }
    let TeardownReport {
        containers,
        networks,
    } = gone.removed;
    match rules {
        None => eprintln!("==> teardown: removed {containers} containers and {networks} networks"),
        Some(n) => eprintln!(
            "==> teardown: removed {containers} containers, {networks} networks and {n} {} rule{}",
            bridges::CHAIN,
            if n == 1 { "" } else { "s" }
        ),
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    // The clock is paused: the pauses between passes take no real time.
    #[tokio::test(start_paused = true)]
    async fn passes_repeat_until_nothing_is_left_and_add_up_what_they_removed() {
        // 5 resources; each pass removes at most 2 of them, and the second pass fails
        // before removing any.
        let present = Cell::new(5usize);
        let passes = Cell::new(0usize);
        let gone = until_gone(
            PATIENCE,
            async |removed: &mut usize| {
                passes.set(passes.get() + 1);
                if passes.get() == 2 {
                    return Err(DockerError::Service("busy".into()));
                }
                let n = present.get().min(2);
                present.set(present.get() - n);
                *removed += n;
                Ok(())
            },
            async || Ok(present.get()),
        )
        .await;
        assert!(gone.complete(), "{gone:?}");
        assert_eq!(gone.removed, 5);
        assert_eq!(passes.get(), 4);
        assert!(
            gone.error.is_none(),
            "a failure a later pass got past is dropped"
        );
    }

    #[tokio::test]
    async fn past_its_patience_removal_says_what_is_left_and_why() {
        let gone = until_gone(
            Duration::ZERO,
            async |_: &mut usize| Err(DockerError::Service("the engine said no".into())),
            async || Ok(3),
        )
        .await;
        assert!(!gone.complete());
        assert_eq!(gone.left, Some(3));
        let what = gone.what_is_left();
        assert!(what.starts_with("3 resources left: "), "{what}");
        assert!(what.contains("the engine said no"), "{what}");
        let uncounted = until_gone(
            Duration::ZERO,
            async |_: &mut usize| Ok(()),
            async || Err(DockerError::Service("no answer".into())),
        )
        .await;
        assert_eq!(uncounted.left, None);
        assert!(
            uncounted.what_is_left().contains("uncounted"),
            "{uncounted:?}"
        );
    }
}
