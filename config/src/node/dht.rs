//! The `[dht]` table: Kademlia queries the node runs on a schedule of its own, so that a
//! lab measures lookup latency and success (spec §7.4: < 500 ms). Everything is off by
//! default.

use serde::{Deserialize, Serialize};

use super::checks::Checker;
use crate::Problem;
use crate::doc::FieldPath;

/// The most queries of one kind a node runs a minute (ten a second).
pub const MAX_DHT_PER_MIN: f64 = 600.0;
/// The fewest, short of off (one an hour).
pub const MIN_DHT_PER_MIN: f64 = 1.0 / 60.0;

/// The `[dht]` table: query rates in (virtual) queries a minute, 0 for off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DhtConfig {
    /// `get_closest_peers` lookups of random keys a minute.
    pub lookups_per_min: f64,
    /// Provider records put a minute (`start_providing` of a fresh key), each followed by
    /// a `get_providers` lookup of a key a peer provided earlier.
    pub provides_per_min: f64,
}

impl DhtConfig {
    /// Whether any query is scheduled.
    pub fn is_on(&self) -> bool {
        self.lookups_per_min > 0.0 || self.provides_per_min > 0.0
    }

    /// Whether no query is scheduled (the table is then left out when written).
    pub fn is_off(&self) -> bool {
        !self.is_on()
    }

    /// The rates in real time under time scale `k` (divided by k).
    pub(super) fn dilated(&self, k: crate::TimeScale) -> DhtConfig {
        DhtConfig {
            lookups_per_min: k.real_rate(self.lookups_per_min),
            provides_per_min: k.real_rate(self.provides_per_min),
        }
    }

    /// Each rate 0 (off) or within [`MIN_DHT_PER_MIN`]..=[`MAX_DHT_PER_MIN`].
    pub fn check(&self) -> Vec<Problem> {
        let mut c = Checker::new(FieldPath::default());
        for (field, v) in [
            ("lookups_per_min", self.lookups_per_min),
            ("provides_per_min", self.provides_per_min),
        ] {
            if v != 0.0 {
                c.within_f(field, v, MIN_DHT_PER_MIN, MAX_DHT_PER_MIN);
            }
        }
        c.problems
    }
}
