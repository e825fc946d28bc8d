//! The run's events folder, `<reports>/<run-id>/node-events/`: one file a node
//! (`<node>.jsonl`), bound into every node container at [`MOUNT_POINT`], where the node
//! appends its event records (its `events` setting), so that they never pass through the
//! container engine's log driver. Readiness follows the files while the nodes run;
//! collection reads them after the nodes stop.
//!
//! It also holds the run's copy of the node binary, bound read-only over every node
//! image's own ([`EventsDir::share_binary`]), so that the host keeps one copy in memory.
//!
//! The folder lives for the run only: it is removed when the run ends, however it ends
//! (its records are in the run's outcome, and the pipeline writes them merged into
//! `<reports>/<run-id>/events.jsonl`); `<run-id>/` goes too if that leaves it empty.
//!
//! The node image runs as root; a container engine that remaps root to an unprivileged
//! host user (user-namespace remapping) can still append, because the files are made here
//! beforehand, writable by everyone (0666; the folder stays 0755).

use std::fs::{self, OpenOptions, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::docker::BindMount;
use crate::error::Error;

/// Where the folder appears in a node container.
pub(super) const MOUNT_POINT: &str = "/events";
/// The folder's name in the run's reports folder.
const FOLDER: &str = "node-events";
/// The node binary's copy in the folder ([`EventsDir::share_binary`]).
const BINARY: &str = ".meshnode";
/// Where the shared binary is bound in a node container: over the image's own copy, its
/// entrypoint.
const BINARY_IN_CONTAINER: &str = "/meshnode";

/// The folder, removed when dropped (see the module's documentation).
#[derive(Debug)]
pub(super) struct EventsDir {
    /// `<reports>/<run-id>/node-events`, absolute.
    host: PathBuf,
    /// `<reports>/<run-id>`, absolute.
    run_dir: PathBuf,
    /// Whether the node binary was copied in ([`EventsDir::share_binary`]).
    shared_binary: bool,
}

impl EventsDir {
    /// Creates `<reports_dir>/<run_id>/node-events/` with an empty file for each of
    /// `nodes`.
    pub(super) fn create<'a>(
        reports_dir: &Path,
        run_id: &str,
        nodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, Error> {
        let made = reports_dir.join(run_id).join(FOLDER);
        fs::create_dir_all(&made).map_err(|e| Error::io("create", &made, e))?;
        // The engine needs an absolute source for a bind mount.
        let host = fs::canonicalize(&made).map_err(|e| Error::io("resolve", &made, e))?;
        let run_dir = host
            .parent()
            .map_or_else(|| host.clone(), Path::to_path_buf);
        let dir = EventsDir {
            host,
            run_dir,
            shared_binary: false,
        };
        for node in nodes {
            let path = dir.host_file(node);
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .and_then(|_| fs::set_permissions(&path, Permissions::from_mode(0o666)))
                .map_err(|e| Error::io("create", &path, e))?;
        }
        Ok(dir)
    }

    /// Copies the node `binary` (the one the node image was built from) into the folder,
    /// so that every node container runs that one file, bound read-only over the image's
    /// copy: the host then keeps the binary's pages in memory once, not once per
    /// container (the storage driver gives each container its own copy of the image's
    /// file: ~10 MiB a node, 10 GiB at 1,000 nodes). The copy goes with the folder.
    pub(super) fn share_binary(&mut self, binary: &Path) -> Result<(), Error> {
        let copy = self.host.join(BINARY);
        fs::copy(binary, &copy).map_err(|e| Error::io("copy the node binary to", &copy, e))?;
        self.shared_binary = true;
        Ok(())
    }

    /// The bind mounts of a node container: the folder at [`MOUNT_POINT`], and the shared
    /// binary over the image's if [`EventsDir::share_binary`] was called.
    pub(super) fn mounts(&self) -> Vec<BindMount> {
        let mut mounts = vec![BindMount {
            host: self.host.clone(),
            container: MOUNT_POINT.to_string(),
            read_only: false,
        }];
        if self.shared_binary {
            mounts.push(BindMount {
                host: self.host.join(BINARY),
                container: BINARY_IN_CONTAINER.to_string(),
                read_only: true,
            });
        }
        mounts
    }

    /// Writes `text` to the file `name` in the folder (a file the run hands a container,
    /// such as the shaper's regions file); returns its host path.
    pub(super) fn write_file(&self, name: &str, text: &str) -> Result<PathBuf, Error> {
        let path = self.host.join(name);
        fs::write(&path, text).map_err(|e| Error::Io {
            action: "write".into(),
            path: path.clone(),
            source: e,
        })?;
        Ok(path)
    }

    /// The file of `node` on the host.
    pub(super) fn host_file(&self, node: &str) -> PathBuf {
        self.host.join(file_name(node))
    }

    /// The file of `node` in its container.
    pub(super) fn container_file(node: &str) -> PathBuf {
        Path::new(MOUNT_POINT).join(file_name(node))
    }
}

fn file_name(node: &str) -> String {
    format!("{node}.jsonl")
}

impl Drop for EventsDir {
    fn drop(&mut self) {
        match fs::remove_dir_all(&self.host) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!(
                "warning: failed to remove the events folder {}: {e}",
                self.host.display()
            ),
        }
        // Only if empty: a result written there earlier stays.
        let _ = fs::remove_dir(&self.run_dir);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_node_gets_a_writable_file_and_drop_removes_the_folder() {
        let reports = tempfile::tempdir().unwrap();
        let mut dir = EventsDir::create(reports.path(), "run-1", ["honest-0", "honest-1"]).unwrap();
        let file = dir.host_file("honest-1");
        assert!(file.is_absolute(), "{}", file.display());
        assert!(file.ends_with("run-1/node-events/honest-1.jsonl"));
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666);
        assert_eq!(fs::metadata(&file).unwrap().len(), 0);
        let mounts = dir.mounts();
        assert_eq!(mounts.len(), 1, "no binary shared yet");
        assert_eq!(mounts[0].host, file.parent().unwrap());
        assert_eq!(mounts[0].container, "/events");
        // The node binary, shared read-only over the image's, goes with the folder.
        let binary = reports.path().join("meshnode");
        fs::write(&binary, b"\x7fELF").unwrap();
        fs::set_permissions(&binary, Permissions::from_mode(0o755)).unwrap();
        dir.share_binary(&binary).unwrap();
        let mounts = dir.mounts();
        assert_eq!(mounts[1].container, "/meshnode");
        assert!(mounts[1].read_only);
        assert_eq!(fs::read(&mounts[1].host).unwrap(), b"\x7fELF");
        let mode = fs::metadata(&mounts[1].host).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "still executable");
        assert_eq!(
            EventsDir::container_file("honest-1"),
            Path::new("/events/honest-1.jsonl")
        );
        drop(dir);
        assert!(!reports.path().join("run-1").exists());
    }

    #[test]
    fn the_run_folder_is_kept_when_something_else_is_in_it() {
        let reports = tempfile::tempdir().unwrap();
        let dir = EventsDir::create(reports.path(), "run-2", ["a"]).unwrap();
        fs::write(reports.path().join("run-2/result.json"), "{}").unwrap();
        drop(dir);
        assert!(reports.path().join("run-2/result.json").exists());
        assert!(!reports.path().join("run-2/node-events").exists());
    }
}
