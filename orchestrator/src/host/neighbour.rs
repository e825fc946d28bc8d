//! The kernel's neighbour (ARP) table, which every container namespace on the host shares
//! and which a large testnet overflows.

use super::sysctl;

/// The kernel's IPv4 neighbour (ARP) table thresholds; every container namespace on the
/// host shares them.
const GC_THRESH: [&str; 3] = [
    "/proc/sys/net/ipv4/neigh/default/gc_thresh1",
    "/proc/sys/net/ipv4/neigh/default/gc_thresh2",
    "/proc/sys/net/ipv4/neigh/default/gc_thresh3",
];

/// Neighbour entries a testnet of `nodes` needs at most: every node may talk to every
/// other node, up to its connection limit (spec §4.4: 100), plus slack.
pub fn neighbour_entries_needed(nodes: usize) -> u64 {
    (nodes as u64) * (nodes.min(100) as u64) + 1024
}

/// Raises gc_thresh1/2/3 so that `needed` entries fit (1/4, 1/2 and all of it); never
/// lowers them. Returns a line saying what changed, if anything. At 100 nodes the default
/// 1024 overflows ("neighbor table overflow"), ARP fails and most nodes never connect.
pub fn ensure_neighbour_table(needed: u64) -> Result<Option<String>, String> {
    let read = sysctl::read_u64;
    let current = read(GC_THRESH[2])?;
    if current >= needed {
        return Ok(None);
    }
    let wanted = [needed / 4, needed / 2, needed];
    // Raise the top first so that thresh1 <= thresh2 <= thresh3 holds at every step.
    for (path, value) in GC_THRESH.iter().zip(wanted).rev() {
        if read(path)? < value {
            std::fs::write(path, value.to_string()).map_err(|e| {
                format!(
                    "raise {path} to {value} ({e}); a testnet this size overflows the neighbour table: run as root, or raise it with sysctl"
                )
            })?;
        }
    }
    Ok(Some(format!(
        "raised the host's neighbour table (net.ipv4.neigh.default.gc_thresh3) from {current} to {needed} entries"
    )))
}

/// The current gc_thresh3 (the table's hard limit).
pub fn table_limit() -> Result<u64, String> {
    sysctl::read_u64(GC_THRESH[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hundred_nodes_need_more_than_the_default_table() {
        assert!(neighbour_entries_needed(100) > 1024);
        assert!(neighbour_entries_needed(10) <= 1124);
    }
}
