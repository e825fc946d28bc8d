//! The tools image's root file system, and its build context as a deterministic tar
//! archive: sorted entries, every directory before what it holds, mtime 0, uid/gid 0, so
//! that the same files give the same bytes and therefore the same tag. Not
//! `context_tar`: a root file system needs directories and symlinks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;

use super::ToolsImageError;

/// One entry of the image's root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
}

/// The image's root file system, keyed by absolute path without the leading `/`.
#[derive(Debug, Default)]
pub(super) struct RootFs(BTreeMap<String, Node>);

impl RootFs {
    /// Adds the contents of `host` (links followed) at `image_path`.
    pub(super) fn add_file_from(
        &mut self,
        image_path: &str,
        host: &Path,
        mode: u32,
    ) -> Result<(), ToolsImageError> {
        let data = fs::read(host).map_err(|source| ToolsImageError::Read {
            path: host.to_owned(),
            source,
        })?;
        self.add_file(image_path, data, mode);
        Ok(())
    }

    /// Adds a regular file holding `data` at `image_path`.
    pub(super) fn add_file(&mut self, image_path: &str, data: Vec<u8>, mode: u32) {
        self.0.insert(key(image_path), Node::File { data, mode });
    }

    /// Adds a symbolic link at `image_path` pointing at `target`.
    pub(super) fn add_symlink(&mut self, image_path: &str, target: &str) {
        self.0
            .insert(key(image_path), Node::Symlink(target.to_owned()));
    }

    /// Every directory that holds an entry, parents first.
    fn directories(&self) -> BTreeSet<String> {
        let mut dirs = BTreeSet::new();
        for path in self.0.keys() {
            let mut parent = Path::new(path).parent();
            while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
                dirs.insert(dir.to_string_lossy().into_owned());
                parent = dir.parent();
            }
        }
        dirs
    }

    /// The build context: `dockerfile` as `Dockerfile`, and this file system under
    /// `rootfs/`.
    pub(super) fn into_context(self, dockerfile: &[u8]) -> Result<Vec<u8>, ToolsImageError> {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        append_file(&mut tar, "Dockerfile", dockerfile, 0o644)?;
        append_dir(&mut tar, "rootfs")?;
        for dir in self.directories() {
            append_dir(&mut tar, &format!("rootfs/{dir}"))?;
        }
        for (path, node) in &self.0 {
            let path = format!("rootfs/{path}");
            match node {
                Node::File { data, mode } => append_file(&mut tar, &path, data, *mode)?,
                Node::Symlink(target) => append_symlink(&mut tar, &path, target)?,
            }
        }
        tar.into_inner().map_err(ToolsImageError::Tar)
    }
}

fn key(image_path: &str) -> String {
    image_path.trim_start_matches('/').to_owned()
}

fn header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn append_file(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> Result<(), ToolsImageError> {
    let mut header = header(tar::EntryType::Regular, mode, data.len() as u64);
    tar.append_data(&mut header, path, data)
        .map_err(ToolsImageError::Tar)
}

fn append_dir(tar: &mut tar::Builder<Vec<u8>>, path: &str) -> Result<(), ToolsImageError> {
    let mut header = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut header, format!("{path}/"), io::empty())
        .map_err(ToolsImageError::Tar)
}

fn append_symlink(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    target: &str,
) -> Result<(), ToolsImageError> {
    let mut header = header(tar::EntryType::Symlink, 0o777, 0);
    tar.append_link(&mut header, path, target)
        .map_err(ToolsImageError::Tar)
}

/// The entries of a context archive by path: kind, contents and link target.
#[cfg(test)]
pub(super) fn archive_entries(
    context: &[u8],
) -> BTreeMap<String, (tar::EntryType, Vec<u8>, Option<String>)> {
    use std::io::Read;
    let mut archive = tar::Archive::new(context);
    let mut out = BTreeMap::new();
    for entry in archive.entries().into_iter().flatten().flatten() {
        let mut entry = entry;
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = entry.header().entry_type();
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.to_string_lossy().into_owned());
        let mut data = Vec::new();
        let _ = entry.read_to_end(&mut data);
        out.insert(path, (kind, data, link));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_fs_archive_is_deterministic_and_complete() {
        let dockerfile = b"FROM scratch\n";
        let build = || {
            let mut root = RootFs::default();
            root.add_file("/usr/sbin/xtables-nft-multi", b"elf".to_vec(), 0o755);
            root.add_symlink("/usr/sbin/iptables", "xtables-nft-multi");
            root.into_context(dockerfile).unwrap_or_default()
        };
        let first = build();
        assert_eq!(first, build());
        let entries = archive_entries(&first);
        assert_eq!(entries["Dockerfile"].1, dockerfile);
        assert_eq!(entries["rootfs/usr/sbin/xtables-nft-multi"].1, b"elf");
        assert_eq!(
            entries["rootfs/usr/sbin/iptables"].2.as_deref(),
            Some("xtables-nft-multi")
        );
        assert!(entries.contains_key("rootfs/usr/"));
        assert!(entries.contains_key("rootfs/usr/sbin/"));
    }

    #[test]
    fn a_missing_host_file_is_reported_with_its_path() {
        let mut root = RootFs::default();
        let err = root.add_file_from("/x", Path::new("/nonexistent/tool"), 0o755);
        assert!(
            matches!(err, Err(ToolsImageError::Read { ref path, .. }) if path == Path::new("/nonexistent/tool")),
            "{err:?}"
        );
    }
}
