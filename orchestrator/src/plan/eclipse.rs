//! The `eclipse` groups' aim: each of their nodes dials its group's victim and nobody
//! else, and no other node dials them, so that all they hold is slots of the victim.

use super::NodePlan;
use crate::scenario::Group;

/// Points every node of an `eclipse` group at its victim (validation made the victim a
/// group of one node) and takes those nodes out of every other node's bootstrap list.
pub(super) fn aim(nodes: &mut [NodePlan], groups: &[Group]) {
    let victim_of = |group: &str| -> Option<usize> {
        let victim = groups.iter().find(|g| g.id == group)?.victim.as_deref()?;
        nodes.iter().position(|n| n.group == victim)
    };
    let aims: Vec<Option<usize>> = nodes.iter().map(|n| victim_of(&n.group)).collect();
    for (n, aim) in nodes.iter_mut().zip(&aims) {
        match aim {
            Some(v) => n.bootstrap_peers = vec![*v],
            None => n.bootstrap_peers.retain(|&j| aims[j].is_none()),
        }
    }
}
