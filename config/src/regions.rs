//! Regions: a latency matrix that gives the one-way link (delay, jitter, loss) from every
//! region to every region, itself included, and the addresses of the senders in each
//! region. The orchestrator reads a matrix from `netem/matrix/<name>.toml` (its own
//! located checks), places every node in a region, and hands `labshaper host` a
//! [`SourceRegions`] in real time; the shaper delays each packet a node receives by the
//! link from the sender's region to the node's.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::link::LinkShape;
use crate::time_scale::TimeScale;

/// Most regions a matrix may name.
pub const MAX_REGIONS: usize = 32;

/// The one-way link between every ordered pair of regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionMatrix {
    /// Region names; a region's index is its position here.
    pub regions: Vec<String>,
    /// `links[from][to]`: the link a packet from a sender in `from` to a receiver in `to`
    /// crosses (no rate limit). Square, one row and one column per region.
    pub links: Vec<Vec<LinkShape>>,
}

impl RegionMatrix {
    /// The index of region `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r == name)
    }

    /// The link from region `from` to region `to`; `None` for an index out of range.
    pub fn link(&self, from: usize, to: usize) -> Option<&LinkShape> {
        self.links.get(from)?.get(to)
    }

    /// The matrix in real time on a testnet dilated by `k` (every link [`LinkShape::dilated`]).
    pub fn dilated(&self, k: TimeScale) -> RegionMatrix {
        RegionMatrix {
            regions: self.regions.clone(),
            links: self
                .links
                .iter()
                .map(|row| row.iter().map(|l| l.dilated(k)).collect())
                .collect(),
        }
    }

    /// What is wrong with the matrix's shape (not square, too many regions, a duplicate
    /// name, a link that breaks [`LinkShape::check`] or limits the rate), one line each.
    pub fn problems(&self) -> Vec<String> {
        let n = self.regions.len();
        let mut problems = Vec::new();
        if n == 0 || n > MAX_REGIONS {
            problems.push(format!("names {n} regions; 1..={MAX_REGIONS} are allowed"));
        }
        for (i, name) in self.regions.iter().enumerate() {
            if self.regions[..i].contains(name) {
                problems.push(format!("names region `{name}` twice"));
            }
        }
        if self.links.len() != n || self.links.iter().any(|row| row.len() != n) {
            problems.push(format!("links must be {n} rows of {n} links"));
        }
        for (from, row) in self.links.iter().enumerate() {
            for (to, link) in row.iter().enumerate() {
                if !link.check().is_empty() || link.rate_kbit.is_some() {
                    problems.push(format!(
                        "link {from} -> {to} is out of range or limits the rate: {link:?}"
                    ));
                }
            }
        }
        problems
    }
}

/// What `labshaper host --regions FILE` reads: the matrix in real time and, per region, the
/// addresses packets from its senders carry (a node's own, or its NAT's public address).
/// A packet from an address in none of them crosses the receiver's own in-region link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRegions {
    /// The links, already dilated to real time.
    pub matrix: RegionMatrix,
    /// `senders[r]`: the source addresses of region `r`'s senders.
    pub senders: Vec<Vec<Ipv4Addr>>,
}

impl SourceRegions {
    /// Parses the TOML `labshaper` is given; the error reads after "failed to".
    pub fn from_toml(text: &str) -> Result<SourceRegions, String> {
        let regions: SourceRegions =
            toml::from_str(text).map_err(|e| format!("parse the regions file: {e}"))?;
        let mut problems = regions.matrix.problems();
        if regions.senders.len() != regions.matrix.regions.len() {
            problems.push(format!(
                "senders must list one region per matrix region ({}), got {}",
                regions.matrix.regions.len(),
                regions.senders.len()
            ));
        }
        if problems.is_empty() {
            Ok(regions)
        } else {
            Err(format!("accept the regions file: {}", problems.join("; ")))
        }
    }

    /// The TOML text [`Self::from_toml`] reads.
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| format!("write the regions file: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn two() -> RegionMatrix {
        let l = |ms: u64| LinkShape::from_micros(ms * 1000, ms * 50, 0.0);
        RegionMatrix {
            regions: vec!["eu".into(), "us".into()],
            links: vec![vec![l(5), l(40)], vec![l(40), l(5)]],
        }
    }

    #[test]
    fn links_are_found_by_region_and_dilated() {
        let m = two();
        assert_eq!(m.index("us"), Some(1));
        assert_eq!(m.index("asia"), None);
        assert_eq!(
            m.link(0, 1).map(|l| l.delay),
            Some(Duration::from_millis(40))
        );
        assert_eq!(m.link(2, 0), None);
        let k = TimeScale::new(4.0).expect("k");
        assert_eq!(
            m.dilated(k).link(1, 0).map(|l| l.delay),
            Some(Duration::from_millis(160))
        );
        assert!(m.problems().is_empty(), "{:?}", m.problems());
    }

    #[test]
    fn a_bad_matrix_says_what_is_wrong() {
        let mut m = two();
        m.regions[1] = "eu".into();
        m.links[1].pop();
        m.links[0][0].loss = 2.0;
        let p = m.problems();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("`eu` twice"), "{p:?}");
        assert!(p[1].contains("2 rows of 2"), "{p:?}");
        assert!(p[2].starts_with("link 0 -> 0"), "{p:?}");
    }

    #[test]
    fn the_shapers_file_reads_back_and_is_checked() {
        let regions = SourceRegions {
            matrix: two(),
            senders: vec![vec![Ipv4Addr::new(10, 0, 0, 2)], vec![]],
        };
        let text = regions.to_toml().expect("toml");
        assert_eq!(SourceRegions::from_toml(&text), Ok(regions.clone()));
        let short = SourceRegions {
            senders: vec![],
            ..regions
        };
        let e = SourceRegions::from_toml(&short.to_toml().expect("toml")).expect_err("short");
        assert!(e.contains("one region per matrix region (2), got 0"), "{e}");
        assert!(
            SourceRegions::from_toml("x = 1")
                .expect_err("junk")
                .starts_with("parse the regions file")
        );
    }
}
