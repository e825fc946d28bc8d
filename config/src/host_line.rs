//! The lines the orchestrator writes to `labshaper host --stdin`, one definition for the
//! writer and the reader:
//!
//! - `PID` or `PID REGION`: shape the network namespace of process `PID` (in `REGION` when
//!   the run is placed in regions);
//! - `set PID ADDR DELAY_US JITTER_US LOSS`: from now on the node of process `PID`, whose
//!   address is `ADDR`, has this link both ways: every packet it receives, and every packet
//!   any shaped namespace receives from `ADDR`, is delayed `DELAY_US` ± `JITTER_US`
//!   microseconds and dropped with probability `LOSS` (a timeline's link change);
//! - `reset PID ADDR`: that node's links are the run's again;
//! - `clock`: print the host's wall clock at once (the orchestrator's clock probe).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::time::Duration;

use crate::link::{LinkProblem, LinkShape};

/// One line of the shaper's standard input.
#[derive(Debug, Clone, PartialEq)]
pub enum HostLine {
    /// Shape the namespace of `pid` (in `region`, with regions).
    Shape {
        /// The node's process as the host sees it.
        pid: u32,
        /// Its region, when the run is placed in regions.
        region: Option<String>,
    },
    /// The node of `pid` at `addr` has the link `shape` both ways, until reset.
    Set {
        /// The node's process.
        pid: u32,
        /// The node's address (packets from it are shaped wherever they arrive).
        addr: Ipv4Addr,
        /// Its link from now on (rate is not changed at run time and must be `None`).
        shape: LinkShape,
    },
    /// Print the host's wall clock now.
    Clock,
    /// The node of `pid` at `addr` has the run's links again.
    Reset {
        /// The node's process.
        pid: u32,
        /// The node's address.
        addr: Ipv4Addr,
    },
}

/// Why a stdin line is not a [`HostLine`]. Messages read after "failed to read the line: ".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HostLineError {
    /// The words do not form any of the three lines.
    #[error(
        "expected `PID [REGION]`, `set PID ADDR DELAY_US JITTER_US LOSS`, `reset PID ADDR` or `clock`"
    )]
    Form,
    /// A number or address that does not parse.
    #[error("`{0}` is not a valid {1}")]
    Value(String, &'static str),
    /// A `set` shape that breaks the link rules.
    #[error("the shape breaks a link rule: {0:?}")]
    Shape(LinkProblem),
}

impl fmt::Display for HostLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostLine::Shape { pid, region: None } => write!(f, "{pid}"),
            HostLine::Shape {
                pid,
                region: Some(r),
            } => write!(f, "{pid} {r}"),
            HostLine::Set { pid, addr, shape } => write!(
                f,
                "set {pid} {addr} {} {} {}",
                shape.delay_us(),
                shape.jitter_us(),
                shape.loss
            ),
            HostLine::Reset { pid, addr } => write!(f, "reset {pid} {addr}"),
            HostLine::Clock => write!(f, "clock"),
        }
    }
}

fn value<T: FromStr>(word: &str, what: &'static str) -> Result<T, HostLineError> {
    word.parse()
        .map_err(|_| HostLineError::Value(word.to_owned(), what))
}

impl FromStr for HostLine {
    type Err = HostLineError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["clock"] => Ok(HostLine::Clock),
            [pid] => Ok(HostLine::Shape {
                pid: value(pid, "pid")?,
                region: None,
            }),
            ["set", pid, addr, delay, jitter, loss] => {
                let shape = LinkShape {
                    delay: Duration::from_micros(value(delay, "delay in microseconds")?),
                    jitter: Duration::from_micros(value(jitter, "jitter in microseconds")?),
                    loss: value(loss, "loss probability")?,
                    rate_kbit: None,
                };
                if let Some(&problem) = shape.check().first() {
                    return Err(HostLineError::Shape(problem));
                }
                Ok(HostLine::Set {
                    pid: value(pid, "pid")?,
                    addr: value(addr, "IPv4 address")?,
                    shape,
                })
            }
            ["reset", pid, addr] => Ok(HostLine::Reset {
                pid: value(pid, "pid")?,
                addr: value(addr, "IPv4 address")?,
            }),
            [pid, region] if !matches!(*pid, "set" | "reset") => Ok(HostLine::Shape {
                pid: value(pid, "pid")?,
                region: Some((*region).to_owned()),
            }),
            _ => Err(HostLineError::Form),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_reads_back_as_written() {
        let addr = Ipv4Addr::new(10, 77, 0, 9);
        for line in [
            HostLine::Shape {
                pid: 42,
                region: None,
            },
            HostLine::Shape {
                pid: 42,
                region: Some("eu-west".into()),
            },
            HostLine::Set {
                pid: 7,
                addr,
                shape: LinkShape::from_micros(125_000, 2_500, 0.2),
            },
            HostLine::Reset { pid: 7, addr },
            HostLine::Clock,
        ] {
            let text = line.to_string();
            assert_eq!(text.parse::<HostLine>(), Ok(line), "{text}");
        }
        assert_eq!(
            HostLine::Set {
                pid: 7,
                addr,
                shape: LinkShape::from_micros(125_000, 0, 0.2),
            }
            .to_string(),
            "set 7 10.77.0.9 125000 0 0.2"
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, want) in [
            ("x", HostLineError::Value("x".into(), "pid")),
            ("-1 eu", HostLineError::Value("-1".into(), "pid")),
            ("42 eu us", HostLineError::Form),
            ("set 7 10.0.0.1 5", HostLineError::Form),
            ("reset 7", HostLineError::Form),
            (
                "set 7 10.0.0.300 5 0 0",
                HostLineError::Value("10.0.0.300".into(), "IPv4 address"),
            ),
            (
                "set 7 10.0.0.1 5 9 0",
                HostLineError::Shape(LinkProblem::JitterAboveDelay {
                    jitter: Duration::from_micros(9),
                    delay: Duration::from_micros(5),
                }),
            ),
            (
                "set 7 10.0.0.1 5 0 1.5",
                HostLineError::Shape(LinkProblem::LossNotAProbability(1.5)),
            ),
            (
                "set 7 10.0.0.1 5 0 NaN",
                HostLineError::Shape(LinkProblem::LossNotAProbability(f64::NAN)),
            ),
        ] {
            let got = line.parse::<HostLine>();
            match (&got, &want) {
                (
                    Err(HostLineError::Shape(LinkProblem::LossNotAProbability(a))),
                    HostLineError::Shape(LinkProblem::LossNotAProbability(b)),
                ) if a.is_nan() && b.is_nan() => {}
                _ => assert_eq!(got, Err(want), "{line}"),
            }
        }
    }
}
