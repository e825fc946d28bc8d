//! TCP congestion control inside node containers.
//!
//! Nodes use `cubic`, Linux's default, whatever the host's default is, so that figures do
//! not depend on the host: a network namespace starts with the host's choice, and ours
//! default to BBR, whose pacing spreads an 8 KB message over ~10 ms on a 50 ms link
//! (one-way 61 ms against 50.5 ms with cubic, measured between two namespaces).
//!
//! A namespace may only select an algorithm in the host's
//! `net.ipv4.tcp_allowed_congestion_control` (a host-wide list; root may extend it), and
//! our machines differ there: one allowed `cubic`, the next only `reno bbr`, and a
//! container asking for cubic then fails to start. So the run decides per host
//! ([`decide`]): use cubic where allowed; else add it to the allowed list when it is
//! available (root; said on the terminal and left so, like the neighbour table); else run
//! on the host's default and record that in the result.

use super::sysctl;

/// The algorithm nodes should use.
pub const WANTED: &str = "cubic";

const AVAILABLE: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";
const ALLOWED: &str = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";
const DEFAULT: &str = "/proc/sys/net/ipv4/tcp_congestion_control";

/// The host's congestion-control settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCongestion {
    /// Algorithms the kernel has (built in or loaded).
    pub available: Vec<String>,
    /// Algorithms a network namespace may select.
    pub allowed: Vec<String>,
    /// The host's default, which a new namespace inherits.
    pub default: String,
}

impl HostCongestion {
    /// Reads the host's settings.
    pub fn read() -> Result<Self, String> {
        let words = |p| -> Result<Vec<String>, String> {
            Ok(sysctl::read(p)?
                .split_whitespace()
                .map(str::to_string)
                .collect())
        };
        Ok(HostCongestion {
            available: words(AVAILABLE)?,
            allowed: words(ALLOWED)?,
            default: sysctl::read(DEFAULT)?,
        })
    }
}

/// What a run does about congestion control on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `wanted` is allowed: containers select it.
    Use(String),
    /// `wanted` is available but not allowed: extend the allowed list to this, then
    /// containers select it.
    Allow {
        /// The algorithm.
        algorithm: String,
        /// The new allowed list.
        list: String,
    },
    /// `wanted` is not available: containers keep the host's default.
    HostDefault,
}

/// Decides for `wanted` on a host with these settings.
pub fn decide(host: &HostCongestion, wanted: &str) -> Decision {
    if host.allowed.iter().any(|a| a == wanted) || host.default == wanted {
        Decision::Use(wanted.to_string())
    } else if host.available.iter().any(|a| a == wanted) {
        let mut list = host.allowed.clone();
        list.push(wanted.to_string());
        Decision::Allow {
            algorithm: wanted.to_string(),
            list: list.join(" "),
        }
    } else {
        Decision::HostDefault
    }
}

/// What the run's node containers use, and what was done to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Congestion {
    /// The sysctl value containers set, or `None` to keep the host's default.
    pub sysctl: Option<String>,
    /// The algorithm in force in the nodes (recorded in the result).
    pub in_force: String,
    /// A line for the terminal when the host was changed or the wanted algorithm could
    /// not be had.
    pub note: Option<String>,
}

/// Makes [`WANTED`] usable in containers when it can, else falls back to the host default.
pub fn ensure() -> Result<Congestion, String> {
    let host = HostCongestion::read()?;
    Ok(match decide(&host, WANTED) {
        Decision::Use(a) => Congestion {
            sysctl: Some(a.clone()),
            in_force: a,
            note: None,
        },
        Decision::Allow { algorithm, list } => match sysctl::write(ALLOWED, &list) {
            Ok(()) => Congestion {
                sysctl: Some(algorithm.clone()),
                in_force: algorithm,
                note: Some(format!(
                    "allowed {WANTED} in network namespaces (net.ipv4.tcp_allowed_congestion_control: `{}` -> `{list}`)",
                    host.allowed.join(" ")
                )),
            },
            Err(e) => fallback(&host, &format!("it is not allowed and could not be ({e})")),
        },
        Decision::HostDefault => fallback(&host, "the kernel does not have it"),
    })
}

/// What running on `algorithm` instead of cubic is known to cost, as a clause for a
/// message (empty where we have not measured it).
pub fn cost_of(algorithm: &str) -> &'static str {
    if algorithm == "bbr" {
        " (BBR's pacing adds ~10 ms to an 8 KB message on a 50 ms link)"
    } else {
        ""
    }
}

fn fallback(host: &HostCongestion, why: &str) -> Congestion {
    Congestion {
        sysctl: None,
        in_force: host.default.clone(),
        note: Some(format!(
            "warning: nodes use the host's TCP congestion control `{}`, not {WANTED}: {why}{}",
            host.default,
            cost_of(&host.default)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(available: &str, allowed: &str, default: &str) -> HostCongestion {
        let w = |s: &str| s.split_whitespace().map(str::to_string).collect();
        HostCongestion {
            available: w(available),
            allowed: w(allowed),
            default: default.to_string(),
        }
    }

    #[test]
    fn an_allowed_algorithm_is_used() {
        let h = host("reno bbr cubic", "reno cubic", "bbr");
        assert_eq!(decide(&h, "cubic"), Decision::Use("cubic".into()));
    }

    #[test]
    fn an_available_but_not_allowed_algorithm_is_allowed_first() {
        // The machine that broke the README's first command.
        let h = host("reno bbr cubic", "reno bbr", "bbr");
        assert_eq!(
            decide(&h, "cubic"),
            Decision::Allow {
                algorithm: "cubic".into(),
                list: "reno bbr cubic".into()
            }
        );
    }

    #[test]
    fn a_missing_algorithm_falls_back_to_the_host_default() {
        let h = host("reno bbr", "reno bbr", "bbr");
        assert_eq!(decide(&h, "cubic"), Decision::HostDefault);
        let c = fallback(&h, "the kernel does not have it");
        assert_eq!(c.sysctl, None);
        assert_eq!(c.in_force, "bbr");
        assert!(c.note.is_some_and(|n| n.contains("not cubic")));
    }

    #[test]
    fn the_hosts_own_default_needs_no_allowing() {
        let h = host("reno cubic", "reno", "cubic");
        assert_eq!(decide(&h, "cubic"), Decision::Use("cubic".into()));
    }
}
