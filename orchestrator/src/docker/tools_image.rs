//! Recipe of the tools image: a `FROM scratch` image holding the static `labshaper`, the
//! host's `tc`, `ip` and `iptables` (xtables-nft-multi), every shared library they load, the
//! dynamic loader, and the xtables and tc plugin folders. No registry, no package manager:
//! the build context is made in memory from files already on the host.
//!
//! The archive is deterministic (sorted entries, mtime 0, uid/gid 0), so the same inputs
//! give the same [`tools_tag`] and a rebuild is skipped. It has its own tar writer (not
//! `context_tar`) because the root file system needs directories and symlinks.
//!
//! Use: `runner.ensure_image(TOOLS_REPO, tools_context(&labshaper_binary)?)`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Repository part of the tools image's tag.
pub const TOOLS_REPO: &str = "labtools";
/// Where `labshaper` sits in the image.
pub const LABSHAPER_IN_IMAGE: &str = "/labshaper";

/// A host program copied into the image, with the extra names it answers to.
struct HostTool {
    /// The path on the host (may be a chain of symlinks).
    path: &'static str,
    /// More names in `/usr/sbin` that point at the same binary (multi-call binaries
    /// dispatch on the name they were started as).
    aliases: &'static [&'static str],
}

const HOST_TOOLS: [HostTool; 3] = [
    HostTool {
        path: "/usr/sbin/tc",
        aliases: &[],
    },
    HostTool {
        path: "/usr/sbin/ip",
        aliases: &[],
    },
    HostTool {
        path: "/usr/sbin/iptables",
        aliases: &[
            "iptables-save",
            "iptables-restore",
            "ip6tables",
            "ip6tables-save",
            "ip6tables-restore",
        ],
    },
];

/// Plugin folders copied whole when present: xtables matches/targets, and tc's
/// actions, qdisc helpers and netem distribution tables (Debian keeps those under the
/// multiarch folder, other distributions under `/usr/lib/tc`).
const PLUGIN_DIRS: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/xtables",
    "/usr/lib/tc",
    "/usr/lib/x86_64-linux-gnu/tc",
];

const DOCKERFILE: &str = "\
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin
CMD [\"/labshaper\", \"probe\"]
";

/// Why the tools image's build context could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ToolsImageError {
    /// A file to copy could not be read (or its link resolved).
    #[error("read {path}: {source}")]
    Read {
        /// The host path.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// `ldd` could not be started.
    #[error("run ldd: {0}")]
    Ldd(#[source] io::Error),
    /// `ldd` could not find a library a tool needs.
    #[error("find the shared library {library} needed by the tools (ldd: `{line}`)")]
    MissingLibrary {
        /// The library's soname.
        library: String,
        /// The `ldd` line saying so.
        line: String,
    },
    /// Writing the archive failed.
    #[error("write the build context archive: {0}")]
    Tar(#[source] io::Error),
}

/// Makes the tools image's build context (a tar archive, Dockerfile at its root) from the
/// static `labshaper` binary at `labshaper` and the host's networking tools.
pub fn tools_context(labshaper: &Path) -> Result<Vec<u8>, ToolsImageError> {
    let mut root = RootFs::default();
    root.add_file_from(LABSHAPER_IN_IMAGE, labshaper, 0o755)?;
    let mut elf_files = Vec::new();
    for tool in &HOST_TOOLS {
        elf_files.push(add_tool(&mut root, tool)?);
    }
    for dir in PLUGIN_DIRS {
        let dir = Path::new(dir);
        if dir.is_dir() {
            elf_files.extend(add_plugin_dir(&mut root, dir)?);
        }
    }
    for library in shared_libraries(&elf_files)? {
        root.add_file_from(&library, Path::new(&library), 0o755)?;
    }
    root.into_context()
}

/// The content-addressed tag of a context, `labtools:<context_hash>`: the same tag
/// `DockerRunner::ensure_image(TOOLS_REPO, context)` builds or finds.
pub fn tools_tag(context: &[u8]) -> String {
    format!("{TOOLS_REPO}:{}", super::context_hash(context))
}

/// Copies a tool's real binary into `/usr/sbin` under its real name and links its own
/// name and aliases to it. Returns the real binary's host path.
fn add_tool(root: &mut RootFs, tool: &HostTool) -> Result<PathBuf, ToolsImageError> {
    let host = Path::new(tool.path);
    let real = fs::canonicalize(host).map_err(|source| ToolsImageError::Read {
        path: host.to_owned(),
        source,
    })?;
    let name = file_name(host);
    let real_name = file_name(&real);
    root.add_file_from(&format!("/usr/sbin/{real_name}"), &real, 0o755)?;
    for alias in std::iter::once(name.as_str()).chain(tool.aliases.iter().copied()) {
        if alias != real_name {
            root.add_symlink(&format!("/usr/sbin/{alias}"), &real_name);
        }
    }
    Ok(real)
}

/// Copies a plugin folder: regular files as they are, links inside the folder as links.
/// Returns the shared objects copied, whose libraries must come along too.
fn add_plugin_dir(root: &mut RootFs, dir: &Path) -> Result<Vec<PathBuf>, ToolsImageError> {
    let read_err = |source| ToolsImageError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut shared_objects = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let image_path = path.to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(&path).map_err(|source| ToolsImageError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).map_err(|source| ToolsImageError::Read {
                path: path.clone(),
                source,
            })?;
            if target.is_relative() && target.components().count() == 1 {
                root.add_symlink(&image_path, &target.to_string_lossy());
                continue;
            }
        }
        if !path.is_file() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        root.add_file_from(&image_path, &path, mode)?;
        if path.extension().is_some_and(|ext| ext == "so") {
            shared_objects.push(path);
        }
    }
    Ok(shared_objects)
}

/// Every library (and the dynamic loader) `ldd` lists for `files`, at the path it lists.
fn shared_libraries(files: &[PathBuf]) -> Result<BTreeSet<String>, ToolsImageError> {
    if files.is_empty() {
        return Ok(BTreeSet::new());
    }
    // ldd exits non-zero if any file is not dynamic; its output still lists the others.
    let output = Command::new("ldd")
        .args(files)
        .output()
        .map_err(ToolsImageError::Ldd)?;
    parse_ldd(&String::from_utf8_lossy(&output.stdout))
}

/// Library paths from `ldd` output: `name => /path (0x…)` and the loader's `/path (0x…)`;
/// the vDSO and per-file headers (`/path:`) are skipped, `not found` is an error.
fn parse_ldd(output: &str) -> Result<BTreeSet<String>, ToolsImageError> {
    let mut libraries = BTreeSet::new();
    for line in output.lines().map(str::trim) {
        if line.is_empty() || line.ends_with(':') {
            continue;
        }
        if let Some((name, rest)) = line.split_once("=>") {
            let rest = rest.trim();
            if rest.starts_with("not found") {
                return Err(ToolsImageError::MissingLibrary {
                    library: name.trim().to_owned(),
                    line: line.to_owned(),
                });
            }
            if let Some(path) = rest
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/'))
            {
                libraries.insert(path.to_owned());
            }
        } else if let Some(path) = line
            .split_whitespace()
            .next()
            .filter(|p| p.starts_with('/'))
        {
            libraries.insert(path.to_owned());
        }
    }
    Ok(libraries)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One entry of the image's root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
}

/// The image's root file system, keyed by absolute path without the leading `/`.
#[derive(Debug, Default)]
struct RootFs(BTreeMap<String, Node>);

impl RootFs {
    /// Adds the contents of `host` (links followed) at `image_path`.
    fn add_file_from(
        &mut self,
        image_path: &str,
        host: &Path,
        mode: u32,
    ) -> Result<(), ToolsImageError> {
        let data = fs::read(host).map_err(|source| ToolsImageError::Read {
            path: host.to_owned(),
            source,
        })?;
        self.0.insert(key(image_path), Node::File { data, mode });
        Ok(())
    }

    fn add_symlink(&mut self, image_path: &str, target: &str) {
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

    /// The build context: `Dockerfile`, and this file system under `rootfs/`.
    fn into_context(self) -> Result<Vec<u8>, ToolsImageError> {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        append_file(&mut tar, "Dockerfile", DOCKERFILE.as_bytes(), 0o644)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const LDD_SAMPLE: &str = "\
/usr/sbin/tc:
\tlinux-vdso.so.1 (0x00007ffd5a9f2000)
\tlibmnl.so.0 => /lib/x86_64-linux-gnu/libmnl.so.0 (0x00007f5a985b1000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5a982b7000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f5a986d8000)
/usr/sbin/xtables-nft-multi:
\tlinux-vdso.so.1 (0x00007fd1115e7000)
\tlibnftnl.so.11 => /lib/x86_64-linux-gnu/libnftnl.so.11 (0x00007fd1114e6000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fd111304000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fd1115e9000)
";

    #[test]
    fn ldd_output_gives_libraries_and_loader_once() {
        let libs = parse_ldd(LDD_SAMPLE).unwrap_or_default();
        let expected: BTreeSet<String> = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libmnl.so.0",
            "/lib/x86_64-linux-gnu/libnftnl.so.11",
            "/lib64/ld-linux-x86-64.so.2",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(libs, expected);
    }

    #[test]
    fn a_missing_library_is_an_error() {
        let err = parse_ldd("\tlibatm.so.1 => not found\n");
        assert!(
            matches!(err, Err(ToolsImageError::MissingLibrary { ref library, .. }) if library == "libatm.so.1"),
            "{err:?}"
        );
    }

    #[test]
    fn tag_is_content_addressed() {
        assert_eq!(tools_tag(b"a"), tools_tag(b"a"));
        assert_ne!(tools_tag(b"a"), tools_tag(b"b"));
        let tag = tools_tag(b"a");
        assert!(tag.starts_with("labtools:"));
        assert_eq!(tag.len(), "labtools:".len() + 16);
    }

    fn entries(context: &[u8]) -> BTreeMap<String, (tar::EntryType, Vec<u8>, Option<String>)> {
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

    #[test]
    fn root_fs_archive_is_deterministic_and_complete() {
        let build = || {
            let mut root = RootFs::default();
            root.0.insert(
                key("/usr/sbin/xtables-nft-multi"),
                Node::File {
                    data: b"elf".to_vec(),
                    mode: 0o755,
                },
            );
            root.add_symlink("/usr/sbin/iptables", "xtables-nft-multi");
            root.into_context().unwrap_or_default()
        };
        let first = build();
        assert_eq!(first, build());
        let entries = entries(&first);
        assert_eq!(entries["Dockerfile"].1, DOCKERFILE.as_bytes());
        assert_eq!(entries["rootfs/usr/sbin/xtables-nft-multi"].1, b"elf");
        assert_eq!(
            entries["rootfs/usr/sbin/iptables"].2.as_deref(),
            Some("xtables-nft-multi")
        );
        assert!(entries.contains_key("rootfs/usr/"));
        assert!(entries.contains_key("rootfs/usr/sbin/"));
    }

    /// Builds the real context from this host's tools (iproute2 and iptables are installed
    /// on the project's machines) with a stand-in for the labshaper binary.
    #[test]
    fn host_context_holds_tools_libraries_and_plugins() {
        if !Path::new("/usr/sbin/tc").exists() {
            eprintln!("skipped: no /usr/sbin/tc on this host");
            return;
        }
        let dir = std::env::temp_dir().join(format!("tools-image-test-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let shaper = dir.join("labshaper");
        let _ = fs::write(&shaper, b"stand-in");
        let context = tools_context(&shaper);
        let again = tools_context(&shaper);
        let _ = fs::remove_dir_all(&dir);
        let context = context.unwrap_or_default();
        assert!(!context.is_empty());
        assert_eq!(
            tools_tag(&context),
            tools_tag(&again.unwrap_or_default()),
            "same inputs, same tag"
        );
        let entries = entries(&context);
        assert_eq!(entries["rootfs/labshaper"].1, b"stand-in");
        for path in [
            "rootfs/usr/sbin/tc",
            "rootfs/usr/sbin/ip",
            "rootfs/lib64/ld-linux-x86-64.so.2",
            "rootfs/lib/x86_64-linux-gnu/libc.so.6",
            "rootfs/usr/lib/x86_64-linux-gnu/xtables/libxt_statistic.so",
            "rootfs/usr/lib/x86_64-linux-gnu/xtables/libxt_NFQUEUE.so",
        ] {
            assert!(entries.contains_key(path), "missing {path}");
        }
        assert!(entries["rootfs/usr/sbin/iptables"].2.is_some());
        // Under 10 MB, as measured when the design was made.
        assert!(context.len() < 12 * 1024 * 1024, "{} bytes", context.len());
    }

    /// Writes the real context to `$TOOLS_CONTEXT_OUT` from the labshaper binary at
    /// `$LABSHAPER_BIN`, for a manual `docker build -t labtools:dev - < ctx.tar`.
    #[test]
    #[ignore = "manual: writes a build context for the docker CLI"]
    fn write_context_for_manual_build() {
        let (Ok(out), Ok(bin)) = (
            std::env::var("TOOLS_CONTEXT_OUT"),
            std::env::var("LABSHAPER_BIN"),
        ) else {
            panic!("set TOOLS_CONTEXT_OUT and LABSHAPER_BIN");
        };
        let context = tools_context(Path::new(&bin));
        assert!(context.is_ok(), "{context:?}");
        let context = context.unwrap_or_default();
        assert!(fs::write(&out, &context).is_ok());
        println!("{} bytes, tag {}", context.len(), tools_tag(&context));
    }
}
