//! Origins caught equivocating, and their penalty. Two different envelopes that one origin
//! signed under one sequence number prove the origin Byzantine whoever relayed them, so
//! the second version is ignored (a `Reject` would let gossipsub penalise every honest
//! relay that forwards it later, P4) and the origin alone is penalised through gossipsub's
//! application-specific score (P5), by enough to fall below the graylist threshold at once.
//! The penalty is set again when an equivocator reconnects, in case gossipsub forgot it.

use std::collections::HashSet;

use libp2p::PeerId;
use libp2p::gossipsub;

use crate::config::GossipsubSettings;

/// The origins this node caught equivocating, and the application score it gives them.
#[derive(Debug)]
pub struct Equivocators {
    peers: HashSet<PeerId>,
    /// The application score of an equivocator; `None` when the score's application weight
    /// is not positive (then P5 cannot penalise, and scoring leaves equivocation alone).
    score: Option<f64>,
}

impl Equivocators {
    /// None caught yet; an equivocator's application score puts its weighted P5 at twice
    /// the graylist threshold.
    pub fn new(s: &GossipsubSettings) -> Self {
        let score = (s.app_specific_weight > 0.0)
            .then(|| 2.0 * s.graylist_threshold.min(-1.0) / s.app_specific_weight);
        Equivocators {
            peers: HashSet::new(),
            score,
        }
    }

    /// Records `origin` as an equivocator and penalises it.
    pub fn caught(&mut self, origin: PeerId, gossipsub: &mut gossipsub::Behaviour) {
        self.peers.insert(origin);
        self.apply(&origin, gossipsub);
    }

    /// Penalises `peer` again if it is a known equivocator (call when it connects).
    pub fn on_connected(&self, peer: &PeerId, gossipsub: &mut gossipsub::Behaviour) {
        if self.peers.contains(peer) {
            self.apply(peer, gossipsub);
        }
    }

    /// The application score given to equivocators.
    pub fn score(&self) -> Option<f64> {
        self.score
    }

    fn apply(&self, peer: &PeerId, gossipsub: &mut gossipsub::Behaviour) {
        if let Some(score) = self.score {
            // False when gossipsub holds no score for the peer (not connected): the
            // penalty is set when it connects.
            gossipsub.set_application_score(peer, score);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_penalty_is_below_the_graylist_threshold_under_the_spec_weights() {
        let s = GossipsubSettings::default();
        let e = Equivocators::new(&s);
        let score = e
            .score()
            .expect("the spec's application weight is positive");
        assert!(score * s.app_specific_weight < s.graylist_threshold);
        let off = Equivocators::new(&GossipsubSettings {
            app_specific_weight: 0.0,
            ..s
        });
        assert_eq!(off.score(), None);
    }
}
