//! The adversary's connection handler for the gossipsub protocol: one outbound stream it
//! opens and writes RPCs to, and the inbound stream the peer opens, whose RPCs it hands to
//! the behaviour. Frames are length-prefixed protobuf (unsigned varint, then the `RPC`), as
//! libp2p's gossipsub frames them, through libp2p's prost codec.

use std::collections::VecDeque;
use std::task::{Context, Poll};

use asynchronous_codec::Framed;
use futures::{Sink, StreamExt};
use libp2p::StreamProtocol;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::swarm::handler::{ConnectionEvent, FullyNegotiatedInbound, FullyNegotiatedOutbound};
use libp2p::swarm::{ConnectionHandler, ConnectionHandlerEvent, Stream, SubstreamProtocol};

use super::proto::Rpc;

type Frames = Framed<Stream, prost_codec::Codec<Rpc>>;

/// The outbound stream's state.
enum Outbound {
    /// None yet: one is requested on the next poll.
    Closed,
    /// Requested, not negotiated yet.
    Opening,
    /// Open: queued RPCs are written to it.
    Open(Box<Frames>),
    /// The peer does not speak the protocol.
    Refused,
}

/// One connection's gossipsub streams.
pub struct Handler {
    protocol: StreamProtocol,
    max_len: usize,
    inbound: Option<Frames>,
    outbound: Outbound,
    queue: VecDeque<Rpc>,
}

impl Handler {
    /// A handler speaking `protocol`, refusing frames above `max_len` bytes.
    pub fn new(protocol: StreamProtocol, max_len: usize) -> Self {
        Handler {
            protocol,
            max_len,
            inbound: None,
            outbound: Outbound::Closed,
            queue: VecDeque::new(),
        }
    }

    fn frames(&self, stream: Stream) -> Frames {
        Framed::new(stream, prost_codec::Codec::new(self.max_len))
    }

    /// Writes what is queued while the stream takes it; the stream is dropped (and reopened
    /// on the next poll) on a write error.
    fn write(&mut self, cx: &mut Context<'_>) {
        let Outbound::Open(frames) = &mut self.outbound else {
            return;
        };
        let mut frames = std::pin::Pin::new(frames.as_mut());
        let mut failed = false;
        while !self.queue.is_empty() {
            match frames.as_mut().poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if let Some(rpc) = self.queue.pop_front()
                        && frames.as_mut().start_send(rpc).is_err()
                    {
                        failed = true;
                        break;
                    }
                }
                Poll::Ready(Err(_)) => {
                    failed = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !failed && let Poll::Ready(Err(_)) = frames.as_mut().poll_flush(cx) {
            failed = true;
        }
        if failed {
            tracing::debug!("gossipsub outbound stream failed; reopening");
            self.outbound = Outbound::Closed;
        }
    }
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Rpc;
    type ToBehaviour = Rpc;
    type InboundProtocol = ReadyUpgrade<StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol> {
        SubstreamProtocol::new(ReadyUpgrade::new(self.protocol.clone()), ())
    }

    fn connection_keep_alive(&self) -> bool {
        !matches!(self.outbound, Outbound::Refused)
    }

    fn on_behaviour_event(&mut self, rpc: Rpc) {
        if !matches!(self.outbound, Outbound::Refused) {
            self.queue.push_back(rpc);
        }
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol>,
    ) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: stream,
                ..
            }) => self.inbound = Some(self.frames(stream)),
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: stream,
                ..
            }) => self.outbound = Outbound::Open(Box::new(self.frames(stream))),
            ConnectionEvent::DialUpgradeError(_) => {
                self.outbound = Outbound::Refused;
                self.queue.clear();
            }
            _ => {}
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, (), Self::ToBehaviour>> {
        if matches!(self.outbound, Outbound::Closed) {
            self.outbound = Outbound::Opening;
            return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                protocol: SubstreamProtocol::new(ReadyUpgrade::new(self.protocol.clone()), ()),
            });
        }
        self.write(cx);
        if let Some(inbound) = self.inbound.as_mut() {
            match inbound.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(rpc))) => {
                    return Poll::Ready(ConnectionHandlerEvent::NotifyBehaviour(rpc));
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::debug!(error = %e, "gossipsub inbound stream failed");
                    self.inbound = None;
                }
                Poll::Ready(None) => self.inbound = None,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}
