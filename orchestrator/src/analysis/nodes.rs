//! Figures per node and per group: what they published, rejected and received of the
//! honest messages, and how fast.

use serde::{Deserialize, Serialize};

use super::delivery::{DeliveryRatio, Receipts, ratio};
use super::index::Index;
use super::latency::{LatencySummary, median_us, summarize};
use super::rejections::Rejections;
use crate::plan::Plan;

/// Figures for one group's nodes as receivers of honest messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    /// Group id.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Its nodes.
    pub nodes: usize,
    /// Messages its nodes published.
    pub published: u64,
    /// Deliveries of honest messages at its nodes.
    pub delivery: DeliveryRatio,
    /// Latency of those deliveries.
    pub latency: LatencySummary,
}

/// Figures for one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStats {
    /// Node name.
    pub name: String,
    /// Its group.
    pub group: String,
    /// Its role.
    pub role: String,
    /// Messages it published.
    pub published: u64,
    /// Honest messages it delivered / should have.
    pub delivery: DeliveryRatio,
    /// Median latency of its deliveries.
    pub median_latency_us: Option<u64>,
    /// Messages it rejected.
    pub rejected: u64,
}

/// One entry per node, in plan order.
pub(super) fn nodes(
    plan: &Plan,
    index: &Index,
    receipts: &Receipts,
    rejections: &Rejections,
) -> Vec<NodeStats> {
    plan.nodes
        .iter()
        .map(|n| {
            let i = n.index;
            let samples = &receipts.samples[i];
            NodeStats {
                name: n.name.clone(),
                group: n.group.clone(),
                role: n.role.name().to_string(),
                published: index.published_by[i],
                delivery: ratio(samples.len() as u64, receipts.expected[i]),
                median_latency_us: median_us(samples),
                rejected: rejections.by_node[i],
            }
        })
        .collect()
}

/// One entry per group, in plan order.
pub(super) fn groups(plan: &Plan, index: &Index, receipts: &Receipts) -> Vec<GroupStats> {
    plan.groups
        .iter()
        .map(|g| {
            let members: Vec<usize> = plan
                .nodes
                .iter()
                .filter(|n| n.group == g.id)
                .map(|n| n.index)
                .collect();
            let samples: Vec<u64> = members
                .iter()
                .flat_map(|&i| receipts.samples[i].iter().copied())
                .collect();
            let expected: u64 = members.iter().map(|&i| receipts.expected[i]).sum();
            GroupStats {
                group: g.id.clone(),
                role: g.role.name().to_string(),
                nodes: members.len(),
                published: members.iter().map(|&i| index.published_by[i]).sum(),
                delivery: ratio(samples.len() as u64, expected),
                latency: summarize(&samples),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixture;

    #[test]
    fn synthetic_run_gives_the_hand_computed_node_and_group_figures() {
        let s = fixture::synthetic_stats();
        let node = |name: &str| s.nodes.iter().find(|n| n.name == name).expect("node");
        assert_eq!(node("h-0").delivery.expected, 1); // m1 is its own
        assert_eq!(node("h-0").delivery.delivered, 1);
        assert_eq!(node("h-0").published, 1);
        assert_eq!(node("h-0").rejected, 1);
        assert_eq!(node("h-2").delivery.ratio, Some(1.0));
        assert_eq!(node("h-2").median_latency_us, Some(500)); // ceil(0.5 × 2) = 1st
        assert_eq!(node("h-3").delivery.ratio, Some(0.5));
        assert_eq!(node("h-3").median_latency_us, Some(2000));
        assert_eq!(node("e-0").delivery.delivered, 1);
        assert_eq!(node("e-0").delivery.expected, 2);

        assert_eq!(s.groups.len(), 2);
        assert_eq!(s.groups[0].group, "h");
        assert_eq!(s.groups[0].delivery.delivered, 5);
        assert_eq!(s.groups[0].delivery.expected, 6);
        assert_eq!(s.groups[0].published, 2);
        assert_eq!(s.groups[1].role, "invalid-signature");
        assert_eq!(s.groups[1].latency.max_us, Some(700));
    }
}
