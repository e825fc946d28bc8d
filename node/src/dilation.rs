//! Time dilation in the node ([`TimeScale`], README "Virtual time"): every timer the node
//! sets is virtual and lasts `k` times longer in real time.
//!
//! The configuration's own times (periods, the publish schedule, every gossipsub and score
//! setting) are turned into real times once, at start, by [`NodeConfig::dilated`]; what
//! the node and its libraries time without a configuration field is listed here, in
//! virtual time, and each user scales it with the node's `k`: gossipsub's defaults
//! (`gossip::config`), the transports' timeouts, identify, ping's timeout, Kademlia's query
//! timeout, mDNS, the connection manager's grace and the redial backoff. The NAT
//! behaviours' timers (relay server, AutoNAT, the reservation retry) are in
//! [`crate::nat::timers`].
//!
//! Event records keep real clock times: the orchestrator maps them to virtual time when it
//! reads them (one conversion, one place). Timeouts that guard the node's own start-up and
//! its metrics endpoint are not part of the protocol and stay real.
//!
//! [`NodeConfig::dilated`]: lab_config::NodeConfig::dilated

use std::time::Duration;

use libp2p::{mdns, quic};

pub use lab_config::TimeScale;

/// A connection's whole handshake (transport, security, multiplexer): libp2p's default.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no stream and no behaviour keeping it is closed after this.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// A ping without an answer fails after this (libp2p's default).
pub const PING_TIMEOUT: Duration = Duration::from_secs(20);
/// Identify's periodic re-identification (libp2p's default).
pub const IDENTIFY_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// A Kademlia query gives up after this (libp2p's default).
pub const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// QUIC: the handshake's timeout, libp2p's default.
pub const QUIC_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// QUIC: an idle connection is closed after this, libp2p's default.
pub const QUIC_MAX_IDLE: Duration = Duration::from_secs(10);
/// QUIC: keep-alive packets this often, libp2p's default.
pub const QUIC_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// QUIC's timers on a node dilated by `k`.
pub fn quic(mut c: quic::Config, k: TimeScale) -> quic::Config {
    c.handshake_timeout = k.real(QUIC_HANDSHAKE_TIMEOUT);
    c.max_idle_timeout = u32::try_from(k.real(QUIC_MAX_IDLE).as_millis()).unwrap_or(u32::MAX);
    c.keep_alive_interval = k.real(QUIC_KEEP_ALIVE);
    c
}

/// mDNS's timers (libp2p's defaults) on a node dilated by `k`.
pub fn mdns(k: TimeScale) -> mdns::Config {
    let d = mdns::Config::default();
    mdns::Config {
        ttl: k.real(d.ttl),
        query_interval: k.real(d.query_interval),
        ..d
    }
}
