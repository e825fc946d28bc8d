//! Per-source links: on a testnet placed in regions, the delay (and loss) a packet gets
//! depends on where it comes from. Each namespace's delay line knows its own region's
//! column of the matrix (the link from every region to it) and the shared table of which
//! region each source address is in; it reads the source from the first bytes of the IP
//! header the queue copies with each packet ([`crate::netlink`]). A packet from an address
//! in no region (the bridge's gateway, a probe) crosses the receiver's in-region link.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use lab_config::{LinkShape, SourceRegions};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::scheduler::JitterSampler;

/// Which region every known source address is in, shared by every namespace.
pub type SourceTable = Arc<HashMap<Ipv4Addr, usize>>;

/// The table of `regions`' senders.
pub fn source_table(regions: &SourceRegions) -> SourceTable {
    let mut table = HashMap::new();
    for (region, addresses) in regions.senders.iter().enumerate() {
        for &address in addresses {
            table.insert(address, region);
        }
    }
    Arc::new(table)
}

/// What one namespace in region `own` needs: the table and the links into it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionLinks {
    /// Which region each source is in.
    pub table: SourceTable,
    /// `into[r]`: the link from region `r` to this namespace's region.
    pub into: Vec<LinkShape>,
    /// This namespace's region.
    pub own: usize,
}

impl RegionLinks {
    /// The links into region `own` of `regions` (`None` if there is no such region).
    pub fn new(regions: &SourceRegions, table: SourceTable, own: usize) -> Option<Self> {
        let into = (0..regions.matrix.regions.len())
            .map(|from| regions.matrix.link(from, own).cloned())
            .collect::<Option<Vec<_>>>()?;
        into.get(own)?;
        Some(Self { table, into, own })
    }

    /// The link packets from unknown sources cross: the in-region one.
    pub fn own_link(&self) -> &LinkShape {
        &self.into[self.own]
    }

    /// The shortest delay of any link into the region (its release granularity's base).
    pub fn shortest_delay(&self) -> Duration {
        self.into.iter().map(|l| l.delay).min().unwrap_or_default()
    }
}

/// Draws each packet's fate from its source's link: a delay, or `None` (dropped).
#[derive(Debug, Clone)]
pub struct SourceSampler {
    table: SourceTable,
    own: usize,
    samplers: Vec<JitterSampler>,
    loss: Vec<f64>,
    rng: SmallRng,
}

impl SourceSampler {
    /// A sampler for `links`, seeded with `seed`.
    pub fn new(links: &RegionLinks, seed: u64) -> Self {
        Self {
            table: links.table.clone(),
            own: links.own,
            samplers: links
                .into
                .iter()
                .enumerate()
                .map(|(r, l)| JitterSampler::new(l.delay, l.jitter, seed.wrapping_add(r as u64)))
                .collect(),
            loss: links.into.iter().map(|l| l.loss).collect(),
            rng: SmallRng::seed_from_u64(seed.rotate_left(32)),
        }
    }

    /// The region of `source` (the own region when unknown or absent).
    pub fn region(&self, source: Option<Ipv4Addr>) -> usize {
        source
            .and_then(|s| self.table.get(&s).copied())
            .unwrap_or(self.own)
    }

    /// The delay of a packet from `source`, or `None` when its link drops it.
    pub fn sample(&mut self, source: Option<Ipv4Addr>) -> Option<Duration> {
        let r = self.region(source);
        let loss = self.loss[r];
        if loss > 0.0 && self.rng.random_bool(loss.min(1.0)) {
            return None;
        }
        Some(self.samplers[r].sample())
    }

    /// The shortest delay any source can draw.
    pub fn min_delay(&self) -> Duration {
        self.samplers
            .iter()
            .map(JitterSampler::min_delay)
            .min()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use lab_config::RegionMatrix;

    use super::*;

    fn regions() -> SourceRegions {
        let l = |ms: u64, loss| LinkShape::from_micros(ms * 1000, 0, loss);
        SourceRegions {
            matrix: RegionMatrix {
                regions: vec!["eu".into(), "us".into(), "asia".into()],
                // from eu / us / asia (rows) to eu / us / asia (columns)
                links: vec![
                    vec![l(5, 0.0), l(40, 0.0), l(100, 0.0)],
                    vec![l(41, 0.0), l(6, 0.0), l(80, 1.0)],
                    vec![l(101, 0.0), l(81, 0.0), l(7, 0.0)],
                ],
            },
            senders: vec![
                vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)],
                vec![Ipv4Addr::new(10, 0, 1, 2)],
                vec![Ipv4Addr::new(10, 0, 2, 2)],
            ],
        }
    }

    #[test]
    fn each_packet_crosses_the_link_from_its_senders_region() {
        let regions = regions();
        let table = source_table(&regions);
        let Some(into_us) = RegionLinks::new(&regions, table.clone(), 1) else {
            panic!("us is a region");
        };
        let mut s = SourceSampler::new(&into_us, 1);
        let ms = Duration::from_millis;
        assert_eq!(s.sample(Some(Ipv4Addr::new(10, 0, 0, 3))), Some(ms(40)));
        assert_eq!(s.sample(Some(Ipv4Addr::new(10, 0, 1, 2))), Some(ms(6)));
        assert_eq!(s.sample(Some(Ipv4Addr::new(10, 0, 2, 2))), Some(ms(81)));
        // Unknown or unread sources cross the in-region link.
        assert_eq!(s.sample(Some(Ipv4Addr::new(10, 0, 0, 1))), Some(ms(6)));
        assert_eq!(s.sample(None), Some(ms(6)));
        assert_eq!(s.min_delay(), ms(6));
        assert_eq!(into_us.own_link().delay, ms(6));
    }

    #[test]
    fn a_lossy_link_drops_only_its_own_packets() {
        let regions = regions();
        let Some(into_asia) = RegionLinks::new(&regions, source_table(&regions), 2) else {
            panic!("asia is a region");
        };
        let mut s = SourceSampler::new(&into_asia, 7);
        // us -> asia loses everything; eu -> asia nothing.
        assert_eq!(s.sample(Some(Ipv4Addr::new(10, 0, 1, 2))), None);
        assert_eq!(
            s.sample(Some(Ipv4Addr::new(10, 0, 0, 2))),
            Some(Duration::from_millis(100))
        );
        assert!(RegionLinks::new(&regions, source_table(&regions), 3).is_none());
    }
}
