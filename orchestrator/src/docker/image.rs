//! Images: in-memory build contexts, content-hash tags, and building with the engine's
//! classic builder (no registry, no BuildKit: see DESIGN.md §3). The recipes are in the
//! top-level `docker/` folder (its README says how to build them by hand).

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use bollard::body_full;
use bollard::query_parameters::{BuildImageOptionsBuilder, RemoveImageOptionsBuilder};
use futures::StreamExt;

use super::error::DockerError;
use super::labels::{LABEL_CONTEXT, LABEL_LAB};
use super::runner::DockerRunner;

/// How many trailing lines of builder output an error report carries.
const BUILD_LOG_TAIL: usize = 20;

/// The Dockerfile of the node image, `docker/node/Dockerfile`: nothing but the static
/// `meshnode` binary. Its bytes are part of the context, hence of the image's tag.
const NODE_DOCKERFILE: &str = include_str!("../../../docker/node/Dockerfile");

/// One file of an in-memory build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextFile {
    /// Path inside the context, relative (e.g. `Dockerfile`, `bin/tc`).
    pub path: String,
    /// Unix permission bits (e.g. `0o644`, `0o755`).
    pub mode: u32,
    /// The file's contents.
    pub data: Vec<u8>,
}

/// The outcome of [`DockerRunner::ensure_image`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredImage {
    /// The image's tag, `<prefix>:<first 16 hex digits of blake3(context)>`.
    pub tag: String,
    /// Whether the image had to be built (false: an image with that tag existed).
    pub built: bool,
}

/// A deterministic tar archive of `files` (zero mtimes, root owner), so that equal
/// contents give equal bytes and therefore equal tags.
pub fn context_tar(files: &[ContextFile]) -> Result<Vec<u8>, DockerError> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header
            .set_path(&file.path)
            .map_err(|source| DockerError::WriteContext { source })?;
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.data.len() as u64);
        header.set_mode(file.mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        builder
            .append(&header, file.data.as_slice())
            .map_err(|source| DockerError::WriteContext { source })?;
    }
    builder
        .into_inner()
        .map_err(|source| DockerError::WriteContext { source })
}

/// The build context of the node image: a `FROM scratch` Dockerfile and the statically
/// linked `binary`, which becomes `/meshnode`, the image's entrypoint.
pub fn node_image_context(binary: &Path) -> Result<Vec<u8>, DockerError> {
    let data = std::fs::read(binary).map_err(|source| DockerError::ReadContextFile {
        path: binary.to_path_buf(),
        source,
    })?;
    context_tar(&[
        ContextFile {
            path: "Dockerfile".to_owned(),
            mode: 0o644,
            data: NODE_DOCKERFILE.as_bytes().to_vec(),
        },
        ContextFile {
            path: "meshnode".to_owned(),
            mode: 0o755,
            data,
        },
    ])
}

/// The first 16 hex digits of the BLAKE3 hash of a build context.
pub fn context_hash(context_tar: &[u8]) -> String {
    let hex = blake3::hash(context_tar).to_hex();
    hex.as_str()[..16].to_owned()
}

impl DockerRunner {
    /// Returns the tag `<tag_prefix>:<context hash>`, building the image from
    /// `context_tar` (which must hold a `Dockerfile`) only if no image has that tag yet.
    /// Never pulls.
    pub async fn ensure_image(
        &self,
        tag_prefix: &str,
        context_tar: Vec<u8>,
    ) -> Result<EnsuredImage, DockerError> {
        let hash = context_hash(&context_tar);
        let tag = format!("{tag_prefix}:{hash}");
        if self.image_exists(&tag).await? {
            tracing::debug!(%tag, "image exists, not building");
            return Ok(EnsuredImage { tag, built: false });
        }
        self.build_image(&tag, &hash, context_tar).await?;
        Ok(EnsuredImage { tag, built: true })
    }

    /// Whether an image with this tag (or id) exists in the engine.
    pub async fn image_exists(&self, tag: &str) -> Result<bool, DockerError> {
        match self.client().inspect_image(tag).await {
            Ok(_) => Ok(true),
            Err(error) if super::error::status_code(&error) == Some(404) => Ok(false),
            Err(error) => Err(DockerError::engine(format!("inspect image {tag}"), error)),
        }
    }

    /// Removes an image (forcibly). Returns false if there was no such image.
    pub async fn remove_image(&self, tag: &str) -> Result<bool, DockerError> {
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        match self.client().remove_image(tag, Some(options), None).await {
            Ok(_) => Ok(true),
            // (409 here means "in use by a container", a real failure.)
            Err(error) if super::error::status_code(&error) == Some(404) => Ok(false),
            Err(error) => Err(DockerError::engine(format!("remove image {tag}"), error)),
        }
    }

    /// Builds `tag` with the classic builder from an in-memory context, following the
    /// build's output and failing on the first error it reports.
    async fn build_image(
        &self,
        tag: &str,
        hash: &str,
        context_tar: Vec<u8>,
    ) -> Result<(), DockerError> {
        let labels = HashMap::from([(LABEL_LAB, "1"), (LABEL_CONTEXT, hash)]);
        let options = BuildImageOptionsBuilder::new()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .build();
        tracing::info!(%tag, bytes = context_tar.len(), "building image");
        let mut output =
            self.client()
                .build_image(options, None, Some(body_full(context_tar.into())));
        let mut tail: VecDeque<String> = VecDeque::with_capacity(BUILD_LOG_TAIL);
        while let Some(item) = output.next().await {
            match item {
                Ok(info) => {
                    let text = info.stream.or(info.status).unwrap_or_default();
                    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                        tracing::debug!(%tag, "build: {line}");
                        if tail.len() == BUILD_LOG_TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line.to_owned());
                    }
                }
                Err(error) => {
                    let message = match error {
                        bollard::errors::Error::DockerStreamError { error } => error,
                        other => other.to_string(),
                    };
                    return Err(DockerError::Build {
                        tag: tag.to_owned(),
                        message,
                        log: tail.into(),
                    });
                }
            }
        }
        // A stream that ends without an error but without an image is still a failure.
        if self.image_exists(tag).await? {
            Ok(())
        } else {
            Err(DockerError::Build {
                tag: tag.to_owned(),
                message: "the builder finished without producing the image".to_owned(),
                log: tail.into(),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entries(tar_bytes: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = entry.header().mode().unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            out.push((path, mode, data));
        }
        out
    }

    #[test]
    fn node_context_holds_dockerfile_and_executable_binary() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("some-build-output");
        std::fs::write(&binary, b"\x7fELF not really").unwrap();
        let tar_bytes = node_image_context(&binary).unwrap();
        let got = entries(&tar_bytes);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "Dockerfile");
        let dockerfile = String::from_utf8(got[0].2.clone()).unwrap();
        assert!(dockerfile.starts_with("FROM scratch\n"));
        assert!(dockerfile.contains("COPY meshnode /meshnode"));
        assert!(dockerfile.contains("ENTRYPOINT [\"/meshnode\"]"));
        assert_eq!(
            got[1],
            ("meshnode".to_owned(), 0o755, b"\x7fELF not really".to_vec())
        );
    }

    /// The node image's tag is the hash of its context: a changed `docker/node/Dockerfile`
    /// (or tar writer) changes every node tag, and must be meant.
    #[test]
    fn node_context_hash_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("meshnode");
        std::fs::write(&binary, b"stand-in").unwrap();
        let tar_bytes = node_image_context(&binary).unwrap();
        assert_eq!(
            context_hash(&tar_bytes),
            "fba0e4dfe1733ecf",
            "the node image's context changed: if meant, update this hash"
        );
    }

    #[test]
    fn missing_binary_is_reported_with_its_path() {
        let err = node_image_context(Path::new("/nonexistent/meshnode")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/meshnode"), "{err}");
    }

    #[test]
    fn equal_contents_give_equal_hashes_and_different_contents_do_not() {
        let file = |data: &[u8]| ContextFile {
            path: "x".to_owned(),
            mode: 0o644,
            data: data.to_vec(),
        };
        let a = context_tar(&[file(b"one")]).unwrap();
        let b = context_tar(&[file(b"one")]).unwrap();
        let c = context_tar(&[file(b"two")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(context_hash(&a), context_hash(&b));
        assert_ne!(context_hash(&a), context_hash(&c));
        let hash = context_hash(&a);
        assert_eq!(hash.len(), 16);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
