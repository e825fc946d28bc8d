//! The shaper's configuration as the orchestrator hands it to `labshaper`: the link shape,
//! the back end asked for and the egress device, and the `labshaper apply`/`host` flags
//! that carry them ([`ShaperConfig::to_args`]; `labshaper`'s own parser reads them back).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::link::LinkShape;

/// The egress device a node's link leaves by in its network namespace.
pub const DEFAULT_DEV: &str = "eth0";

/// Which back end `labshaper` is asked to shape with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// Kernel netem when the probe finds it, user space otherwise.
    #[default]
    Auto,
    /// Kernel `tc netem` only; fails where the kernel lacks it.
    Kernel,
    /// `tbf`, iptables `statistic` and the NFQUEUE delay line.
    Userspace,
}

impl BackendChoice {
    /// Every choice, in the order `labshaper --help` lists them.
    pub const ALL: [BackendChoice; 3] = [
        BackendChoice::Auto,
        BackendChoice::Kernel,
        BackendChoice::Userspace,
    ];

    /// The name on the command line and in the ready line: `auto`, `kernel`, `userspace`.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Kernel => "kernel",
            BackendChoice::Userspace => "userspace",
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A back-end name that is none of [`BackendChoice::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a shaper back end (auto, kernel or userspace)")]
pub struct UnknownBackend(pub String);

impl FromStr for BackendChoice {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendChoice::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBackend(s.to_string()))
    }
}

/// What one `labshaper apply` (or every namespace of `labshaper host`) imposes.
#[derive(Debug, Clone, PartialEq)]
pub struct ShaperConfig {
    /// The shape to impose on the device's egress.
    pub shape: LinkShape,
    /// The back end asked for.
    pub backend: BackendChoice,
    /// The egress device, e.g. [`DEFAULT_DEV`].
    pub dev: String,
}

impl ShaperConfig {
    /// The `labshaper` flags that carry this configuration: delay and jitter in whole
    /// microseconds (so ±2.5 ms stays ±2.5 ms), `--rate-kbit` only for a limited rate.
    pub fn to_args(&self) -> Vec<String> {
        let shape = &self.shape;
        let mut args = vec![
            "--dev".to_string(),
            self.dev.clone(),
            "--delay-us".into(),
            shape.delay_us().to_string(),
            "--jitter-us".into(),
            shape.jitter_us().to_string(),
            "--loss".into(),
            shape.loss.to_string(),
            "--backend".into(),
            self.backend.name().to_string(),
        ];
        if let Some(rate) = shape.rate_kbit {
            args.extend(["--rate-kbit".to_string(), rate.to_string()]);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn backend_names_read_back() {
        for b in BackendChoice::ALL {
            assert_eq!(b.name().parse::<BackendChoice>(), Ok(b));
            assert_eq!(b.to_string(), b.name());
        }
        assert_eq!(
            "tc".parse::<BackendChoice>(),
            Err(UnknownBackend("tc".into()))
        );
    }

    #[test]
    fn args_carry_the_shape_in_microseconds() {
        let cfg = ShaperConfig {
            shape: LinkShape {
                delay: Duration::from_millis(25),
                jitter: Duration::from_micros(2500),
                loss: 0.01,
                rate_kbit: Some(10_000),
            },
            backend: BackendChoice::Userspace,
            dev: DEFAULT_DEV.into(),
        };
        assert_eq!(
            cfg.to_args(),
            [
                "--dev",
                "eth0",
                "--delay-us",
                "25000",
                "--jitter-us",
                "2500",
                "--loss",
                "0.01",
                "--backend",
                "userspace",
                "--rate-kbit",
                "10000"
            ]
        );
        let unlimited = ShaperConfig {
            shape: LinkShape::none(),
            ..cfg
        };
        assert!(!unlimited.to_args().iter().any(|a| a == "--rate-kbit"));
        assert_eq!(unlimited.to_args()[7], "0");
    }
}
