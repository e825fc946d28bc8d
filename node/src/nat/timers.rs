//! The NAT behaviours' own timers (libp2p's defaults, in virtual time) and the libp2p
//! configurations that carry them, dilated by the node's `k` ([`crate::dilation`]).
//! DCUtR and the relay client set no timer a node can configure.

use std::num::NonZeroU32;
use std::time::Duration;

use libp2p::{autonat::v1 as autonat, relay};

use crate::dilation::TimeScale;

/// Relay server: how long a reservation lasts (libp2p's default, one hour).
pub const RESERVATION_DURATION: Duration = Duration::from_secs(60 * 60);
/// Relay server: the longest a relayed circuit stays open (libp2p's default).
pub const MAX_CIRCUIT_DURATION: Duration = Duration::from_secs(2 * 60);
/// Relay server: reservations a peer may make, and the period of one more (libp2p's
/// default: 30, one more every two minutes).
pub const RESERVATIONS_PER_PEER: (u32, Duration) = (30, Duration::from_secs(2 * 60));
/// Relay server: reservations from one IP address (libp2p's default: 60, one a minute).
pub const RESERVATIONS_PER_IP: (u32, Duration) = (60, Duration::from_secs(60));
/// Relay server: circuits a source peer may open (libp2p's default: 30, one every two
/// minutes).
pub const CIRCUITS_PER_PEER: (u32, Duration) = (30, Duration::from_secs(2 * 60));
/// Relay server: circuits from one source IP address (libp2p's default: 60, one a minute).
pub const CIRCUITS_PER_IP: (u32, Duration) = (60, Duration::from_secs(60));

/// AutoNAT: a dial-back request without an answer fails after this.
pub const AUTONAT_TIMEOUT: Duration = Duration::from_secs(30);
/// AutoNAT: the next probe while the status is unknown or not yet certain.
pub const AUTONAT_RETRY: Duration = Duration::from_secs(90);
/// AutoNAT: the next probe once the status is certain.
pub const AUTONAT_REFRESH: Duration = Duration::from_secs(15 * 60);
/// AutoNAT: a server is asked again only after this.
pub const AUTONAT_THROTTLE_SERVER: Duration = Duration::from_secs(90);
/// AutoNAT (as a server): the period its client limits count over.
pub const AUTONAT_THROTTLE_CLIENTS: Duration = Duration::from_secs(1);

/// A client that lost (or never got) its reservation asks the relay again after this.
pub const RESERVATION_RETRY: Duration = Duration::from_secs(10);

/// The rate limits of a relay server: `(limit, dilated period)` for reservations per peer
/// and per IP, then circuits per peer and per IP.
pub fn relay_rates(k: TimeScale) -> [(u32, Duration); 4] {
    [
        RESERVATIONS_PER_PEER,
        RESERVATIONS_PER_IP,
        CIRCUITS_PER_PEER,
        CIRCUITS_PER_IP,
    ]
    .map(|(n, d)| (n, k.real(d)))
}

/// A relay server's configuration on a node dilated by `k`: libp2p's limits, every
/// duration and rate-limit period scaled.
pub fn relay(k: TimeScale) -> relay::Config {
    let [res_peer, res_ip, circ_peer, circ_ip] = relay_rates(k);
    let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    relay::Config {
        reservation_duration: k.real(RESERVATION_DURATION),
        max_circuit_duration: k.real(MAX_CIRCUIT_DURATION),
        reservation_rate_limiters: Vec::new(),
        circuit_src_rate_limiters: Vec::new(),
        ..relay::Config::default()
    }
    .reservation_rate_per_peer(nz(res_peer.0), res_peer.1)
    .reservation_rate_per_ip(nz(res_ip.0), res_ip.1)
    .circuit_src_per_peer(nz(circ_peer.0), circ_peer.1)
    .circuit_src_per_ip(nz(circ_ip.0), circ_ip.1)
}

/// AutoNAT's configuration on a node dilated by `k`; `boot_delay` is the configured first
/// probe, already real ([`lab_config::NodeConfig::dilated`]).
pub fn autonat(k: TimeScale, boot_delay: Duration, only_global_ips: bool) -> autonat::Config {
    autonat::Config {
        timeout: k.real(AUTONAT_TIMEOUT),
        boot_delay,
        retry_interval: k.real(AUTONAT_RETRY),
        refresh_interval: k.real(AUTONAT_REFRESH),
        throttle_server_period: k.real(AUTONAT_THROTTLE_SERVER),
        throttle_clients_period: k.real(AUTONAT_THROTTLE_CLIENTS),
        only_global_ips,
        ..autonat::Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k4() -> TimeScale {
        TimeScale::new(4.0).expect("valid")
    }

    /// Every duration of the relay server's configuration is scaled; the struct is taken
    /// apart field by field, so a field libp2p adds breaks this test.
    #[test]
    fn every_relay_server_duration_is_dilated() {
        let relay::Config {
            max_reservations,
            max_reservations_per_peer,
            reservation_duration,
            reservation_rate_limiters,
            max_circuits,
            max_circuits_per_peer,
            max_circuit_duration,
            max_circuit_bytes,
            circuit_src_rate_limiters,
        } = relay(k4());
        let d = relay::Config::default();
        assert_eq!(reservation_duration, 4 * d.reservation_duration);
        assert_eq!(max_circuit_duration, 4 * d.max_circuit_duration);
        assert_eq!(
            (max_reservations, max_reservations_per_peer),
            (d.max_reservations, d.max_reservations_per_peer)
        );
        assert_eq!(
            (max_circuits, max_circuits_per_peer, max_circuit_bytes),
            (d.max_circuits, d.max_circuits_per_peer, d.max_circuit_bytes)
        );
        // The limiters are opaque: they are built from `relay_rates`, checked here.
        assert_eq!(reservation_rate_limiters.len(), 2);
        assert_eq!(circuit_src_rate_limiters.len(), 2);
        let real = relay_rates(TimeScale::REAL);
        for (dilated, real) in relay_rates(k4()).iter().zip(real) {
            assert_eq!(dilated.0, real.0, "a limit is a count: unchanged");
            assert_eq!(dilated.1, 4 * real.1, "a period: scaled");
        }
        assert_eq!(real[0], (30, Duration::from_secs(120)), "libp2p's default");
    }

    /// Every duration of AutoNAT's configuration is scaled (the boot delay comes dilated
    /// from the configuration); a field libp2p adds breaks this test.
    #[test]
    fn every_autonat_duration_is_dilated() {
        let boot = Duration::from_millis(60_000);
        let autonat::Config {
            timeout,
            boot_delay,
            refresh_interval,
            retry_interval,
            throttle_server_period,
            use_connected,
            confidence_max,
            max_peer_addresses,
            throttle_clients_global_max,
            throttle_clients_peer_max,
            throttle_clients_period,
            only_global_ips,
        } = autonat(k4(), boot, false);
        let d = autonat::Config::default();
        assert_eq!(timeout, 4 * d.timeout);
        assert_eq!(boot_delay, boot);
        assert_eq!(refresh_interval, 4 * d.refresh_interval);
        assert_eq!(retry_interval, 4 * d.retry_interval);
        assert_eq!(throttle_server_period, 4 * d.throttle_server_period);
        assert_eq!(throttle_clients_period, 4 * d.throttle_clients_period);
        assert_eq!(
            (
                use_connected,
                confidence_max,
                max_peer_addresses,
                throttle_clients_global_max,
                throttle_clients_peer_max
            ),
            (
                d.use_connected,
                d.confidence_max,
                d.max_peer_addresses,
                d.throttle_clients_global_max,
                d.throttle_clients_peer_max
            )
        );
        assert!(!only_global_ips);
        let real = autonat(TimeScale::REAL, d.boot_delay, true);
        assert_eq!(real, d, "at k = 1 libp2p's defaults");
    }
}
