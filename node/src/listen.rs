//! Listening on the configured addresses: parsing them, and waiting until every listener
//! has an address, with the OS's reason when one fails.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm};
use tokio::time::Instant;

use crate::behaviour::Behaviour;
use crate::handle::NodeError;

/// Parses a configured address.
pub(crate) fn parse_addr(addr: &str) -> Result<Multiaddr, NodeError> {
    addr.parse()
        .map_err(|e: libp2p::multiaddr::Error| NodeError::Multiaddr {
            addr: addr.to_string(),
            message: e.to_string(),
        })
}

/// Listens on every address of `listen`; returns the first address of each listener.
pub(crate) async fn listen(
    swarm: &mut Swarm<Behaviour>,
    listen: &[Multiaddr],
) -> Result<Vec<Multiaddr>, NodeError> {
    for addr in listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NodeError::Listen {
                addr: addr.to_string(),
                message: error_chain(&e),
            })?;
    }
    await_listeners(swarm, listen.len()).await
}

const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for the first address of each of `listeners` listeners.
async fn await_listeners(
    swarm: &mut Swarm<Behaviour>,
    listeners: usize,
) -> Result<Vec<Multiaddr>, NodeError> {
    let mut seen = HashSet::new();
    let mut addrs = Vec::new();
    let deadline = Instant::now() + LISTEN_TIMEOUT;
    while seen.len() < listeners {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| NodeError::ListenTimeout(LISTEN_TIMEOUT))?;
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                seen.insert(listener_id);
                addrs.push(address);
            }
            SwarmEvent::ListenerError { error, .. } => {
                return Err(NodeError::Listen {
                    addr: "a listen address".into(),
                    message: error_chain(&error),
                });
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                let addr = addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(NodeError::Listen {
                    addr: if addr.is_empty() {
                        "a listen address".into()
                    } else {
                        addr
                    },
                    message: match reason {
                        Ok(()) => "the listener closed".into(),
                        Err(e) => error_chain(&e),
                    },
                });
            }
            _ => {}
        }
    }
    Ok(addrs)
}

/// An error and its sources, joined with `: ` (libp2p's transport errors keep the OS
/// reason, e.g. "Cannot assign requested address", in a source, not in their own message).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        "no reason given".into()
    } else {
        parts.join(": ")
    }
}
