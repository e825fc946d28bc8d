//! Typed argument lists for `tc` and `iptables`, and running them without a shell.

use std::fmt;
use std::process::Command;

use lab_config::LinkShape;

use crate::error::ShaperError;
use crate::shape::format_decimal;

/// The traffic-control program, looked up on `PATH`.
pub const TC: &str = "tc";
/// The packet-filter program, looked up on `PATH`.
pub const IPTABLES: &str = "iptables";
/// The queue limit given to `tbf`, as the longest time a packet may wait for tokens.
pub const TBF_LATENCY_MS: u32 = 200;
/// The smallest `tbf` bucket: two full Ethernet frames, so one MTU-sized packet always fits.
pub const TBF_MIN_BURST_BYTES: u64 = 2 * 1514;

/// One run of a helper program: the program and its arguments, never a shell string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program, found on `PATH`.
    pub program: &'static str,
    /// Its arguments, one element each.
    pub args: Vec<String>,
}

impl Invocation {
    fn new(program: &'static str, args: &[&str]) -> Self {
        Self {
            program,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    /// Runs the program to completion; a non-zero exit becomes [`ShaperError::Command`]
    /// carrying its standard error.
    pub fn run(&self) -> Result<(), ShaperError> {
        let output = Command::new(self.program)
            .args(&self.args)
            .output()
            .map_err(|source| ShaperError::Spawn {
                program: self.program.to_owned(),
                source,
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(ShaperError::Command {
            command: self.to_string(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
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

/// Whether an iptables rule is added or removed; removal repeats the rule specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOp {
    /// `-A`: append to the chain.
    Append,
    /// `-D`: delete the first rule matching the specification.
    Delete,
}

impl RuleOp {
    fn flag(self) -> &'static str {
        match self {
            Self::Append => "-A",
            Self::Delete => "-D",
        }
    }
}

/// `tc qdisc replace dev DEV root netem [delay Dus [Jus]] [loss L%] [rate Rkbit]`, delay
/// and jitter in whole microseconds as the shape holds them.
pub fn netem_replace(dev: &str, shape: &LinkShape) -> Invocation {
    let mut inv = Invocation::new(TC, &["qdisc", "replace", "dev", dev, "root", "netem"]);
    if shape.delays() {
        inv.args.push("delay".to_owned());
        inv.args.push(format!("{}us", shape.delay_us()));
        if shape.jitter_us() > 0 {
            inv.args.push(format!("{}us", shape.jitter_us()));
        }
    }
    if shape.drops() {
        inv.args.push("loss".to_owned());
        inv.args
            .push(format!("{}%", format_decimal(shape.loss * 100.0)));
    }
    if let Some(rate) = shape.rate_limit_kbit() {
        inv.args.push("rate".to_owned());
        inv.args.push(format!("{rate}kbit"));
    }
    inv
}

/// `tc qdisc add dev DEV root netem delay 1ms`: the availability probe. `add` (not
/// `replace`) so that it never clobbers a qdisc that is already there.
pub fn netem_probe(dev: &str) -> Invocation {
    Invocation::new(
        TC,
        &["qdisc", "add", "dev", dev, "root", "netem", "delay", "1ms"],
    )
}

/// `tc qdisc del dev DEV root`: back to the device's default qdisc.
pub fn root_qdisc_delete(dev: &str) -> Invocation {
    Invocation::new(TC, &["qdisc", "del", "dev", dev, "root"])
}

/// The `tbf` bucket size for a rate: 10 ms worth of bytes, at least [`TBF_MIN_BURST_BYTES`].
pub fn tbf_burst_bytes(rate_kbit: u64) -> u64 {
    let ten_ms_of_bytes = rate_kbit.saturating_mul(1000) / 8 / 100;
    ten_ms_of_bytes.max(TBF_MIN_BURST_BYTES)
}

/// `tc qdisc replace dev DEV root tbf rate Rkbit burst Bb latency Lms`.
pub fn tbf_replace(dev: &str, rate_kbit: u64) -> Invocation {
    let mut inv = Invocation::new(TC, &["qdisc", "replace", "dev", dev, "root", "tbf"]);
    inv.args.extend([
        "rate".to_owned(),
        format!("{rate_kbit}kbit"),
        "burst".to_owned(),
        format!("{}b", tbf_burst_bytes(rate_kbit)),
        "latency".to_owned(),
        format!("{TBF_LATENCY_MS}ms"),
    ]);
    inv
}

/// `iptables -A|-D OUTPUT -o DEV -m statistic --mode random --probability L -j DROP`.
pub fn loss_rule(op: RuleOp, dev: &str, loss: f64) -> Invocation {
    let probability = format_decimal(loss);
    Invocation::new(
        IPTABLES,
        &[
            op.flag(),
            "OUTPUT",
            "-o",
            dev,
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &probability,
            "-j",
            "DROP",
        ],
    )
}

/// `iptables -A|-D INPUT -i DEV -j NFQUEUE --queue-num N`.
///
/// The delay is imposed on the receiver's ingress, not the sender's egress: a packet held
/// at OUTPUT is still charged to its sending socket, and TCP Small Queues then lets only
/// about two segments of a flow be in the queue at once, so a multi-segment message takes
/// several delay periods (measured here: p95 190 ms on 25 ms links). Kernel netem avoids
/// that by orphaning the packets it holds; delaying at ingress has the same effect. When
/// every node shapes its own ingress, every link still carries the delay once per
/// direction.
pub fn nfqueue_rule(op: RuleOp, dev: &str, queue: u16) -> Invocation {
    let queue = queue.to_string();
    Invocation::new(
        IPTABLES,
        &[
            op.flag(),
            "INPUT",
            "-i",
            dev,
            "-j",
            "NFQUEUE",
            "--queue-num",
            &queue,
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn args(inv: &Invocation) -> Vec<&str> {
        inv.args.iter().map(String::as_str).collect()
    }

    fn shape(delay_us: u64, jitter_us: u64, loss: f64, rate_kbit: u64) -> LinkShape {
        LinkShape {
            delay: Duration::from_micros(delay_us),
            jitter: Duration::from_micros(jitter_us),
            loss,
            rate_kbit: (rate_kbit > 0).then_some(rate_kbit),
        }
    }

    #[test]
    fn netem_carries_every_parameter() {
        let inv = netem_replace("eth0", &shape(25_000, 2_500, 0.3, 1000));
        assert_eq!(inv.program, "tc");
        assert_eq!(
            args(&inv),
            [
                "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "25000us", "2500us",
                "loss", "30%", "rate", "1000kbit"
            ]
        );
    }

    #[test]
    fn netem_keeps_sub_millisecond_delay_and_jitter() {
        // netem/lan.toml: 500 us ± 100 us, 1 gbit/s.
        let inv = netem_replace("eth0", &shape(500, 100, 0.0, 1_000_000));
        assert_eq!(
            args(&inv)[6..],
            ["delay", "500us", "100us", "rate", "1000000kbit"]
        );
    }

    #[test]
    fn netem_leaves_out_what_is_zero() {
        let inv = netem_replace("eth1", &shape(40_000, 0, 0.0, 0));
        assert_eq!(
            args(&inv),
            [
                "qdisc", "replace", "dev", "eth1", "root", "netem", "delay", "40000us"
            ]
        );
        let inv = netem_replace("eth0", &shape(0, 0, 0.015, 0));
        assert_eq!(
            args(&inv),
            [
                "qdisc", "replace", "dev", "eth0", "root", "netem", "loss", "1.5%"
            ]
        );
    }

    #[test]
    fn probe_adds_and_never_replaces() {
        let inv = netem_probe("lo");
        assert_eq!(
            args(&inv),
            ["qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]
        );
        assert_eq!(
            args(&root_qdisc_delete("lo")),
            ["qdisc", "del", "dev", "lo", "root"]
        );
    }

    #[test]
    fn tbf_gets_rate_burst_and_latency() {
        let inv = tbf_replace("eth0", 8000);
        assert_eq!(
            args(&inv),
            [
                "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "8000kbit", "burst",
                "10000b", "latency", "200ms"
            ]
        );
    }

    #[test]
    fn tbf_burst_never_drops_below_two_frames() {
        assert_eq!(tbf_burst_bytes(1), TBF_MIN_BURST_BYTES);
        assert_eq!(tbf_burst_bytes(1000), TBF_MIN_BURST_BYTES);
        assert_eq!(tbf_burst_bytes(100_000), 125_000);
        assert_eq!(tbf_burst_bytes(u64::MAX), u64::MAX / 8 / 100);
    }

    #[test]
    fn loss_rule_uses_the_statistic_match() {
        let inv = loss_rule(RuleOp::Append, "eth0", 0.3);
        assert_eq!(inv.program, "iptables");
        assert_eq!(
            args(&inv),
            [
                "-A",
                "OUTPUT",
                "-o",
                "eth0",
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                "0.3",
                "-j",
                "DROP"
            ]
        );
    }

    #[test]
    fn deleting_a_rule_repeats_its_specification() {
        let add = loss_rule(RuleOp::Append, "eth0", 0.25);
        let del = loss_rule(RuleOp::Delete, "eth0", 0.25);
        assert_eq!(del.args[0], "-D");
        assert_eq!(add.args[1..], del.args[1..]);

        let add = nfqueue_rule(RuleOp::Append, "eth0", 3);
        let del = nfqueue_rule(RuleOp::Delete, "eth0", 3);
        assert_eq!(
            args(&add),
            [
                "-A",
                "INPUT",
                "-i",
                "eth0",
                "-j",
                "NFQUEUE",
                "--queue-num",
                "3"
            ]
        );
        assert_eq!(add.args[1..], del.args[1..]);
    }

    #[test]
    fn display_is_for_reading_only() {
        assert_eq!(
            nfqueue_rule(RuleOp::Append, "eth0", 0).to_string(),
            "iptables -A INPUT -i eth0 -j NFQUEUE --queue-num 0"
        );
    }
}
