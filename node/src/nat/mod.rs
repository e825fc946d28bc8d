//! Where a node lives: circuit relay v2 (a server on public nodes, a client on
//! NATed ones), AutoNAT (v1), DCUtR hole punching, and the addresses peers observe
//! (identify) feeding the swarm's external addresses — confirmed by AutoNAT, or at once on
//! a relay server ([`external`]).
//!
//! The behaviours are composed here ([`Behaviour`], each toggled by the `[nat]` table),
//! their timers are dilated in [`timers`], and [`Nat`] turns what they and the swarm report
//! into event records; the event loop only hands it the events.

mod external;
mod hole_punch;
mod reservations;
pub mod timers;

use std::collections::HashMap;
use std::time::Duration;

use lab_config::{NodeConfig, RelayMode};
use lab_events::Event;
use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, Swarm, autonat::v1 as autonat, dcutr, relay};
use tokio::time::Instant;

pub use composed::{Behaviour, BehaviourEvent};
use external::Announce;
use hole_punch::HolePunches;
use reservations::Reservations;

use crate::dilation::TimeScale;
use crate::handle::NodeError;

mod composed {
    // The derive generates `BehaviourEvent` without doc comments.
    #![allow(missing_docs)]
    use libp2p::swarm::{NetworkBehaviour, behaviour::toggle::Toggle};
    use libp2p::{autonat::v1 as autonat, dcutr, relay};

    /// Relay v2, AutoNAT and DCUtR, each on only when the `[nat]` table says so.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// The relay server (`relay = "server"`).
        pub relay_server: Toggle<relay::Behaviour>,
        /// The relay client, paired with the swarm's relay transport (on whenever the
        /// node dials or listens on circuits).
        pub relay_client: Toggle<relay::client::Behaviour>,
        /// AutoNAT v1, client and server.
        pub autonat: Toggle<autonat::Behaviour>,
        /// DCUtR hole punching.
        pub dcutr: Toggle<dcutr::Behaviour>,
    }
}

/// The NAT behaviours of a node configured by `config` (real times, see
/// [`NodeConfig::dilated`]); `relay_client` is the swarm builder's, paired with its relay
/// transport.
pub fn behaviour(
    peer_id: PeerId,
    relay_client: relay::client::Behaviour,
    config: &NodeConfig,
) -> Behaviour {
    let nat = &config.nat;
    let k: TimeScale = config.time_scale;
    let relay_server = (nat.relay == RelayMode::Server).then(|| {
        let mut server = relay::Behaviour::new(peer_id, timers::relay(k));
        // Public by configuration: serve at once, not once AutoNAT agrees.
        server.set_status(Some(relay::Status::Enable));
        server
    });
    let autonat = nat.autonat.then(|| {
        autonat::Behaviour::new(
            peer_id,
            timers::autonat(
                k,
                Duration::from_millis(nat.autonat_boot_delay_ms),
                nat.autonat_only_global_ips,
            ),
        )
    });
    Behaviour {
        relay_server: relay_server.into(),
        relay_client: nat.dials_circuits().then_some(relay_client).into(),
        autonat: autonat.into(),
        dcutr: nat
            .hole_punch
            .then(|| dcutr::Behaviour::new(peer_id))
            .into(),
    }
}

/// The node's NAT state between swarm events: a relay server's address policy, a relay
/// client's reservations, the hole punches under way.
#[derive(Debug)]
pub(crate) struct Nat {
    /// A relay server's external-address rule.
    server: Option<Announce>,
    /// A relay client's reservations.
    reservations: Option<Reservations>,
    hole_punch: bool,
    hole_punches: HolePunches,
    /// Open relayed connections, by peer.
    relayed: HashMap<PeerId, usize>,
}

impl Nat {
    /// The state of a node configured by `config` (real times) listening on `listen`.
    pub(crate) fn new(config: &NodeConfig, listen: &[Multiaddr]) -> Result<Self, NodeError> {
        let nat = &config.nat;
        let reservations = if nat.relay == RelayMode::Client {
            let relays = nat
                .relays
                .iter()
                .map(|a| crate::listen::parse_addr(a))
                .collect::<Result<Vec<_>, _>>()?;
            let pause = config.time_scale.real(timers::RESERVATION_RETRY);
            Some(Reservations::new(&relays, pause))
        } else {
            None
        };
        Ok(Self {
            server: (nat.relay == RelayMode::Server).then(|| Announce::new(listen)),
            reservations,
            hole_punch: nat.hole_punch,
            hole_punches: HolePunches::default(),
            relayed: HashMap::new(),
        })
    }

    /// At start, once the node listens: a relay server announces its listen addresses;
    /// AutoNAT asks the bootstrap peers and relays whose ids it knows.
    pub(crate) fn start(
        &mut self,
        swarm: &mut Swarm<crate::behaviour::Behaviour>,
        bootstrap: &[Multiaddr],
    ) {
        let listening: Vec<Multiaddr> = swarm.listeners().cloned().collect();
        for addr in listening {
            self.on_address(swarm, addr);
        }
        let relays: Vec<(PeerId, Multiaddr)> = self
            .reservations
            .as_ref()
            .map(|r| r.relays().collect())
            .unwrap_or_default();
        if let Some(autonat) = swarm.behaviour_mut().nat.autonat.as_mut() {
            let known = bootstrap.iter().filter_map(|a| match a.iter().last() {
                Some(Protocol::P2p(peer)) if !a.iter().any(|p| p == Protocol::P2pCircuit) => {
                    Some((peer, a.clone()))
                }
                _ => None,
            });
            for (peer, addr) in known.chain(relays) {
                autonat.add_server(peer, Some(addr));
            }
        }
    }

    /// When the next reservation is due, if any.
    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.reservations.as_ref().and_then(Reservations::next_at)
    }

    /// Asks the relays that are due for a reservation (listens on their circuits).
    pub(crate) fn reserve(&mut self, swarm: &mut Swarm<crate::behaviour::Behaviour>) -> Vec<Event> {
        let Some(r) = self.reservations.as_mut() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut events = Vec::new();
        for (i, circuit) in r.due(now) {
            match swarm.listen_on(circuit) {
                Ok(listener) => r.listening(i, listener),
                Err(e) => events.push(r.refused(i, e.to_string(), now)),
            }
        }
        events
    }

    /// A listen address, or an address a peer observed: a relay server takes it as
    /// external (AutoNAT confirms them on other nodes).
    pub(crate) fn on_address(
        &mut self,
        swarm: &mut Swarm<crate::behaviour::Behaviour>,
        addr: Multiaddr,
    ) {
        if self.server.is_some_and(|a| a.is_external(&addr)) {
            swarm.add_external_address(addr);
        }
    }

    /// A listener closed; a relay's means its reservation failed or is lost.
    pub(crate) fn on_listener_closed(
        &mut self,
        listener: ListenerId,
        reason: Result<(), std::io::Error>,
    ) -> Option<Event> {
        let reason = match reason {
            Ok(()) => "the relay listener closed".to_string(),
            Err(e) => crate::listen::error_chain(&e),
        };
        self.reservations
            .as_mut()?
            .on_listener_closed(listener, reason, Instant::now())
    }

    /// A connection was established; a relayed one starts a hole punch, a direct one next
    /// to a relayed one is reported.
    pub(crate) fn on_connection_established(
        &mut self,
        peer: PeerId,
        endpoint: &ConnectedPoint,
    ) -> Option<Event> {
        if !endpoint.is_relayed() {
            return self
                .relayed
                .contains_key(&peer)
                .then(|| Event::DirectConnection {
                    peer: peer.to_string(),
                    outbound: endpoint.is_dialer(),
                });
        }
        *self.relayed.entry(peer).or_default() += 1;
        if !self.hole_punch {
            return None;
        }
        self.hole_punches
            .on_relayed_connection(peer, std::time::Instant::now())
    }

    /// A connection closed.
    pub(crate) fn on_connection_closed(&mut self, peer: PeerId, endpoint: &ConnectedPoint) {
        if !endpoint.is_relayed() {
            return;
        }
        if let Some(n) = self.relayed.get_mut(&peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.relayed.remove(&peer);
                self.hole_punches.forget(&peer);
            }
        }
    }

    /// What the NAT behaviours report, as an event record.
    pub(crate) fn on_event(&mut self, event: BehaviourEvent) -> Option<Event> {
        match event {
            BehaviourEvent::RelayClient(relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            }) => Some(Event::RelayReservationAccepted {
                relay: relay_peer_id.to_string(),
                renewal,
            }),
            BehaviourEvent::Autonat(autonat::Event::StatusChanged { new, .. }) => {
                Some(nat_status(&new))
            }
            BehaviourEvent::Dcutr(e) => {
                Some(self.hole_punches.on_result(e, std::time::Instant::now()))
            }
            BehaviourEvent::RelayServer(e) => {
                tracing::debug!(?e, "relay server");
                None
            }
            other => {
                tracing::trace!(?other, "nat");
                None
            }
        }
    }
}

/// AutoNAT's verdict as an event record.
fn nat_status(status: &autonat::NatStatus) -> Event {
    let (status, address) = match status {
        autonat::NatStatus::Public(a) => ("public", Some(a.to_string())),
        autonat::NatStatus::Private => ("private", None),
        autonat::NatStatus::Unknown => ("unknown", None),
    };
    Event::NatStatus {
        status: status.into(),
        address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdicts_are_named() {
        let a: Multiaddr = "/ip4/1.2.3.4/tcp/1".parse().expect("valid");
        assert_eq!(
            nat_status(&autonat::NatStatus::Public(a)),
            Event::NatStatus {
                status: "public".into(),
                address: Some("/ip4/1.2.3.4/tcp/1".into())
            }
        );
        assert!(matches!(
            nat_status(&autonat::NatStatus::Private),
            Event::NatStatus { ref status, address: None } if status == "private"
        ));
    }
}
