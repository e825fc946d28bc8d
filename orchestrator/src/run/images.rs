//! The run's images: the node image always, the tools image (the shaper, the NAT routers)
//! when links are shaped or nodes sit behind NATs. Both are tagged by content, so an unchanged image is not rebuilt.

use super::binaries::Binaries;
use super::infra;
use crate::docker::tools_image::{TOOLS_REPO, tools_context};
use crate::docker::{DockerRunner, node_image_context};
use crate::error::Error;

/// The tags a run starts containers from.
pub(super) struct Images {
    /// The node image.
    pub(super) node: String,
    /// The tools image, when links are shaped or nodes sit behind NATs.
    pub(super) tools: Option<String>,
}

/// Builds (or finds) the node image, and the tools image when `tools` (links shaped, or
/// NAT routers).
pub(super) async fn ensure(
    runner: &DockerRunner,
    bins: &Binaries,
    tools: bool,
) -> Result<Images, Error> {
    eprintln!("==> images");
    let node = runner
        .ensure_image(
            "meshlab-node",
            node_image_context(&bins.meshnode).map_err(infra)?,
        )
        .await
        .map_err(infra)?;
    eprintln!(
        "    {} ({})",
        node.tag,
        if node.built { "built" } else { "cached" }
    );
    let tools = if tools {
        let ctx = tools_context(&bins.labshaper).map_err(|e| Error::Infra(e.to_string()))?;
        let img = runner.ensure_image(TOOLS_REPO, ctx).await.map_err(infra)?;
        eprintln!(
            "    {} ({})",
            img.tag,
            if img.built { "built" } else { "cached" }
        );
        Some(img.tag)
    } else {
        None
    };
    Ok(Images {
        node: node.tag,
        tools,
    })
}
