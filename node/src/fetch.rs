//! The fetch store as a behaviour: recent message data kept in a bounded store and served to
//! peers over the fetch-by-id request-response protocol.
//!
//! It answers every inbound request from its store by itself; the event loop only fills the
//! store and sees the outcome of its own fetches ([`Event`]).

use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::gossipsub::MessageId;
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{PeerId, StreamProtocol};
use serde::{Deserialize, Serialize};

mod store;
use store::Store;

/// Protocol of the fetch-by-id request-response exchange.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/meshlab/fetch/1");

/// Messages the node keeps for fetches (the oldest goes first).
pub const STORE_CAPACITY: usize = 1024;

/// Asks a peer for a message it has seen, by gossipsub message id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    /// The message id's bytes.
    pub msg_id: Vec<u8>,
}

/// The answer to a [`FetchRequest`]: the message data, if the peer still has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// The gossipsub message data (an envelope), if known.
    pub data: Option<Vec<u8>>,
}

/// The outcome of one of our own fetches.
#[derive(Debug)]
pub enum Event {
    /// The peer answered: `data` is `None` if it does not have the message.
    Fetched {
        /// The fetch, as [`Behaviour::fetch`] returned it.
        request: OutboundRequestId,
        /// The message data.
        data: Option<Vec<u8>>,
    },
    /// No answer came: the peer could not be reached, timed out or closed the connection.
    Failed {
        /// The fetch, as [`Behaviour::fetch`] returned it.
        request: OutboundRequestId,
        /// Why.
        error: OutboundFailure,
    },
}

type Inner = request_response::cbor::Behaviour<FetchRequest, FetchResponse>;

/// Serves the store to peers and fetches from theirs.
pub struct Behaviour {
    inner: Inner,
    store: Store,
}

impl Behaviour {
    /// A behaviour whose store keeps the latest `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Inner::new(
                [(PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
            store: Store::new(capacity),
        }
    }

    /// Keeps `data` for peers that ask for `id`.
    pub fn insert(&mut self, id: MessageId, data: Vec<u8>) {
        self.store.insert(id, data);
    }

    /// Asks `peer` for the message with id `msg_id`; the answer comes as an [`Event`] for
    /// the returned request.
    pub fn fetch(&mut self, peer: &PeerId, msg_id: Vec<u8>) -> OutboundRequestId {
        self.inner.send_request(peer, FetchRequest { msg_id })
    }

    /// Answers a request from the store, or turns an outcome of ours into an [`Event`].
    fn on_inner(
        &mut self,
        event: request_response::Event<FetchRequest, FetchResponse>,
    ) -> Option<Event> {
        match event {
            request_response::Event::Message { message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let data = self.store.get(&MessageId::from(request.msg_id));
                    // Err: the peer gave up waiting (or the connection closed) meanwhile.
                    let _ = self.inner.send_response(channel, FetchResponse { data });
                    None
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => Some(Event::Fetched {
                    request: request_id,
                    data: response.data,
                }),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => Some(Event::Failed {
                request: request_id,
                error,
            }),
            request_response::Event::InboundFailure { .. }
            | request_response::Event::ResponseSent { .. } => None,
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = THandler<Inner>;
    type ToSwarm = Event;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.inner
            .on_connection_handler_event(peer_id, connection_id, event);
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Event, THandlerInEvent<Self>>> {
        loop {
            match self.inner.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(ToSwarm::GenerateEvent(event)) => {
                    if let Some(event) = self.on_inner(event) {
                        return Poll::Ready(ToSwarm::GenerateEvent(event));
                    }
                }
                // The same mapping as libp2p's own wrappers of request-response (rendezvous):
                // `ToSwarm` is non-exhaustive, so the other actions pass through `map_out`,
                // whose closure only a `GenerateEvent` would call.
                Poll::Ready(action) => {
                    return Poll::Ready(
                        action.map_out(|_| unreachable!("GenerateEvent is matched above")),
                    );
                }
            }
        }
    }
}
