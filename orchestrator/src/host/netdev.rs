//! A container's bytes on the wire from its network namespace's interface counters,
//! read through its main process (`/proc/<pid>/net/dev` shows the counters of the
//! namespace the process is in). Every interface but loopback counts: what the node sent
//! and received over its links, every protocol and header included. The kernel counts
//! bytes exactly: these figures are not sampled.

/// One reading of a namespace's interface counters, summed over its interfaces but `lo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetBytes {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
}

impl NetBytes {
    /// The counters of process `pid`'s network namespace, or `None` when its
    /// `/proc/<pid>/net/dev` cannot be read or parsed.
    pub fn of_pid(pid: u32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
        Self::parse(&text)
    }

    /// The sum over the interfaces of `/proc/net/dev` text but `lo`; `None` when a
    /// counter line does not parse (two heading lines, then `name: rx_bytes rx_packets …
    /// (8 receive columns) tx_bytes …`).
    fn parse(text: &str) -> Option<Self> {
        let mut sum = NetBytes::default();
        for line in text.lines().skip(2) {
            let (name, counters) = line.split_once(':')?;
            if name.trim() == "lo" {
                continue;
            }
            let cols: Vec<u64> = counters
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let (rx, tx) = (cols.first()?, cols.get(8)?);
            sum.rx_bytes = sum.rx_bytes.saturating_add(*rx);
            sum.tx_bytes = sum.tx_bytes.saturating_add(*tx);
        }
        Some(sum)
    }

    /// What was counted between `self` (earlier) and `later`; `None` when a counter went
    /// back (the interface was replaced).
    pub fn until(self, later: NetBytes) -> Option<NetBytes> {
        Some(NetBytes {
            rx_bytes: later.rx_bytes.checked_sub(self.rx_bytes)?,
            tx_bytes: later.tx_bytes.checked_sub(self.tx_bytes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
  eth0: 1000 20 0 0 0 0 0 3 2000 30 0 0 0 0 0 0
  eth1:   500       5    0    0    0     0          0         0      700       7    0    0    0     0       0          0
";

    #[test]
    fn every_interface_but_loopback_is_summed() {
        let n = NetBytes::parse(DEV).expect("parses");
        assert_eq!(
            n,
            NetBytes {
                rx_bytes: 1500,
                tx_bytes: 2700
            }
        );
    }

    #[test]
    fn a_short_or_garbled_line_is_no_reading() {
        assert_eq!(NetBytes::parse("h1\nh2\neth0: 1 2 3\n"), None);
        assert_eq!(NetBytes::parse("h1\nh2\neth0: 1 x 3 4 5 6 7 8 9\n"), None);
        assert_eq!(NetBytes::parse("h1\nh2\nno colon here\n"), None);
        assert_eq!(NetBytes::parse("h1\nh2\n"), Some(NetBytes::default()));
    }

    #[test]
    fn a_counter_that_went_back_is_no_difference() {
        let a = NetBytes {
            rx_bytes: 10,
            tx_bytes: 20,
        };
        let b = NetBytes {
            rx_bytes: 15,
            tx_bytes: 26,
        };
        assert_eq!(
            a.until(b),
            Some(NetBytes {
                rx_bytes: 5,
                tx_bytes: 6
            })
        );
        assert_eq!(b.until(a), None);
    }

    #[test]
    fn this_process_has_a_namespace_reading() {
        assert!(NetBytes::of_pid(std::process::id()).is_some());
    }
}
