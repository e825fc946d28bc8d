//! Command line of `labshaper`.

use clap::{Args, Parser, Subcommand};

use crate::backend::{ApplyConfig, BackendChoice};
use crate::shape::Shape;

/// Shapes the egress of a network device in the current network namespace.
#[derive(Debug, Parser)]
#[command(name = "labshaper", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one JSON line telling whether kernel netem is available.
    Probe,
    /// Impose a link shape until SIGTERM/SIGINT, then remove it.
    Apply(ApplyArgs),
    /// Impose the same link shape in the network namespace of each given process, named
    /// by `--pid` or one per line on stdin (one thread per namespace; needs CAP_SYS_ADMIN
    /// and the host's pid namespace).
    Host(HostArgs),
}

/// Options of `labshaper host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// The shape and backend, as for `apply` (the seed is offset by each pid's position).
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Process ids (as the host sees them) whose network namespaces to shape.
    #[arg(long = "pid", num_args = 1.., required_unless_present = "stdin")]
    pub pids: Vec<u32>,
    /// Also read process ids from stdin, one a line, as the nodes start.
    #[arg(long)]
    pub stdin: bool,
}

/// Options of `labshaper apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Egress device to shape.
    #[arg(long, default_value = "eth0")]
    pub dev: String,
    /// Added one-way delay in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub delay_ms: u32,
    /// Jitter half-width in milliseconds (uniform in ±jitter, never below zero delay).
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u32,
    /// Drop probability in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Rate limit in kbit/s; 0 means unlimited.
    #[arg(long, default_value_t = 0)]
    pub rate_kbit: u64,
    /// Which backend to use.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// NFQUEUE number used by the user-space backend.
    #[arg(long, default_value_t = 0)]
    pub queue_num: u16,
    /// Most packets held in user space at once; the kernel drops beyond that.
    #[arg(long, default_value_t = 4096)]
    pub queue_max_len: u32,
    /// Seed of the jitter generator (random when absent; printed in the ready line).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ApplyArgs {
    /// The typed configuration, with the seed drawn if none was given.
    pub fn into_config(self) -> ApplyConfig {
        ApplyConfig {
            shape: Shape {
                delay_ms: self.delay_ms,
                jitter_ms: self.jitter_ms,
                loss: self.loss,
                rate_kbit: self.rate_kbit,
            },
            dev: self.dev,
            backend: self.backend,
            queue: self.queue_num,
            queue_max_len: self.queue_max_len,
            seed: self.seed.unwrap_or_else(rand::random),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_flags_map_to_the_config() {
        let cli = Cli::try_parse_from([
            "labshaper",
            "apply",
            "--dev",
            "eth1",
            "--delay-ms",
            "25",
            "--jitter-ms",
            "3",
            "--loss",
            "0.3",
            "--rate-kbit",
            "1000",
            "--backend",
            "userspace",
            "--seed",
            "5",
        ]);
        let Ok(Cli {
            command: Command::Apply(args),
        }) = cli
        else {
            panic!("apply did not parse: {cli:?}");
        };
        let cfg = args.into_config();
        assert_eq!(cfg.dev, "eth1");
        assert_eq!(cfg.backend, BackendChoice::Userspace);
        assert_eq!(cfg.seed, 5);
        assert_eq!(cfg.queue, 0);
        assert_eq!(
            cfg.shape,
            Shape {
                delay_ms: 25,
                jitter_ms: 3,
                loss: 0.3,
                rate_kbit: 1000
            }
        );
    }

    #[test]
    fn host_takes_pids_and_the_apply_flags() {
        let cli = Cli::try_parse_from([
            "labshaper",
            "host",
            "--delay-ms",
            "25",
            "--pid",
            "10",
            "11",
            "--pid",
            "12",
        ]);
        let Ok(Cli {
            command: Command::Host(args),
        }) = cli
        else {
            panic!("host did not parse: {cli:?}");
        };
        assert_eq!(args.pids, vec![10, 11, 12]);
        assert!(!args.stdin);
        assert_eq!(args.apply.into_config().shape.delay_ms, 25);
        assert!(Cli::try_parse_from(["labshaper", "host", "--delay-ms", "25"]).is_err());
        assert!(Cli::try_parse_from(["labshaper", "host", "--pid", "x"]).is_err());
        assert!(Cli::try_parse_from(["labshaper", "host", "--stdin"]).is_ok());
    }

    #[test]
    fn unknown_backend_is_refused() {
        assert!(Cli::try_parse_from(["labshaper", "apply", "--backend", "tc"]).is_err());
    }
}
