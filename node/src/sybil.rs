//! The `sybil` role's extra identities: a `sybil` node runs `sybil_identities` more nodes
//! in its process, each a whole swarm with an identity of its own, on the same address (so
//! that the peers they dial see many peer ids from one IP, which is what gossipsub's IP
//! colocation factor, P6, counts). Each dials the node's bootstrap peers, subscribes and
//! joins meshes, and like the node itself publishes and forwards nothing
//! ([`crate::role`]).
//!
//! They listen on the node's addresses with port 0 (nobody dials them) and write only their
//! `started` record, under the node's name, so that whoever reads the events knows their
//! peer ids as the node's.

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use crate::config::{NodeConfig, Role};
use crate::handle::{NodeError, NodeHandle};
use crate::sink::EventSink;
use lab_events::{Event, Record};

/// How many identities a node with `config` runs besides its own: `sybil_identities` for
/// the `sybil` role, 0 otherwise.
pub fn identities(config: &NodeConfig) -> usize {
    if config.role == Role::Sybil {
        usize::from(config.sybil_identities)
    } else {
        0
    }
}

/// The configuration of extra identity `i` of the node with `config`: the same but for
/// its listen ports (0), its identity seed (the node's plus `/sybil-<i>`, when it has
/// one), no traffic, no metrics endpoint, no mDNS or scheduled queries, and no identities
/// of its own.
pub fn identity_config(config: &NodeConfig, i: usize) -> Result<NodeConfig, NodeError> {
    let listen = config
        .listen
        .iter()
        .map(|a| any_port(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NodeConfig {
        listen,
        metrics_port: 0,
        traffic: None,
        mdns: false,
        dht: Default::default(),
        sybil_identities: 0,
        identity_seed: config
            .identity_seed
            .as_ref()
            .map(|s| format!("{s}/sybil-{i}")),
        ..config.clone()
    })
}

/// `addr` with its TCP or UDP port 0.
fn any_port(addr: &str) -> Result<String, NodeError> {
    let parsed: Multiaddr = crate::listen::parse_addr(addr)?;
    Ok(parsed
        .iter()
        .map(|p| match p {
            Protocol::Tcp(_) => Protocol::Tcp(0),
            Protocol::Udp(_) => Protocol::Udp(0),
            p => p,
        })
        .collect::<Multiaddr>()
        .to_string())
}

/// Starts the extra identities of the node with `config`, one for each sink of `sinks`
/// (as many as [`identities`] says), each writing only its `started` record.
pub async fn start(
    config: &NodeConfig,
    sinks: Vec<Box<dyn EventSink>>,
) -> Result<Vec<NodeHandle>, NodeError> {
    let mut handles = Vec::with_capacity(sinks.len());
    for (i, sink) in sinks.into_iter().enumerate() {
        let c = identity_config(config, i)?;
        handles.push(crate::start(c, Box::new(StartedOnly(sink))).await?);
    }
    Ok(handles)
}

/// Passes `started` records on, drops the rest.
struct StartedOnly(Box<dyn EventSink>);

impl EventSink for StartedOnly {
    fn emit(&mut self, record: Record) {
        if matches!(record.event, Event::Started { .. }) {
            self.0.emit(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_listen_anywhere_and_run_none_of_their_own() {
        let c = NodeConfig {
            role: Role::Sybil,
            identity_seed: Some("sybil-0".into()),
            ..NodeConfig::default()
        };
        assert_eq!(identities(&c), 8);
        let extra = identity_config(&c, 3).expect("valid");
        assert_eq!(
            extra.listen,
            ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
        );
        assert_eq!(extra.identity_seed.as_deref(), Some("sybil-0/sybil-3"));
        assert_eq!(identities(&extra), 0);
        assert!(extra.check().is_empty(), "{:?}", extra.check());
        let honest = NodeConfig::default();
        assert_eq!(identities(&honest), 0);
    }
}
