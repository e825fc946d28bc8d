//! The security upgrade of TCP and relayed connections: multistream-select offers TLS
//! (`/tls/1.0.0`) first and noise (`/noise`) second, or TLS alone under `pq-only`. Each
//! upgrade counts its handshake's bytes and leaves a [`Record`] in [`Handshakes`].

use futures::future::{BoxFuture, Either};
use futures::{AsyncRead, AsyncWrite, FutureExt};
use futures_rustls::TlsStream;
use lab_config::Security;
use libp2p::core::UpgradeInfo;
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use libp2p::{PeerId, identity, noise};

use super::counting::Counting;
use super::records::{Handshakes, Record};
use super::tls::{self, Configs};
use super::{BuildError, NOISE_GROUP, UpgradeError};

/// The protocol name of noise.
const NOISE: &str = "/noise";

/// TLS with the node's groups, and noise unless `pq-only`.
#[derive(Clone)]
pub struct Upgrade {
    tls: Configs,
    noise: Option<noise::Config>,
    handshakes: Handshakes,
}

/// The secured stream: TLS or noise over the counting socket.
pub type Secured<C> = Either<TlsStream<Counting<C>>, noise::Output<Counting<C>>>;

impl Upgrade {
    /// The upgrade of `security` for the identity `key`, leaving its records in
    /// `handshakes`.
    pub fn new(
        key: &identity::Keypair,
        security: Security,
        handshakes: Handshakes,
    ) -> Result<Self, BuildError> {
        Ok(Upgrade {
            tls: Configs::new(key, security)?,
            noise: if security.allows_noise() {
                Some(noise::Config::new(key)?)
            } else {
                None
            },
            handshakes,
        })
    }

    async fn run<C>(
        self,
        socket: C,
        protocol: &'static str,
        outbound: bool,
    ) -> Result<(PeerId, Secured<C>), UpgradeError>
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (socket, count) = Counting::new(socket);
        let (peer, stream, security, group) = match (protocol, self.noise) {
            (tls::PROTOCOL, _) => {
                let (peer, stream, group) = if outbound {
                    tls::connect(&self.tls, socket).await?
                } else {
                    tls::accept(&self.tls, socket).await?
                };
                (peer, Either::Left(stream), "tls", group)
            }
            (NOISE, Some(noise)) => {
                let (peer, stream) = if outbound {
                    noise.upgrade_outbound(socket, NOISE).await?
                } else {
                    noise.upgrade_inbound(socket, NOISE).await?
                };
                (peer, Either::Right(stream), "noise", NOISE_GROUP.into())
            }
            (other, _) => return Err(UpgradeError::Protocol(other)),
        };
        let bytes = count.total();
        self.handshakes.push(
            peer,
            outbound,
            Record {
                security,
                group,
                bytes,
            },
        );
        Ok((peer, stream))
    }
}

impl UpgradeInfo for Upgrade {
    type Info = &'static str;
    type InfoIter = std::vec::IntoIter<&'static str>;

    fn protocol_info(&self) -> Self::InfoIter {
        if self.noise.is_some() {
            vec![tls::PROTOCOL, NOISE].into_iter()
        } else {
            vec![tls::PROTOCOL].into_iter()
        }
    }
}

impl<C> InboundConnectionUpgrade<C> for Upgrade
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = (PeerId, Secured<C>);
    type Error = UpgradeError;
    type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;

    fn upgrade_inbound(self, socket: C, info: Self::Info) -> Self::Future {
        self.run(socket, info, false).boxed()
    }
}

impl<C> OutboundConnectionUpgrade<C> for Upgrade
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = (PeerId, Secured<C>);
    type Error = UpgradeError;
    type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;

    fn upgrade_outbound(self, socket: C, info: Self::Info) -> Self::Future {
        self.run(socket, info, true).boxed()
    }
}
