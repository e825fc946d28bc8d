//! Structured event records shared by the node (which writes them, one JSON object per
//! line) and the orchestrator (which collects and measures them).
//!
//! Every record carries the wall-clock time it was taken (`ts_ns`, nanoseconds since the
//! Unix epoch) and the emitting node's name, so that events from many containers on one
//! host can be merged on one clock.
//!
//! The link shaper's own report lines (`shaper_ready`, `shaper_failed`, …), written by
//! `labshaper` and read by the orchestrator, are in [`shaper`].
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod shaper;

use serde::{Deserialize, Serialize};

/// One line of a node's event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Wall-clock time the event was recorded, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The emitting node's name (its container name in a testnet).
    pub node: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What a node observed. Serialised with an `"event"` tag, e.g. `{"event":"delivered",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The node started and listens on these addresses.
    Started {
        /// The node's libp2p peer id.
        peer_id: String,
        /// The node's role (`honest`, `invalid-signature`, …).
        role: String,
        /// Listen addresses as multiaddrs.
        listen: Vec<String>,
    },
    /// The node published an application message.
    Published {
        /// Gossipsub message id (hex of the BLAKE3 hash of the message data).
        msg_id: String,
        /// Envelope sequence number.
        seq: u64,
        /// Payload size in bytes.
        size: usize,
        /// Whole message size on the wire in bytes (envelope included).
        wire_size: usize,
    },
    /// A publish attempt failed (for instance no mesh or fanout peers yet).
    PublishFailed {
        /// Envelope sequence number of the lost message.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The node accepted (validated) a message published by another node.
    Delivered {
        /// Gossipsub message id.
        msg_id: String,
        /// The origin's peer id.
        origin: String,
        /// Envelope sequence number.
        seq: u64,
        /// The origin's publish time, nanoseconds since the Unix epoch.
        published_ns: u64,
        /// The local receive time, nanoseconds since the Unix epoch.
        received_ns: u64,
        /// The peer that forwarded the message to us.
        from: String,
    },
    /// The node rejected or ignored a message.
    Rejected {
        /// Gossipsub message id.
        msg_id: String,
        /// The peer that forwarded the message to us.
        from: String,
        /// Why, e.g. `invalid signature`.
        reason: String,
    },
    /// A connection to a peer was established (first connection).
    PeerConnected {
        /// The remote peer id.
        peer: String,
        /// Whether this node dialled (else the peer did).
        #[serde(default)]
        outbound: bool,
        /// Whether the connection runs through a relay (`/p2p-circuit`), else it is direct.
        #[serde(default)]
        relayed: bool,
    },
    /// A connection's security handshake, one per established connection (spec §9.1).
    Handshake {
        /// The remote peer id.
        peer: String,
        /// Whether this node dialled.
        outbound: bool,
        /// `tcp`, `quic` or `relay` (a circuit through a relay).
        transport: String,
        /// `tls`, `noise`, `quic-tls` (QUIC's built-in TLS 1.3), or `unknown`.
        security: String,
        /// The negotiated key-exchange group as IANA names it (`X25519MLKEM768`, `X25519`;
        /// `X25519` for noise), or `unknown` where the node cannot see it (QUIC).
        group: String,
        /// Real time from dial (or accept) to the established connection, microseconds.
        established_us: u64,
        /// Bytes the security handshake read and wrote, when the node saw them (not QUIC).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handshake_bytes: Option<u64>,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The remote peer id.
        peer: String,
        /// Why: `trimmed` (this node's connection manager), `closed` (closed here, e.g.
        /// idle), or the connection error (e.g. the peer closed it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
    },
    /// The node's mesh for a topic changed.
    Mesh {
        /// The topic.
        topic: String,
        /// Peers now in the mesh.
        peers: Vec<String>,
    },
    /// Periodic snapshot of the scores this node gives its connected peers.
    Scores {
        /// `(peer id, score)` pairs.
        scores: Vec<PeerScore>,
    },
    /// A ping round trip to a connected peer completed.
    Ping {
        /// The remote peer id.
        peer: String,
        /// Round-trip time in microseconds.
        rtt_us: u64,
    },
    /// The node's CPU probe at start: the mean real time of one ML-DSA signature and one
    /// verification of a 1 KiB message over `rounds` rounds (the orchestrator reads them as
    /// virtual times on a dilated testnet).
    CpuProbe {
        /// Rounds timed.
        rounds: u32,
        /// Mean time of one signature, nanoseconds.
        sign_ns: u64,
        /// Mean time of one verification, nanoseconds.
        verify_ns: u64,
        /// Whether every signature verified.
        verified: bool,
    },
    /// AutoNAT's verdict on whether peers can dial this node changed.
    NatStatus {
        /// `public`, `private` or `unknown`.
        status: String,
        /// The address a peer dialled back, when `public`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    /// A relay accepted this node's reservation: peers reach it through the relay.
    RelayReservationAccepted {
        /// The relay's peer id.
        relay: String,
        /// Whether it renews an earlier reservation.
        #[serde(default)]
        renewal: bool,
    },
    /// A reservation on a relay could not be made, or was lost.
    RelayReservationFailed {
        /// The relay's address (`…/p2p/<id>/p2p-circuit`).
        relay: String,
        /// Why.
        reason: String,
    },
    /// A relayed connection to a peer was established and hole punching (DCUtR) starts.
    HolePunchAttempt {
        /// The remote peer id.
        peer: String,
    },
    /// A direct connection to a peer came up while a relayed one was open: by hole
    /// punching, or the peer's own dial getting through (DCUtR reports only its own dials,
    /// so a punch it calls failed may still have left a direct connection).
    DirectConnection {
        /// The remote peer id.
        peer: String,
        /// Whether this node dialled it.
        #[serde(default)]
        outbound: bool,
    },
    /// Hole punching to a peer ended: a direct connection replaces the relayed one, or not.
    HolePunchResult {
        /// The remote peer id.
        peer: String,
        /// Whether a direct connection was established.
        success: bool,
        /// Real time from the relayed connection to the result, in microseconds.
        duration_us: u64,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A scheduled Kademlia query ended (the node's `[dht]` table).
    DhtQuery {
        /// `closest` (get-closest-peers of a random key), `provide` (a provider record
        /// put) or `providers` (get-providers of a key a peer provided).
        kind: String,
        /// Whether it succeeded: `closest` and `provide` finished without a timeout,
        /// `providers` found at least one provider.
        ok: bool,
        /// Real time from the query's start to its end (`providers`: to the first
        /// provider found), in microseconds.
        duration_us: u64,
        /// What it found: peers (`closest`), providers (`providers`); 0 for `provide`.
        found: u64,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// mDNS discovered peers not known to it before.
    MdnsDiscovered {
        /// Peers new in this discovery.
        new: u64,
        /// Distinct peers mDNS has discovered since the start.
        total: u64,
    },
    /// The node's topic mesh held a peer for the first time: the earliest a published
    /// message can reach it through the mesh.
    MeshJoined {
        /// Peers in the mesh then.
        peers: u64,
    },
    /// The node's role started or stopped acting (a dormant role, switched by a timeline's
    /// `attack` action): before its first `acting: true` it behaved honestly.
    RoleSwitched {
        /// The node's role (`invalid-signature`, …).
        role: String,
        /// Whether the role acts from now on; `false`: honest behaviour again.
        acting: bool,
    },
    /// The orchestrator injected a fault of the scenario's timeline (written by the
    /// orchestrator, node `orchestrator`, at the moment the fault took effect).
    Fault {
        /// The action: `partition`, `heal`, `kill`, `restart`, `pause`, `unpause`,
        /// `attack-start`, `attack-stop`.
        action: String,
        /// The nodes it acted on (a partition's first side).
        nodes: Vec<String>,
        /// A partition's other side: traffic between `nodes` and these is dropped.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        across: Vec<String>,
    },
    /// The node is shutting down; counters for the whole run.
    Stopped {
        /// Messages published.
        published: u64,
        /// Messages delivered.
        delivered: u64,
        /// Messages rejected.
        rejected: u64,
        /// Gossipsub messages received on the topic, duplicates included.
        #[serde(default)]
        received: u64,
        /// Gossipsub messages received on the topic after duplicates were dropped.
        #[serde(default)]
        received_unique: u64,
    },
}

/// A peer's score as seen by the emitting node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerScore {
    /// The scored peer.
    pub peer: String,
    /// Its gossipsub score.
    pub score: f64,
    /// The gossipsub protocol the peer speaks (`Gossipsub v1.2` and later send IDONTWANT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The score's topic parts, reconstructed by the node (libp2p reports only the total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<ScoreParts>,
}

/// The topic parts of a peer's score (each already weighted, topic weight included) as the
/// emitting node reconstructs them from the deliveries it saw. The P3 counter counts only
/// the first copies this peer delivered (the node does not see duplicates), so it is a
/// lower bound of libp2p's, and `p3` an upper bound of the penalty's size. What the total
/// holds beyond `p1 + p2 + p3 + p3b` is P4, P6, P7 and that difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreParts {
    /// Whether the peer is in this node's mesh for the topic.
    pub in_mesh: bool,
    /// P1, time in mesh.
    pub p1: f64,
    /// P2, first message deliveries.
    pub p2: f64,
    /// P3, the mesh message delivery deficit (≤ 0; 0 before activation).
    pub p3: f64,
    /// P3b, the deficits the peer carried out of this node's mesh (≤ 0).
    #[serde(default)]
    pub p3b: f64,
    /// The reconstructed P3 counter (decayed deliveries while in the mesh).
    pub mesh_deliveries: f64,
}

impl Record {
    /// Parses one line of an event stream.
    pub fn parse(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// Serialises the record as one line (no trailing newline).
    pub fn to_line(&self) -> String {
        // A Record holds only strings, numbers and vectors of them: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_round_trips_through_one_line() {
        let r = Record {
            ts_ns: 5,
            node: "n1".into(),
            event: Event::Delivered {
                msg_id: "ab".into(),
                origin: "p".into(),
                seq: 3,
                published_ns: 1,
                received_ns: 4,
                from: "q".into(),
            },
        };
        let line = r.to_line();
        assert!(line.contains("\"event\":\"delivered\""), "{line}");
        assert_eq!(Record::parse(&line).expect("parses"), r);
    }

    #[test]
    fn an_old_peer_connected_line_is_direct() {
        let r = Record::parse(
            r#"{"ts_ns":1,"node":"n","event":"peer_connected","peer":"p","outbound":true}"#,
        )
        .expect("parses");
        assert_eq!(
            r.event,
            Event::PeerConnected {
                peer: "p".into(),
                outbound: true,
                relayed: false
            }
        );
    }

    #[test]
    fn nat_events_round_trip_with_their_tags() {
        for (event, tag) in [
            (
                Event::NatStatus {
                    status: "public".into(),
                    address: Some("/ip4/1.2.3.4/tcp/1".into()),
                },
                "nat_status",
            ),
            (
                Event::RelayReservationAccepted {
                    relay: "r".into(),
                    renewal: false,
                },
                "relay_reservation_accepted",
            ),
            (
                Event::RelayReservationFailed {
                    relay: "r".into(),
                    reason: "refused".into(),
                },
                "relay_reservation_failed",
            ),
            (
                Event::HolePunchAttempt { peer: "p".into() },
                "hole_punch_attempt",
            ),
            (
                Event::DirectConnection {
                    peer: "p".into(),
                    outbound: true,
                },
                "direct_connection",
            ),
            (
                Event::HolePunchResult {
                    peer: "p".into(),
                    success: true,
                    duration_us: 7,
                    reason: None,
                },
                "hole_punch_result",
            ),
        ] {
            let r = Record {
                ts_ns: 1,
                node: "n".into(),
                event,
            };
            let line = r.to_line();
            assert!(line.contains(&format!("\"event\":\"{tag}\"")), "{line}");
            assert_eq!(Record::parse(&line).expect("parses"), r);
        }
    }

    #[test]
    fn a_handshake_round_trips_and_omits_unseen_bytes() {
        let r = Record {
            ts_ns: 1,
            node: "n".into(),
            event: Event::Handshake {
                peer: "p".into(),
                outbound: true,
                transport: "quic".into(),
                security: "quic-tls".into(),
                group: "unknown".into(),
                established_us: 2500,
                handshake_bytes: None,
            },
        };
        let line = r.to_line();
        assert!(line.contains("\"event\":\"handshake\""), "{line}");
        assert!(!line.contains("handshake_bytes"), "{line}");
        assert_eq!(Record::parse(&line).expect("parses"), r);
    }

    #[test]
    fn discovery_events_round_trip_with_their_tags() {
        for (event, tag) in [
            (
                Event::DhtQuery {
                    kind: "closest".into(),
                    ok: false,
                    duration_us: 9,
                    found: 0,
                    reason: Some("timeout".into()),
                },
                "dht_query",
            ),
            (
                Event::MdnsDiscovered { new: 2, total: 3 },
                "mdns_discovered",
            ),
            (Event::MeshJoined { peers: 1 }, "mesh_joined"),
            (
                Event::RoleSwitched {
                    role: "equivocation".into(),
                    acting: true,
                },
                "role_switched",
            ),
        ] {
            let r = Record {
                ts_ns: 1,
                node: "n".into(),
                event,
            };
            let line = r.to_line();
            assert!(line.contains(&format!("\"event\":\"{tag}\"")), "{line}");
            assert_eq!(Record::parse(&line).expect("parses"), r);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(Record::parse("{\"ts_ns\":1}").is_err());
        assert!(Record::parse("not json").is_err());
    }
}
