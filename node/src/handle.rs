//! The handle on a running node: the commands it takes, the totals it returns, and why it
//! could not start or stopped.

use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::behaviour;

/// Why the node could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration was rejected.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The swarm could not be built.
    #[error(transparent)]
    Build(#[from] behaviour::BuildError),
    /// An address did not parse.
    #[error("parse multiaddr `{addr}`: {message}")]
    Multiaddr {
        /// The address.
        addr: String,
        /// The parser's message.
        message: String,
    },
    /// Listening failed.
    #[error("listen on {addr}: {message}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        message: String,
    },
    /// The identity could not be derived from the configuration's `identity_seed`.
    #[error("derive the identity from `identity_seed`: {0}")]
    Identity(String),
    /// The topic could not be subscribed.
    #[error("subscribe to topic: {0}")]
    Subscribe(String),
    /// The node task is gone.
    #[error("reach the node task: it has stopped")]
    Stopped,
    /// The node did not start listening in time.
    #[error("start listening within {0:?}")]
    ListenTimeout(Duration),
}

/// A request to a running node.
#[derive(Debug)]
pub enum Command {
    /// Publish one message with a payload of `size` bytes.
    Publish {
        /// Payload size.
        size: usize,
    },
    /// Ask `peer` for the message with id `msg_id`.
    Fetch {
        /// Who to ask.
        peer: PeerId,
        /// Message id bytes.
        msg_id: Vec<u8>,
        /// Where the answer goes: `None` if the peer does not have it or did not answer.
        reply: oneshot::Sender<Option<Vec<u8>>>,
    },
    /// Start the built-in traffic schedule now (when it has no start time of its own).
    StartTraffic,
    /// A dormant role starts (`true`) or stops (`false`) acting
    /// ([`lab_config::NodeConfig::dormant`]); a no-op on a node already so, or honest.
    Act(bool),
    /// Stop the node.
    Shutdown,
}

/// Counters returned when the node stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages published.
    pub published: u64,
    /// Messages delivered from others.
    pub delivered: u64,
    /// Messages rejected or ignored.
    pub rejected: u64,
}

/// A handle on a node running in a tokio task.
#[derive(Debug)]
pub struct NodeHandle {
    /// The node's peer id.
    pub peer_id: PeerId,
    /// Addresses it listens on.
    pub listen_addrs: Vec<Multiaddr>,
    commands: mpsc::Sender<Command>,
    task: JoinHandle<Totals>,
}

impl NodeHandle {
    /// A handle on the node task `task`, which takes commands from `commands`.
    pub(crate) fn new(
        peer_id: PeerId,
        listen_addrs: Vec<Multiaddr>,
        commands: mpsc::Sender<Command>,
        task: JoinHandle<Totals>,
    ) -> Self {
        Self {
            peer_id,
            listen_addrs,
            commands,
            task,
        }
    }

    /// Sends a command to the node.
    pub async fn send(&self, command: Command) -> Result<(), NodeError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NodeError::Stopped)
    }

    /// Asks the node to stop and waits for it.
    pub async fn shutdown(self) -> Result<Totals, NodeError> {
        // The node may have stopped already; its totals are still in the task.
        let _ = self.commands.send(Command::Shutdown).await;
        self.task.await.map_err(|_| NodeError::Stopped)
    }

    /// A sender for commands, e.g. for a signal handler.
    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// Waits until the node stops by itself.
    pub async fn join(self) -> Result<Totals, NodeError> {
        self.task.await.map_err(|_| NodeError::Stopped)
    }
}
