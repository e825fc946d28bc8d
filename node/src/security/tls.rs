//! libp2p TLS 1.3 (`/tls/1.0.0`) with the key-exchange groups the node's [`Security`]
//! chooses. `hybrid` uses libp2p-tls's own configurations (X25519MLKEM768 first, X25519
//! and the NIST curves accepted); the other modes build the same configuration with other
//! groups (a built rustls configuration's groups cannot be changed): TLS 1.3 only, ALPN
//! `libp2p`, a fresh self-signed libp2p certificate ([`certificate::generate`]) and the
//! spec's certificate check ([`Libp2pVerifier`]).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use futures::{AsyncRead, AsyncWrite};
use futures_rustls::TlsStream;
use lab_config::Security;
use libp2p::tls::certificate::{self, P2pCertificate};
use libp2p::{PeerId, identity};
use rustls::crypto::SupportedKxGroup;
use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
use rustls::pki_types::ServerName;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, CommonState, ServerConfig};

use super::verifier::Libp2pVerifier;
use super::{BuildError, UpgradeError};

/// The protocol name multistream-select negotiates.
pub(crate) const PROTOCOL: &str = "/tls/1.0.0";

/// The ALPN value of libp2p TLS.
const ALPN: &[u8] = b"libp2p";

/// Both sides' configurations.
#[derive(Clone)]
pub(crate) struct Configs {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

impl Configs {
    /// The configurations of `security` for the identity `key`.
    pub(crate) fn new(key: &identity::Keypair, security: Security) -> Result<Self, BuildError> {
        let groups: &[&'static dyn SupportedKxGroup] = match security {
            Security::Hybrid => {
                return Ok(Configs {
                    client: Arc::new(libp2p::tls::make_client_config(key, None)?),
                    server: Arc::new(libp2p::tls::make_server_config(key)?),
                });
            }
            Security::PqOnly => &[kx_group::X25519MLKEM768],
            Security::Classical => &[kx_group::X25519],
        };
        own(key, groups)
    }
}

/// Configurations like libp2p-tls's, offering exactly `groups`.
fn own(
    key: &identity::Keypair,
    groups: &[&'static dyn SupportedKxGroup],
) -> Result<Configs, BuildError> {
    let (cert, private_key) = certificate::generate(key)?;
    // Certified without rustls's consistency check, which parses the certificate with
    // webpki and refuses the libp2p extension (critical, unknown to it), as libp2p-tls does.
    let signing_key = rustls::crypto::aws_lc_rs::sign::any_ecdsa_type(&private_key)?;
    let certified = Arc::new(CertifiedKey::new(vec![cert], signing_key));
    let mut provider = default_provider();
    provider.kx_groups = groups.to_vec();
    let provider = Arc::new(provider);
    let verifier = Arc::new(Libp2pVerifier);
    let versions = &[&rustls::version::TLS13];
    let mut client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified.clone())));
    client.alpn_protocols = vec![ALPN.to_vec()];
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    server.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Configs {
        client: Arc::new(client),
        server: Arc::new(server),
    })
}

/// A finished TLS handshake: the remote's peer id, the stream, and the group it agreed.
pub(crate) type Secured<C> = (PeerId, TlsStream<C>, String);

/// The server side of the handshake on `socket`.
pub(crate) async fn accept<C>(configs: &Configs, socket: C) -> Result<Secured<C>, UpgradeError>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let stream = futures_rustls::TlsAcceptor::from(configs.server.clone())
        .accept(socket)
        .await
        .map_err(UpgradeError::Tls)?;
    let (peer, group) = identify(stream.get_ref().1)?;
    Ok((peer, stream.into(), group))
}

/// The client side of the handshake on `socket`.
pub(crate) async fn connect<C>(configs: &Configs, socket: C) -> Result<Secured<C>, UpgradeError>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    // The spec: no server name indication; rustls sends none for an IP address.
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::UNSPECIFIED).into());
    let stream = futures_rustls::TlsConnector::from(configs.client.clone())
        .connect(name, socket)
        .await
        .map_err(UpgradeError::Tls)?;
    let (peer, group) = identify(stream.get_ref().1)?;
    Ok((peer, stream.into(), group))
}

/// The remote's peer id (from its one certificate) and the negotiated group's name.
fn identify(state: &CommonState) -> Result<(PeerId, String), UpgradeError> {
    let Some([cert]) = state.peer_certificates() else {
        return Err(UpgradeError::CertificateCount);
    };
    let cert: P2pCertificate<'_> = certificate::parse(cert)?;
    Ok((cert.peer_id(), group_name(state)))
}

/// The negotiated group as IANA names it (`X25519MLKEM768`, `X25519`, …), `unknown`
/// before a key exchange.
pub(crate) fn group_name(state: &CommonState) -> String {
    match state.negotiated_key_exchange_group() {
        None => "unknown".into(),
        Some(g) => {
            let name = g.name();
            name.as_str()
                .map_or_else(|| format!("0x{:04x}", u16::from(name)), str::to_string)
        }
    }
}
