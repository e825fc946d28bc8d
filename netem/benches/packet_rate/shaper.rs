//! A `labshaper host` process shaping every leaf, started and stopped around one span.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::topology::LEAF_DEV;

/// How long the shaper may take to report every namespace ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running shaper; dropping it sends SIGTERM and waits.
pub(crate) struct Shaper {
    child: Child,
}

impl Shaper {
    /// Starts `bin host` on `pids` with `delay_us` ± `jitter_us`, and waits until each
    /// namespace printed its `shaper_ready` line.
    pub(crate) fn start(
        bin: &str,
        pids: &[u32],
        delay_us: u64,
        jitter_us: u64,
    ) -> Result<Self, String> {
        let mut cmd = Command::new(bin);
        cmd.args([
            "host",
            "--backend",
            "userspace",
            "--dev",
            LEAF_DEV,
            "--seed",
            "1",
        ])
        .args(["--delay-us", &delay_us.to_string()])
        .args(["--jitter-us", &jitter_us.to_string()]);
        for pid in pids {
            cmd.args(["--pid", &pid.to_string()]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("failed to start {bin}: {e}"))?;
        let stdout = child.stdout.take();
        let shaper = Self { child };
        let Some(stdout) = stdout else {
            return Err("failed to read the shaper's stdout".to_owned());
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut ready = 0;
        while ready < pids.len() {
            let line = rx
                .recv_timeout(READY_TIMEOUT)
                .map_err(|_| format!("failed to see {} shaper_ready lines", pids.len()))?;
            if line.contains("shaper_failed") {
                return Err(format!("failed to shape a namespace: {line}"));
            }
            if line.contains("shaper_ready") {
                ready += 1;
            }
        }
        Ok(shaper)
    }

    /// The shaper's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Shaper {
    fn drop(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(0));
        if kill(pid, Signal::SIGTERM).is_err() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
