//! A partition's packet filter: inside each affected node's network namespace (entered
//! from the host with `nsenter`), one chain [`CHAIN`] at the top of `INPUT` drops every
//! packet from the other side's addresses. Both sides drop what the other sends, so
//! traffic stops both ways, TCP and QUIC alike. The rules live in the node's namespace: a
//! heal removes them, and they go with the namespace when the container stops, so a run
//! that is interrupted leaves none on the host.
//!
//! Rules are written with `iptables-restore --noflush`, one transaction a node, with typed
//! argument lists and never a shell.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The chain that holds a partition's drops in a node's namespace.
pub const CHAIN: &str = "MESHLAB-PARTITION";

/// The rule set that makes a namespace drop everything from `from` (replacing any earlier
/// partition's).
pub fn block_script(from: &[Ipv4Addr]) -> String {
    let mut s = format!("*filter\n:{CHAIN} - [0:0]\n");
    for ip in from {
        s.push_str(&format!("-A {CHAIN} -s {ip}/32 -j DROP\n"));
    }
    s.push_str(&format!("-I INPUT 1 -j {CHAIN}\nCOMMIT\n"));
    s
}

/// The rule set that removes [`CHAIN`] and its jump again.
pub fn heal_script() -> String {
    format!("*filter\n:{CHAIN} - [0:0]\n-D INPUT -j {CHAIN}\n-X {CHAIN}\nCOMMIT\n")
}

/// The program and arguments that feed a rule set to the namespace of process `pid`.
pub fn restore_command(pid: u32) -> (&'static str, Vec<String>) {
    (
        "nsenter",
        vec![
            "-t".into(),
            pid.to_string(),
            "-n".into(),
            "iptables-restore".into(),
            "-w".into(),
            "--noflush".into(),
        ],
    )
}

/// Feeds `script` to the namespace of process `pid`; the error reads after "failed to".
pub fn apply(pid: u32, script: &str) -> Result<(), String> {
    let (program, args) = restore_command(pid);
    let what = || format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run {}: {e}", what()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| format!("write the rules to {}: {e}", what()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for {}: {e}", what()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} ({}): {}",
            what(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_drop_each_address_of_the_other_side_and_heal_removes_the_chain() {
        let s = block_script(&[Ipv4Addr::new(10, 80, 0, 2), Ipv4Addr::new(10, 80, 0, 3)]);
        assert_eq!(
            s,
            "*filter\n:MESHLAB-PARTITION - [0:0]\n-A MESHLAB-PARTITION -s 10.80.0.2/32 -j DROP\n-A MESHLAB-PARTITION -s 10.80.0.3/32 -j DROP\n-I INPUT 1 -j MESHLAB-PARTITION\nCOMMIT\n"
        );
        assert!(heal_script().contains("-D INPUT -j MESHLAB-PARTITION\n-X MESHLAB-PARTITION\n"));
        let (program, args) = restore_command(42);
        assert_eq!(program, "nsenter");
        assert_eq!(
            args,
            ["-t", "42", "-n", "iptables-restore", "-w", "--noflush"]
        );
    }
}
