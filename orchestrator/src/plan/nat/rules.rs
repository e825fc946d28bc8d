//! A NAT router's rules: one `iptables-restore` document per router, by its type.
//!
//! Linux's NAT is connection tracking: a packet of a known connection (either direction) is
//! translated like the connection's first packet, and a reply passes the router back. So
//! address-and-port-dependent filtering (RFC 4787 §5) is what conntrack does by itself: a
//! packet from outside reaches a node only as a reply to something the node sent to that
//! exact address and port. Each type adds to that (`R` is the router's public address,
//! `P_j = 4001 + j` the public port of the node in slot `j`, listening on 4001, whose
//! connections leave from 4001 too, libp2p's port reuse):
//!
//! | type | mapping (`nat` POSTROUTING) | filtering (`nat` PREROUTING) |
//! | --- | --- | --- |
//! | `full-cone` | node `j`'s port 4001 → `R:P_j`, for every destination (endpoint-independent) | anything to `R:P_j` → node `j` (endpoint-independent) |
//! | `address-restricted` | as full-cone | to `R:P_j` → node `j` only from an address node `j` has sent to (the `recent` match, per node, refreshed by every packet it sends; address-dependent) |
//! | `port-restricted` | as full-cone | conntrack only: replies from the exact address and port (address- and port-dependent) |
//! | `symmetric` | every connection → `R`, a random port (`--random-fully`): a new port per destination (address- and port-dependent) | conntrack only |
//!
//! Other connections of a node (not from port 4001) leave as `R` with a port the kernel
//! picks. For every type the router drops new connections to its own public address
//! rather than answer them with a reset (a NAT that drops is what hole punching expects: a
//! reset would kill the other side's attempt), and forwards new connections only from its
//! private network or when they were forwarded to a node on purpose (DNAT).
//! TCP and UDP (QUIC) alike.

use std::fmt::Write as _;

use super::{LISTEN_PORT, RouterPlan};
use crate::scenario::NatType;
use std::net::Ipv4Addr;

/// The router's rules, an `iptables-restore` document; `nodes` are the addresses of the
/// nodes behind it, in slot order.
pub fn iptables_restore(router: &RouterPlan, nodes: &[Ipv4Addr]) -> String {
    let r = router.public_ip;
    let private = &router.private_cidr;
    let mut nat = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
    );
    let mut filter =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for (slot, node) in nodes.iter().enumerate() {
        let port = RouterPlan::external_port(slot);
        let list = recent_list(slot);
        if router.nat == NatType::AddressRestricted {
            // Every packet the node sends records (or refreshes) its destination address.
            let _ = writeln!(
                filter,
                "-A FORWARD -s {node}/32 -m recent --name {list} --rdest --set"
            );
        }
        for proto in ["tcp", "udp"] {
            if router.nat.maps_independently() {
                let _ = writeln!(
                    nat,
                    "-A POSTROUTING -s {node}/32 -p {proto} --sport {LISTEN_PORT} -j SNAT --to-source {r}:{port}"
                );
            }
            let forward = format!(
                "-A PREROUTING -d {r}/32 -p {proto} --dport {port} -j DNAT --to-destination {node}:{LISTEN_PORT}"
            );
            match router.nat {
                NatType::FullCone => {
                    let _ = writeln!(nat, "{forward}");
                }
                NatType::AddressRestricted => {
                    let guarded = forward.replacen(
                        " -j DNAT",
                        &format!(" -m recent --name {list} --rcheck --rsource -j DNAT"),
                        1,
                    );
                    let _ = writeln!(nat, "{guarded}");
                }
                NatType::None | NatType::PortRestricted | NatType::Symmetric => {}
            }
        }
    }
    let random = if router.nat == NatType::Symmetric {
        " --random-fully"
    } else {
        ""
    };
    let _ = writeln!(
        nat,
        "-A POSTROUTING -s {private} ! -d {private} -j SNAT --to-source {r}{random}"
    );
    let _ = writeln!(
        filter,
        "-A INPUT -d {r}/32 -m conntrack --ctstate NEW,INVALID -j DROP"
    );
    let _ = writeln!(
        filter,
        "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED,DNAT -j ACCEPT"
    );
    let _ = writeln!(filter, "-A FORWARD -s {private} -j ACCEPT");
    nat.push_str("COMMIT\n");
    filter.push_str("COMMIT\n");
    nat + &filter
}

/// The `recent` list of the node in `slot` (the addresses it has sent to).
fn recent_list(slot: usize) -> String {
    format!("sent{slot}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(nat: NatType) -> RouterPlan {
        RouterPlan {
            name: "nat-0".into(),
            index: 0,
            nat,
            nat_group: None,
            network: 0,
            public_ip: Ipv4Addr::new(10, 77, 0, 40),
            private_ip: Ipv4Addr::new(10, 177, 0, 2),
            private_cidr: "10.177.0.0/24".into(),
            nodes: vec![3, 4],
        }
    }

    fn rules(nat: NatType) -> String {
        let nodes = [Ipv4Addr::new(10, 177, 0, 3), Ipv4Addr::new(10, 177, 0, 4)];
        iptables_restore(&router(nat), &nodes)
    }

    const SNAT_0: &str =
        "-A POSTROUTING -s 10.177.0.3/32 -p tcp --sport 4001 -j SNAT --to-source 10.77.0.40:4001";
    const SNAT_1: &str =
        "-A POSTROUTING -s 10.177.0.4/32 -p udp --sport 4001 -j SNAT --to-source 10.77.0.40:4002";
    const DNAT_1: &str = "-A PREROUTING -d 10.77.0.40/32 -p tcp --dport 4002 -j DNAT --to-destination 10.177.0.4:4001";

    #[test]
    fn every_type_drops_the_unsolicited_and_forwards_its_own() {
        for nat in NatType::NATED {
            let r = rules(nat);
            assert!(r.starts_with("*nat\n") && r.ends_with("COMMIT\n"), "{r}");
            assert_eq!(r.matches("COMMIT").count(), 2);
            assert!(r.contains(":FORWARD DROP"));
            assert!(
                r.contains("-A INPUT -d 10.77.0.40/32 -m conntrack --ctstate NEW,INVALID -j DROP")
            );
            assert!(r.contains("-A FORWARD -s 10.177.0.0/24 -j ACCEPT"));
        }
    }

    #[test]
    fn full_cone_maps_and_forwards_each_nodes_port() {
        let r = rules(NatType::FullCone);
        assert!(r.contains(SNAT_0) && r.contains(SNAT_1), "{r}");
        assert!(r.contains(DNAT_1), "{r}");
        assert!(!r.contains("recent") && !r.contains("random"), "{r}");
    }

    #[test]
    fn address_restricted_forwards_only_from_addresses_the_node_sent_to() {
        let r = rules(NatType::AddressRestricted);
        assert!(r.contains(SNAT_0), "{r}");
        assert!(r.contains("-A FORWARD -s 10.177.0.4/32 -m recent --name sent1 --rdest --set"));
        assert!(r.contains("-A PREROUTING -d 10.77.0.40/32 -p tcp --dport 4002 -m recent --name sent1 --rcheck --rsource -j DNAT --to-destination 10.177.0.4:4001"), "{r}");
        assert!(!r.contains(DNAT_1), "{r}");
    }

    #[test]
    fn port_restricted_maps_fixed_ports_and_forwards_nothing() {
        let r = rules(NatType::PortRestricted);
        assert!(r.contains(SNAT_0) && r.contains(SNAT_1), "{r}");
        assert!(!r.contains("DNAT --to") && !r.contains("recent"), "{r}");
    }

    #[test]
    fn symmetric_draws_a_random_port_per_connection_and_forwards_nothing() {
        let r = rules(NatType::Symmetric);
        assert!(!r.contains("--sport 4001"), "{r}");
        assert!(!r.contains("DNAT --to"), "{r}");
        assert!(r.contains(
            "-A POSTROUTING -s 10.177.0.0/24 ! -d 10.177.0.0/24 -j SNAT --to-source 10.77.0.40 --random-fully"
        ), "{r}");
    }
}
