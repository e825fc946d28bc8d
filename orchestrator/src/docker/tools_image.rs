//! Recipe of the tools image: a `FROM scratch` image holding the static `labshaper`, the
//! host's `tc`, `ip` and `iptables` (xtables-nft-multi), every shared library they load, the
//! dynamic loader, and the xtables and tc plugin folders. No registry, no package manager:
//! the build context is made in memory from files already on the host.
//!
//! The Dockerfile is `docker/tools/Dockerfile`; what is gathered (`HOST_TOOLS`,
//! `PLUGIN_DIRS`) is listed in `docker/tools/README.md`. The archive is deterministic
//! (module `rootfs`), so the same inputs give the same [`tools_tag`] and a rebuild is
//! skipped.
//!
//! Use: `runner.ensure_image(TOOLS_REPO, tools_context(&labshaper_binary)?)`.

mod rootfs;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rootfs::RootFs;

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

/// The host programs copied into `/usr/sbin` (listed in `docker/tools/README.md`).
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
/// multiarch folder, other distributions under `/usr/lib/tc`). Listed in
/// `docker/tools/README.md`.
const PLUGIN_DIRS: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/xtables",
    "/usr/lib/tc",
    "/usr/lib/x86_64-linux-gnu/tc",
];

/// The Dockerfile of the tools image, `docker/tools/Dockerfile`: the gathered root file
/// system, copied whole. Its bytes are part of the context, hence of the image's tag.
const DOCKERFILE: &str = include_str!("../../../docker/tools/Dockerfile");

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
    root.into_context(DOCKERFILE.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The tools image's tag is the hash of its context: a changed
    /// `docker/tools/Dockerfile` (or tar writer) changes it, and must be meant.
    #[test]
    fn tools_context_hash_is_stable() {
        let mut root = RootFs::default();
        root.add_file(LABSHAPER_IN_IMAGE, b"stand-in".to_vec(), 0o755);
        root.add_file("/usr/sbin/xtables-nft-multi", b"elf".to_vec(), 0o755);
        root.add_symlink("/usr/sbin/iptables", "xtables-nft-multi");
        let context = root.into_context(DOCKERFILE.as_bytes());
        assert!(context.is_ok(), "{context:?}");
        assert_eq!(
            tools_tag(&context.unwrap_or_default()),
            "labtools:6a7c31525721460f",
            "the tools image's context changed: if meant, update this hash"
        );
    }

    /// `docker/tools/README.md` lists every host path and alias the recipe gathers.
    #[test]
    fn readme_lists_what_is_gathered() {
        let readme = include_str!("../../../docker/tools/README.md");
        let listed = HOST_TOOLS
            .iter()
            .flat_map(|tool| std::iter::once(tool.path).chain(tool.aliases.iter().copied()))
            .chain(PLUGIN_DIRS)
            .chain([LABSHAPER_IN_IMAGE]);
        for item in listed {
            assert!(
                readme.contains(&format!("`{item}`")),
                "docker/tools/README.md does not list `{item}`"
            );
        }
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
        let entries = rootfs::archive_entries(&context);
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
