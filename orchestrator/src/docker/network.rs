//! Bridge networks with a fixed subnet.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bollard::models::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest,
    NetworkCreateRequest,
};

use super::error::{DockerError, is_gone};
use super::labels::run_labels;
use super::runner::DockerRunner;

/// A network created by [`DockerRunner::create_network`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkHandle {
    /// The engine's id of the network.
    pub id: String,
    /// The network's name.
    pub name: String,
    /// Its IPv4 subnet in CIDR notation.
    pub subnet: String,
}

/// The bridge driver's option that turns off masquerading of traffic leaving the bridge.
pub const MASQUERADE_OPTION: &str = "com.docker.network.bridge.enable_ip_masquerade";

/// What happens to traffic that leaves a bridge network for another network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// Docker's default: rewritten to the host's address (MASQUERADE).
    Masqueraded,
    /// Left with the container's own address ([`MASQUERADE_OPTION`] `false`), for a run
    /// whose bridges the host routes between: a node sees its peers' real addresses.
    Routed,
    /// Left unmasqueraded, and kept by the engine's isolation between bridge networks
    /// from reaching any other: a NAT's private side, which only its router leaves (its
    /// containers' default route must then point at the router). Not an `internal`
    /// network: the engine's rules for those drop bridged packets to or from another
    /// subnet (the host filters bridged traffic), so a node could not reach its router's
    /// far side either.
    Private,
}

impl DockerRunner {
    /// Creates a bridge network `name` with the IPv4 `subnet` (CIDR, e.g. `10.77.0.0/16`),
    /// labelled as belonging to `run_id`, with Docker's default egress.
    pub async fn create_network(
        &self,
        run_id: &str,
        name: &str,
        subnet: &str,
    ) -> Result<NetworkHandle, DockerError> {
        self.create_bridge(run_id, name, subnet, Egress::Masqueraded)
            .await
    }

    /// Creates a bridge network `name` with the IPv4 `subnet` and the given `egress`,
    /// labelled as belonging to `run_id`.
    pub async fn create_bridge(
        &self,
        run_id: &str,
        name: &str,
        subnet: &str,
        egress: Egress,
    ) -> Result<NetworkHandle, DockerError> {
        let options = match egress {
            Egress::Masqueraded => None,
            Egress::Routed | Egress::Private => Some(HashMap::from([(
                MASQUERADE_OPTION.to_owned(),
                "false".to_owned(),
            )])),
        };
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            ipam: Some(Ipam {
                driver: Some("default".to_owned()),
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_owned()),
                    ..Default::default()
                }]),
                options: None,
            }),
            labels: Some(run_labels(run_id)),
            options,
            ..Default::default()
        };
        let response = self
            .client()
            .create_network(request)
            .await
            .map_err(|e| DockerError::engine(format!("create network {name} ({subnet})"), e))?;
        Ok(NetworkHandle {
            id: response.id,
            name: name.to_owned(),
            subnet: subnet.to_owned(),
        })
    }

    /// Removes network `id` (or name), which must have no containers; one already gone is
    /// fine.
    pub async fn remove_network(&self, id: &str) -> Result<(), DockerError> {
        match self.client().remove_network(id).await {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(DockerError::engine(format!("remove network {id}"), e)),
        }
    }

    /// Attaches a (created or running) container to one more network, optionally at a
    /// fixed address. A container is created attached to at most one network.
    pub async fn connect_network(
        &self,
        container: &str,
        network: &str,
        ipv4: Option<Ipv4Addr>,
    ) -> Result<(), DockerError> {
        let request = NetworkConnectRequest {
            container: container.to_owned(),
            endpoint_config: Some(endpoint_settings(ipv4)),
        };
        self.client()
            .connect_network(network, request)
            .await
            .map_err(|e| {
                DockerError::engine(
                    format!("connect container {container} to network {network}"),
                    e,
                )
            })
    }
}

/// The endpoint settings that pin a container's address (if any) on a network.
pub(crate) fn endpoint_settings(ipv4: Option<Ipv4Addr>) -> EndpointSettings {
    EndpointSettings {
        ipam_config: ipv4.map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
