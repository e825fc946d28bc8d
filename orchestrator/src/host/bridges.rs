//! Routing between a run's bridge networks, when it has several (`plan::Bridges`).
//!
//! Docker isolates bridge networks from each other (its `DOCKER-ISOLATION-STAGE-*`
//! chains drop traffic from one bridge to another) and masquerades traffic that leaves a
//! bridge. A run's bridges are therefore created without masquerading
//! (`docker::Egress::Routed`), and one rule at the top of the `DOCKER-USER` chain, which
//! Docker leaves to its users and consults before its own, accepts traffic from the run's
//! /16 to its /16, so that the host forwards it from bridge to bridge with the nodes' own
//! addresses. The rule carries the comment `meshlab:<run id>`: a run's teardown removes
//! the rules with its comment, and `orchestrator down` every rule whose comment starts
//! with `meshlab:`, whoever left it.
//!
//! Forwarding needs `net.ipv4.ip_forward = 1`, which Docker sets when it starts (unless
//! dockerd runs with `--ip-forward=false`); a run checks it and fails when it is off, as
//! turning the host into a router is the operator's decision, not the lab's.
//!
//! The rules are changed with the host's `iptables` program (`./lab` installs it), with
//! typed argument lists and never a shell, as labshaper does (`netem/src/commands.rs`).

use std::fmt;
use std::process::Command;

use super::sysctl;
use crate::plan::Subnet;

/// The packet-filter program, looked up on `PATH`.
pub const IPTABLES: &str = "iptables";
/// The chain Docker leaves to its users, consulted first in `FORWARD`.
pub const CHAIN: &str = "DOCKER-USER";
/// What the comment of every rule the lab adds starts with.
pub const COMMENT_PREFIX: &str = "meshlab:";
/// The kernel's IPv4 forwarding switch.
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Why routing between bridges could not be set up or removed. Messages read after
/// "failed to".
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The program could not be started.
    #[error("run {program}: {source} (./lab installs it)")]
    Spawn {
        /// The program.
        program: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The program exited with an error.
    #[error("{command} ({status}): {stderr}")]
    Command {
        /// The whole command line.
        command: String,
        /// How it exited.
        status: String,
        /// Its standard error (warnings included).
        stderr: String,
    },
    /// The host does not forward IPv4 packets.
    #[error(
        "route between the run's bridge networks: net.ipv4.ip_forward is {0} (Docker sets it to 1 unless dockerd runs with --ip-forward=false); turn it on with `sysctl -w net.ipv4.ip_forward=1`"
    )]
    NoForwarding(String),
    /// `/proc/sys/net/ipv4/ip_forward` could not be read.
    #[error("{0}")]
    Sysctl(String),
}

impl RoutingError {
    /// Whether the program is not installed.
    pub fn is_missing_program(&self) -> bool {
        matches!(self, RoutingError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// One run of a helper program: the program and its arguments, never a shell string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program, found on `PATH`.
    pub program: &'static str,
    /// Its arguments, one element each.
    pub args: Vec<String>,
}

impl Invocation {
    fn iptables(args: impl IntoIterator<Item = String>) -> Self {
        // -w: wait for the xtables lock that Docker and other runs also take.
        Self {
            program: IPTABLES,
            args: std::iter::once("-w".to_owned()).chain(args).collect(),
        }
    }

    /// Runs the program to completion; returns its standard output. A non-zero exit is
    /// [`RoutingError::Command`] with its standard error.
    pub fn output(&self) -> Result<String, RoutingError> {
        let output = Command::new(self.program)
            .args(&self.args)
            .output()
            .map_err(|source| RoutingError::Spawn {
                program: self.program,
                source,
            })?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        Err(RoutingError::Command {
            command: self.to_string(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }

    /// Runs the program to completion (see [`Invocation::output`]).
    pub fn run(&self) -> Result<(), RoutingError> {
        self.output().map(drop)
    }
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program)?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// The comment of a run's rules: `meshlab:<run id>`.
pub fn run_comment(run_id: &str) -> String {
    format!("{COMMENT_PREFIX}{run_id}")
}

/// An ACCEPT rule in [`CHAIN`]: `-s SOURCE -d DESTINATION -m comment --comment C -j ACCEPT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptRule {
    /// Source addresses, CIDR.
    pub source: String,
    /// Destination addresses, CIDR.
    pub destination: String,
    /// The comment that finds the rule again.
    pub comment: String,
}

impl AcceptRule {
    /// The rule that lets run `run_id`'s bridges in `subnet` reach each other: from its
    /// /16 to its /16 (each bridge is a /20 of it), both directions in one rule.
    pub fn for_run(run_id: &str, subnet: Subnet) -> Self {
        Self::within(subnet, run_comment(run_id))
    }

    /// The rule that accepts traffic from `subnet` to `subnet`, with `comment`.
    pub fn within(subnet: Subnet, comment: String) -> Self {
        AcceptRule {
            source: subnet.cidr(),
            destination: subnet.cidr(),
            comment,
        }
    }

    /// `iptables -w -I DOCKER-USER <rule>`: at the top of the chain, before Docker's
    /// closing `RETURN`.
    pub fn insert(&self) -> Invocation {
        Invocation::iptables(
            ["-I".to_owned(), CHAIN.to_owned()]
                .into_iter()
                .chain(self.spec()),
        )
    }

    /// `iptables -w -D DOCKER-USER <rule>`: removes the first rule that matches.
    pub fn delete(&self) -> Invocation {
        Invocation::iptables(
            ["-D".to_owned(), CHAIN.to_owned()]
                .into_iter()
                .chain(self.spec()),
        )
    }

    fn spec(&self) -> Vec<String> {
        [
            "-s",
            &self.source,
            "-d",
            &self.destination,
            "-m",
            "comment",
            "--comment",
            &self.comment,
            "-j",
            "ACCEPT",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The rule of one line of `iptables -S DOCKER-USER` (`-A DOCKER-USER -s … -j ACCEPT`,
    /// the comment quoted or not), if it is an ACCEPT rule of this shape.
    pub fn parse(line: &str) -> Option<Self> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let value = |flag: &str| {
            let at = words.iter().position(|w| *w == flag)?;
            words.get(at + 1).map(|v| v.trim_matches('"').to_owned())
        };
        if words.get(..2) != Some(&["-A", CHAIN]) || value("-j").as_deref() != Some("ACCEPT") {
            return None;
        }
        Some(AcceptRule {
            source: value("-s")?,
            destination: value("-d")?,
            comment: value("--comment")?,
        })
    }
}

/// The ACCEPT rules in [`CHAIN`] whose comment `keep` accepts, in chain order.
pub fn listed(keep: impl Fn(&str) -> bool) -> Result<Vec<AcceptRule>, RoutingError> {
    let text = Invocation::iptables(["-S".to_owned(), CHAIN.to_owned()]).output()?;
    Ok(text
        .lines()
        .filter_map(AcceptRule::parse)
        .filter(|r| keep(&r.comment))
        .collect())
}

/// The rules of run `run_id` left in [`CHAIN`].
pub fn run_rules(run_id: &str) -> Result<Vec<AcceptRule>, RoutingError> {
    let comment = run_comment(run_id);
    listed(|c| c == comment)
}

/// Removes every rule of run `run_id` from [`CHAIN`]; returns how many.
pub fn remove_run(run_id: &str) -> Result<usize, RoutingError> {
    remove(run_rules(run_id)?)
}

/// Removes every rule the lab added to [`CHAIN`], whatever its run (`orchestrator down`);
/// returns how many.
pub fn remove_all() -> Result<usize, RoutingError> {
    remove(listed(|c| c.starts_with(COMMENT_PREFIX))?)
}

/// Deletes `rules`, every one tried; the first failure is returned after the others.
fn remove(rules: Vec<AcceptRule>) -> Result<usize, RoutingError> {
    let mut undo = Undo(rules.iter().rev().map(AcceptRule::delete).collect());
    let (removed, failed) = undo.run_all();
    failed.map_or(Ok(removed), Err)
}

/// Whether the host forwards IPv4 packets (`net.ipv4.ip_forward`).
pub fn ip_forward() -> Result<bool, String> {
    Ok(sysctl::read(IP_FORWARD)? == "1")
}

/// Fails with [`RoutingError::NoForwarding`] unless the host forwards IPv4 packets.
pub fn ensure_ip_forward() -> Result<(), RoutingError> {
    let value = sysctl::read(IP_FORWARD).map_err(RoutingError::Sysctl)?;
    if value == "1" {
        Ok(())
    } else {
        Err(RoutingError::NoForwarding(value))
    }
}

/// Whether `iptables` can read [`CHAIN`] here (it exists once Docker has started; reading
/// it takes root): the number of rules in it, or why not.
pub fn probe() -> Result<usize, String> {
    Invocation::iptables(["-S".to_owned(), CHAIN.to_owned()])
        .output()
        .map(|text| text.lines().filter(|l| l.starts_with("-A ")).count())
        .map_err(|e| e.to_string())
}

/// Inserts `rules` into [`CHAIN`] after checking that the host forwards; on a failure,
/// removes the ones already inserted and returns the error. Returns how many were
/// inserted.
pub fn install(rules: &[AcceptRule]) -> Result<usize, RoutingError> {
    ensure_ip_forward()?;
    let mut undo = Undo::default();
    for rule in rules {
        if let Err(e) = rule.insert().run() {
            let (_, failed) = undo.run_all();
            if let Some(left) = failed {
                tracing::warn!(error = %left, "a rule of a failed install was left; `orchestrator down` removes it");
            }
            return Err(e);
        }
        undo.push(rule.delete());
    }
    Ok(undo.0.len())
}

/// Removal commands for what has been installed, run newest first.
#[derive(Debug, Default)]
struct Undo(Vec<Invocation>);

impl Undo {
    fn push(&mut self, inv: Invocation) {
        self.0.push(inv);
    }

    /// Runs every removal, newest first; a failure does not stop the others. Returns how
    /// many succeeded, and the first failure.
    fn run_all(&mut self) -> (usize, Option<RoutingError>) {
        let (mut done, mut failed) = (0, None);
        while let Some(inv) = self.0.pop() {
            match inv.run() {
                Ok(()) => done += 1,
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        (done, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(inv: &Invocation) -> Vec<&str> {
        inv.args.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_runs_rule_accepts_its_subnet_to_itself_at_the_top_of_docker_user() {
        let rule = AcceptRule::for_run("smoke-0123abcd", Subnet::new(10, 80));
        let insert = rule.insert();
        assert_eq!(insert.program, "iptables");
        assert_eq!(
            args(&insert),
            [
                "-w",
                "-I",
                "DOCKER-USER",
                "-s",
                "10.80.0.0/16",
                "-d",
                "10.80.0.0/16",
                "-m",
                "comment",
                "--comment",
                "meshlab:smoke-0123abcd",
                "-j",
                "ACCEPT"
            ]
        );
        let delete = rule.delete();
        assert_eq!(args(&delete)[..3], ["-w", "-D", "DOCKER-USER"]);
        assert_eq!(args(&delete)[3..], args(&insert)[3..]);
        assert_eq!(
            delete.to_string(),
            "iptables -w -D DOCKER-USER -s 10.80.0.0/16 -d 10.80.0.0/16 -m comment --comment meshlab:smoke-0123abcd -j ACCEPT"
        );
    }

    #[test]
    fn rules_are_read_back_from_the_chain_listing() {
        let rule = AcceptRule::for_run("t-1", Subnet::new(10, 77));
        // As iptables-nft 1.8.9 lists it (the comment quoted), and unquoted.
        let listing = "-N DOCKER-USER\n\
            -A DOCKER-USER -s 10.77.0.0/16 -d 10.77.0.0/16 -m comment --comment \"meshlab:t-1\" -j ACCEPT\n\
            -A DOCKER-USER -s 10.77.0.0/16 -d 10.77.0.0/16 -m comment --comment meshlab:t-1 -j ACCEPT\n\
            -A DOCKER-USER -s 10.1.0.0/16 -m comment --comment \"someone else\" -j DROP\n\
            -A DOCKER-USER -j RETURN";
        let parsed: Vec<AcceptRule> = listing.lines().filter_map(AcceptRule::parse).collect();
        assert_eq!(parsed, [rule.clone(), rule]);
        assert_eq!(
            AcceptRule::parse(
                "-A FORWARD -s 10.77.0.0/16 -d 10.77.0.0/16 -m comment --comment meshlab:x -j ACCEPT"
            ),
            None
        );
        assert_eq!(
            AcceptRule::parse("-A DOCKER-USER -s 10.77.0.0/16 -j ACCEPT"),
            None
        );
    }

    #[test]
    fn a_missing_program_says_what_to_do() {
        let inv = Invocation {
            program: "meshlab-no-such-program",
            args: vec![],
        };
        let err = inv.run().expect_err("no such program");
        assert!(matches!(err, RoutingError::Spawn { .. }), "{err}");
        assert!(err.to_string().contains("./lab installs it"), "{err}");
        assert!(err.is_missing_program());
        let mut undo = Undo(vec![inv.clone(), inv]);
        let (done, failed) = undo.run_all();
        assert_eq!(done, 0);
        assert!(failed.is_some());
        assert!(undo.0.is_empty(), "every removal was tried");
    }
}
