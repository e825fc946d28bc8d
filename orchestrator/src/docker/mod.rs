//! The Docker runner: the only part of the orchestrator that talks to a container engine.
//!
//! It builds content-addressed images from in-memory contexts (no registry, classic
//! builder), creates bridge networks and containers from engine-neutral specs, every
//! resource labelled `meshlab=1` and `meshlab.run=<run id>`, reads container output as
//! lines, samples resource use, and removes everything by label. Its public types carry
//! no bollard types, so that another runner (Kubernetes) can offer the same interface.
//! With a swarm ([`swarm`]) it also makes overlay networks and global services.

mod container;
mod error;
mod files;
mod image;
mod labels;
mod logs;
mod network;
mod runner;
mod swarm;
mod teardown;
pub mod tools_image;

pub use container::{BindMount, ContainerSpec, NetworkAttachment};
pub use error::DockerError;
pub use image::{ContextFile, EnsuredImage, context_hash, context_tar, node_image_context};
pub use labels::{LABEL_CONTEXT, LABEL_LAB, LABEL_NODE, LABEL_ROLE, LABEL_RUN};
pub use logs::{LineAssembler, LogSource};
pub use network::{Egress, MASQUERADE_OPTION, NetworkHandle};
pub use runner::DockerRunner;
pub use swarm::{GWBRIDGE, LABEL_GWBRIDGE, SwarmMembership};
pub use teardown::TeardownReport;
