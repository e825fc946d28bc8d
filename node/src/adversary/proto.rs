//! The gossipsub RPC on the wire: the protobuf messages of the gossipsub spec's `rpc.proto`
//! (libp2p/specs, `pubsub/gossipsub/gossipsub-v1.1.md` § "Protobuf", and `pubsub/README.md`
//! for `RPC`, `SubOpts` and `Message`), as prost messages. libp2p-gossipsub keeps its own
//! generated types private, so the adversary carries the part of the schema it speaks; the
//! field numbers are the spec's. The partial-messages extension (fields `RPC.partial`,
//! `ControlMessage.extensions`) is left out: prost skips unknown fields when it decodes.

// The field docs are the spec's comments; the derive's accessors need none.
#![allow(missing_docs)]

/// `message RPC`: subscriptions, published messages and control messages, in one frame.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Rpc {
    #[prost(message, repeated, tag = "1")]
    pub subscriptions: Vec<SubOpts>,
    #[prost(message, repeated, tag = "2")]
    pub publish: Vec<Message>,
    #[prost(message, optional, tag = "3")]
    pub control: Option<ControlMessage>,
}

/// `message RPC.SubOpts`: subscribe to (or unsubscribe from) a topic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubOpts {
    #[prost(bool, optional, tag = "1")]
    pub subscribe: Option<bool>,
    #[prost(string, optional, tag = "2")]
    pub topic_id: Option<String>,
}

/// `message Message`: one published message, as its origin signed it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub from: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub data: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub seqno: Option<Vec<u8>>,
    #[prost(string, required, tag = "4")]
    pub topic: String,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub signature: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "6")]
    pub key: Option<Vec<u8>>,
}

/// `message ControlMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlMessage {
    #[prost(message, repeated, tag = "1")]
    pub ihave: Vec<ControlIHave>,
    #[prost(message, repeated, tag = "2")]
    pub iwant: Vec<ControlIWant>,
    #[prost(message, repeated, tag = "3")]
    pub graft: Vec<ControlGraft>,
    #[prost(message, repeated, tag = "4")]
    pub prune: Vec<ControlPrune>,
    #[prost(message, repeated, tag = "5")]
    pub idontwant: Vec<ControlIDontWant>,
}

/// `message ControlIHave`: message ids the sender has for a topic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlIHave {
    #[prost(string, optional, tag = "1")]
    pub topic_id: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub message_ids: Vec<Vec<u8>>,
}

/// `message ControlIWant`: message ids the sender asks for.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlIWant {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub message_ids: Vec<Vec<u8>>,
}

/// `message ControlGraft`: the sender adds the receiver to its mesh of a topic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlGraft {
    #[prost(string, optional, tag = "1")]
    pub topic_id: Option<String>,
}

/// `message ControlPrune`: the sender removes the receiver from its mesh of a topic, and
/// asks it to back off (gossipsub 1.1: `backoff` in seconds, `peers` for peer exchange).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlPrune {
    #[prost(string, optional, tag = "1")]
    pub topic_id: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub peers: Vec<PeerInfo>,
    #[prost(uint64, optional, tag = "3")]
    pub backoff: Option<u64>,
}

/// `message ControlIDontWant` (gossipsub 1.2): message ids the sender already has.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlIDontWant {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub message_ids: Vec<Vec<u8>>,
}

/// `message PeerInfo`: a peer offered in peer exchange.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PeerInfo {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub peer_id: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub signed_peer_record: Option<Vec<u8>>,
}

impl Rpc {
    /// An RPC of control messages only.
    pub fn control(control: ControlMessage) -> Rpc {
        Rpc {
            control: Some(control),
            ..Rpc::default()
        }
    }

    /// A subscription to `topic`.
    pub fn subscribe(topic: &str) -> Rpc {
        Rpc {
            subscriptions: vec![SubOpts {
                subscribe: Some(true),
                topic_id: Some(topic.to_string()),
            }],
            ..Rpc::default()
        }
    }

    /// An IHAVE of `ids` on `topic`.
    pub fn ihave(topic: &str, ids: Vec<Vec<u8>>) -> Rpc {
        Rpc::control(ControlMessage {
            ihave: vec![ControlIHave {
                topic_id: Some(topic.to_string()),
                message_ids: ids,
            }],
            ..ControlMessage::default()
        })
    }

    /// A GRAFT on `topic`.
    pub fn graft(topic: &str) -> Rpc {
        Rpc::control(ControlMessage {
            graft: vec![ControlGraft {
                topic_id: Some(topic.to_string()),
            }],
            ..ControlMessage::default()
        })
    }

    /// A PRUNE on `topic`, without peer exchange; the receiver backs off for its own
    /// default (`prune_backoff`).
    pub fn prune(topic: &str) -> Rpc {
        Rpc::control(ControlMessage {
            prune: vec![ControlPrune {
                topic_id: Some(topic.to_string()),
                peers: Vec::new(),
                backoff: None,
            }],
            ..ControlMessage::default()
        })
    }

    /// Published messages.
    pub fn publish(messages: Vec<Message>) -> Rpc {
        Rpc {
            publish: messages,
            ..Rpc::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// The field numbers are the spec's: the bytes of a GRAFT, an IHAVE and a
    /// subscription, by hand from `rpc.proto`.
    #[test]
    fn control_messages_encode_with_the_specs_field_numbers() {
        // RPC.control (3, LEN) { ControlMessage.graft (3, LEN) { topic_id (1, LEN) "t" } }
        assert_eq!(
            Rpc::graft("t").encode_to_vec(),
            [0x1a, 5, 0x1a, 3, 0x0a, 1, b't']
        );
        // RPC.control { ihave (1) { topic_id (1) "t", message_ids (2) [0xaa] } }
        assert_eq!(
            Rpc::ihave("t", vec![vec![0xaa]]).encode_to_vec(),
            [0x1a, 8, 0x0a, 6, 0x0a, 1, b't', 0x12, 1, 0xaa]
        );
        // RPC.control { prune (4) { topic_id (1) "t" } }: no backoff, no peers.
        assert_eq!(
            Rpc::prune("t").encode_to_vec(),
            [0x1a, 5, 0x22, 3, 0x0a, 1, b't']
        );
        // RPC.subscriptions (1) { subscribe (1, varint) true, topic_id (2) "t" }
        assert_eq!(
            Rpc::subscribe("t").encode_to_vec(),
            [0x0a, 5, 0x08, 1, 0x12, 1, b't']
        );
    }

    #[test]
    fn an_rpc_decodes_as_it_was_encoded() {
        let rpc = Rpc {
            publish: vec![Message {
                data: Some(vec![1, 2, 3]),
                topic: "t".into(),
                ..Message::default()
            }],
            ..Rpc::ihave("t", vec![vec![7; 32]])
        };
        assert_eq!(Rpc::decode(rpc.encode_to_vec().as_slice()), Ok(rpc));
    }
}
