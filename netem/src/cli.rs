//! Command line of `labshaper`. The flags that carry the shape, the back end and the
//! device are the ones `lab_config::ShaperConfig::to_args` writes; the parser reads them
//! back into an equal `ShaperConfig`.

use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use lab_config::shaper::DEFAULT_DEV;
use lab_config::{BackendChoice, LinkShape, ShaperConfig};

use crate::backend::ApplyConfig;
use crate::error::ShaperError;
use crate::shape::check;

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
    /// Also read process ids from stdin, one a line, as the nodes start (`PID`, or with
    /// `--regions` `PID REGION`).
    #[arg(long)]
    pub stdin: bool,
    /// A regions file (TOML, `lab_config::SourceRegions`: the latency matrix in real time
    /// and the source addresses of each region): each namespace's packets are delayed by
    /// the link from their source's region to its own (user-space backend only).
    #[arg(long, requires = "stdin")]
    pub regions: Option<std::path::PathBuf>,
    /// Links may change at run time: stdin may also say `set PID ADDR DELAY_US JITTER_US
    /// LOSS` (that node's link, both ways, from now on) and `reset PID ADDR`. Every
    /// namespace then gets a delay line (user-space backend only).
    #[arg(long, requires = "stdin")]
    pub live: bool,
    /// Where the host's process table is mounted: `/proc` in the host's pid namespace, or
    /// the host's `/proc` bound into a container that has its own (a Swarm service cannot
    /// share the host's).
    #[arg(long, default_value = "/proc")]
    pub proc: std::path::PathBuf,
}

impl HostArgs {
    /// The regions file, read and checked, when one was given.
    pub fn load_regions(&self) -> Result<Option<lab_config::SourceRegions>, ShaperError> {
        let Some(path) = &self.regions else {
            return Ok(None);
        };
        let text = lab_config::file::read_text(
            path,
            lab_config::bounds::MAX_CONFIG_FILE_BYTES,
            "a regions file",
        )
        .map_err(|e| ShaperError::Regions(e.to_string()))?;
        lab_config::SourceRegions::from_toml(&text)
            .map(Some)
            .map_err(|e| ShaperError::Regions(format!("{e} ({})", path.display())))
    }
}

/// Options of `labshaper apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Egress device to shape.
    #[arg(long, default_value = DEFAULT_DEV)]
    pub dev: String,
    /// Added one-way delay in microseconds, at most 10000000 (10 s).
    #[arg(long, default_value_t = 0)]
    pub delay_us: u64,
    /// Jitter half-width in microseconds, at most the delay (uniform in ±jitter).
    #[arg(long, default_value_t = 0)]
    pub jitter_us: u64,
    /// Drop probability in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Rate limit in kbit/s, at most 100000000 (100 gbit/s); 0 means unlimited.
    #[arg(long, default_value_t = 0)]
    pub rate_kbit: u64,
    /// Which backend to use.
    #[arg(long, value_parser = backend_parser(), default_value_t = BackendChoice::Auto)]
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

/// The `--backend` values, each with its line of help.
fn backend_parser() -> impl TypedValueParser<Value = BackendChoice> {
    let values = BackendChoice::ALL.map(|b| {
        PossibleValue::new(b.name()).help(match b {
            BackendChoice::Auto => "Kernel netem when the probe finds it, user space otherwise",
            BackendChoice::Kernel => "Kernel `tc netem` only; fails where the kernel lacks it",
            BackendChoice::Userspace => "`tbf`, iptables `statistic` and the NFQUEUE delay line",
        })
    });
    PossibleValuesParser::new(values).try_map(|name| name.parse::<BackendChoice>())
}

impl ApplyArgs {
    /// The shape, back end and device these flags ask for; a rate of 0 is no limit.
    pub fn shaper_config(&self) -> ShaperConfig {
        ShaperConfig {
            shape: LinkShape {
                delay: Duration::from_micros(self.delay_us),
                jitter: Duration::from_micros(self.jitter_us),
                loss: self.loss,
                rate_kbit: (self.rate_kbit > 0).then_some(self.rate_kbit),
            },
            backend: self.backend,
            dev: self.dev.clone(),
        }
    }

    /// The typed configuration, with the seed drawn if none was given; fails, naming the
    /// flag, when the shape is out of range.
    pub fn into_config(self) -> Result<ApplyConfig, ShaperError> {
        let shaper = self.shaper_config();
        check(&shaper.shape)?;
        Ok(ApplyConfig {
            shaper,
            queue: self.queue_num,
            queue_max_len: self.queue_max_len,
            seed: self.seed.unwrap_or_else(rand::random),
            sources: None,
            live: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use lab_config::LinkProblem;

    use super::*;
    use crate::shape::ShapeError;

    /// `labshaper apply ARGS...`, parsed and turned into a configuration.
    fn apply_config(args: &[&str]) -> Result<ApplyConfig, String> {
        let argv = ["labshaper", "apply"].iter().chain(args);
        match Cli::try_parse_from(argv) {
            Ok(Cli {
                command: Command::Apply(args),
            }) => args.into_config().map_err(|e| format!("failed to {e}")),
            Ok(other) => Err(format!("not apply: {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn apply_flags_map_to_the_config() {
        let cfg = apply_config(&[
            "--dev",
            "eth1",
            "--delay-us",
            "25000",
            "--jitter-us",
            "2500",
            "--loss",
            "0.3",
            "--rate-kbit",
            "1000",
            "--backend",
            "userspace",
            "--seed",
            "5",
        ]);
        let Ok(cfg) = cfg else {
            panic!("apply did not parse: {cfg:?}");
        };
        assert_eq!(cfg.shaper.dev, "eth1");
        assert_eq!(cfg.shaper.backend, BackendChoice::Userspace);
        assert_eq!(cfg.seed, 5);
        assert_eq!(cfg.queue, 0);
        assert_eq!(
            cfg.shaper.shape,
            LinkShape {
                delay: Duration::from_micros(25_000),
                jitter: Duration::from_micros(2_500),
                loss: 0.3,
                rate_kbit: Some(1000)
            }
        );
    }

    #[test]
    fn sub_millisecond_delay_and_jitter_are_kept() {
        // netem/lan.toml: 500 us ± 100 us.
        let cfg = apply_config(&["--delay-us", "500", "--jitter-us", "100"]);
        assert_eq!(
            cfg.map(|c| (c.shaper.shape.delay, c.shaper.shape.jitter)),
            Ok((Duration::from_micros(500), Duration::from_micros(100)))
        );
    }

    #[test]
    fn the_millisecond_flags_are_gone() {
        assert!(apply_config(&["--delay-ms", "25"]).is_err());
        assert!(apply_config(&["--jitter-ms", "3"]).is_err());
    }

    #[test]
    fn out_of_range_shapes_are_refused_naming_the_flag() {
        let err = |args: &[&str]| apply_config(args).err().unwrap_or_default();
        assert!(apply_config(&["--delay-us", "10000000"]).is_ok());
        assert_eq!(
            err(&["--delay-us", "10000001"]),
            "failed to accept the link shape: --delay-us 10000001 is above the maximum \
             10000000 (10 s)"
        );
        assert_eq!(
            err(&["--delay-us", "2000", "--jitter-us", "2001"]),
            "failed to accept the link shape: --jitter-us 2001 is above --delay-us 2000 \
             (jitter is at most the delay)"
        );
        assert!(err(&["--jitter-us", "100"]).contains("--jitter-us 100 is above --delay-us 0"));
        assert_eq!(
            err(&["--loss", "1.5"]),
            "failed to accept the link shape: --loss 1.5 is not a probability in [0, 1]"
        );
        assert!(err(&["--loss", "NaN"]).contains("--loss NaN is not a probability"));
        assert!(err(&["--loss=-0.1"]).contains("--loss -0.1 is not a probability"));
        assert!(apply_config(&["--rate-kbit", "100000000"]).is_ok());
        assert_eq!(
            err(&["--rate-kbit", "100000001"]),
            "failed to accept the link shape: --rate-kbit 100000001 is above the maximum \
             100000000 (100 gbit/s)"
        );
        // Not a number at all: clap's own message, which names the flag too.
        assert!(err(&["--delay-us", "2.5"]).contains("--delay-us"));
        assert!(err(&["--jitter-us=-1"]).contains("--jitter-us"));
    }

    #[test]
    fn bad_shapes_exit_with_the_shape_code() {
        let bad = LinkShape {
            jitter: Duration::from_micros(1),
            ..LinkShape::none()
        };
        let Err(e) = check(&bad).map_err(ShaperError::from) else {
            panic!("accepted {bad:?}");
        };
        assert_eq!(e.exit_code(), 3);
        assert!(matches!(
            e,
            ShaperError::InvalidShape(ShapeError(LinkProblem::JitterWithoutDelay(_)))
        ));
    }

    #[test]
    fn host_takes_pids_and_the_apply_flags() {
        let cli = Cli::try_parse_from([
            "labshaper",
            "host",
            "--delay-us",
            "25000",
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
        assert_eq!(args.proc, std::path::Path::new("/proc"));
        assert_eq!(
            args.apply
                .into_config()
                .map(|c| c.shaper.shape.delay_us())
                .ok(),
            Some(25_000)
        );
        assert!(Cli::try_parse_from(["labshaper", "host", "--delay-us", "25000"]).is_err());
        assert!(Cli::try_parse_from(["labshaper", "host", "--pid", "x"]).is_err());
        assert!(Cli::try_parse_from(["labshaper", "host", "--stdin"]).is_ok());
        let bound = Cli::try_parse_from(["labshaper", "host", "--stdin", "--proc", "/host/proc"]);
        assert!(
            matches!(&bound, Ok(Cli { command: Command::Host(a) }) if a.proc == std::path::Path::new("/host/proc")),
            "{bound:?}"
        );
    }

    #[test]
    fn unknown_backend_is_refused() {
        assert!(Cli::try_parse_from(["labshaper", "apply", "--backend", "tc"]).is_err());
    }

    /// A configuration as the orchestrator writes it, read back by `apply` and `host`.
    fn read_back(cfg: &ShaperConfig) -> Vec<Result<ShaperConfig, String>> {
        let apply = apply_config(&cfg.to_args().iter().map(String::as_str).collect::<Vec<_>>())
            .map(|c| c.shaper);
        let argv = ["labshaper", "host", "--stdin"]
            .map(String::from)
            .into_iter()
            .chain(cfg.to_args());
        let host = match Cli::try_parse_from(argv) {
            Ok(Cli {
                command: Command::Host(args),
            }) => args
                .apply
                .into_config()
                .map(|c| c.shaper)
                .map_err(|e| e.to_string()),
            other => Err(format!("not host: {other:?}")),
        };
        vec![apply, host]
    }

    #[test]
    fn the_orchestrators_arguments_read_back_into_an_equal_config() {
        let shapes = [
            LinkShape::none(),
            LinkShape {
                delay: Duration::from_millis(25),
                jitter: Duration::from_micros(2_500),
                loss: 0.01,
                rate_kbit: None,
            },
            LinkShape {
                delay: Duration::from_micros(500),
                jitter: Duration::from_micros(100),
                loss: 0.0,
                rate_kbit: Some(1_000_000),
            },
            LinkShape {
                delay: lab_config::bounds::MAX_LINK_DELAY,
                jitter: lab_config::bounds::MAX_LINK_DELAY,
                loss: 1.0,
                rate_kbit: Some(lab_config::bounds::MAX_LINK_RATE_KBIT),
            },
            LinkShape {
                loss: 0.1 + 0.2,
                ..LinkShape::none()
            },
        ];
        for shape in shapes {
            for backend in BackendChoice::ALL {
                let cfg = ShaperConfig {
                    shape: shape.clone(),
                    backend,
                    dev: DEFAULT_DEV.into(),
                };
                for read in read_back(&cfg) {
                    assert_eq!(read, Ok(cfg.clone()), "{:?}", cfg.to_args());
                }
            }
        }
    }

    #[test]
    fn an_out_of_range_config_is_refused_when_read_back() {
        let cfg = ShaperConfig {
            shape: LinkShape {
                delay: Duration::from_secs(11),
                ..LinkShape::none()
            },
            backend: BackendChoice::Kernel,
            dev: "eth1".into(),
        };
        for read in read_back(&cfg) {
            assert!(
                read.as_ref()
                    .is_err_and(|e| e.contains("--delay-us 11000000")),
                "{read:?}"
            );
        }
    }
}
