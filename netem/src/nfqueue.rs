//! The user-space delay line: packets handed over by the kernel's NFQUEUE target are held
//! in a [`DelayQueue`] and accepted when their release time comes.
//!
//! One thread, one `ppoll` over the queue's netlink socket and the termination signalfd,
//! with the time to the next release as its timeout: no busy loop, no CPU when idle.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Instant;

use lab_events::shaper::DelayStats;
use nfq::{Message, Queue, Verdict};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::prctl::set_timerslack;
use nix::sys::time::TimeSpec;

use crate::error::ShaperError;
use crate::scheduler::{DelayQueue, JitterSampler};
use crate::signals::{Termination, readable};

/// `NETLINK_NETFILTER`, the protocol column of `/proc/self/net/netlink` for nfq's socket.
const NETLINK_NETFILTER: u32 = 12;
/// Most packets taken from the socket before due packets are released again.
const RECEIVE_BATCH: usize = 256;
/// Timer slack of the delay loop: the kernel may fire the `ppoll` timeout this late (the
/// default is 50 us, a visible share of a sub-millisecond error budget).
const TIMER_SLACK_NS: u64 = 1_000;

/// An nfq [`Queue`] bound to one queue number, together with the descriptor of its
/// netlink socket (which nfq keeps private) so that it can be polled with a timeout.
pub struct QueueSocket {
    queue: Queue,
    number: u16,
    fd: RawFd,
}

impl QueueSocket {
    /// Opens the netlink socket and binds queue `number`, asking for packet metadata only
    /// (the payload is never needed to delay a packet), whole GSO packets, and at most
    /// `max_len` packets waiting for a verdict (the kernel drops beyond that, like a full
    /// device queue).
    pub fn open(number: u16, max_len: u32) -> Result<Self, ShaperError> {
        let nfq_err = |operation| {
            move |source| ShaperError::Nfqueue {
                operation,
                queue: number,
                source,
            }
        };
        let mut queue = Queue::open().map_err(nfq_err("open the netlink socket"))?;
        let fd = find_netfilter_socket()?;
        queue.bind(number).map_err(nfq_err("bind"))?;
        queue
            .set_copy_range(number, 0)
            .map_err(nfq_err("set the copy range"))?;
        queue
            .set_recv_gso(number, true)
            .map_err(nfq_err("accept gso packets"))?;
        queue
            .set_queue_max_len(number, max_len)
            .map_err(nfq_err("set the queue length"))?;
        queue.set_nonblocking(true);
        Ok(Self { queue, number, fd })
    }

    /// The netlink socket, borrowed for as long as this queue lives.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `self.fd` is the netlink socket opened by `Queue::open` and owned by
        // `self.queue` (found by inode in `find_netfilter_socket`, which insists on exactly
        // one such socket in this process). nfq closes it only when the `Queue` is dropped,
        // and the returned borrow cannot outlive `self`, hence not `self.queue`.
        #[allow(unsafe_code)]
        unsafe {
            BorrowedFd::borrow_raw(self.fd)
        }
    }

    /// Unbinds the queue number; the socket closes when this is dropped.
    pub fn unbind(mut self) -> Result<(), ShaperError> {
        self.queue
            .unbind(self.number)
            .map_err(|source| ShaperError::Nfqueue {
                operation: "unbind",
                queue: self.number,
                source,
            })
    }

    fn recv(&mut self) -> Result<Option<Message>, ShaperError> {
        match self.queue.recv() {
            Ok(msg) => Ok(Some(msg)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(source) => Err(ShaperError::Nfqueue {
                operation: "receive a packet",
                queue: self.number,
                source,
            }),
        }
    }

    fn accept(&mut self, mut msg: Message) -> Result<(), ShaperError> {
        msg.set_verdict(Verdict::Accept);
        self.queue
            .verdict(msg)
            .map_err(|source| ShaperError::Nfqueue {
                operation: "accept a packet",
                queue: self.number,
                source,
            })
    }
}

/// Finds the one `NETLINK_NETFILTER` socket among this process's descriptors that lives in
/// the calling thread's network namespace (`labshaper host` runs one queue per namespace,
/// each opened by its own thread, so the process holds many, one per namespace).
fn find_netfilter_socket() -> Result<RawFd, ShaperError> {
    let table = fs::read_to_string("/proc/thread-self/net/netlink").map_err(|e| {
        ShaperError::QueueSocket(format!("read /proc/thread-self/net/netlink: {e}"))
    })?;
    let inodes = netfilter_inodes(&table);
    let dir = fs::read_dir("/proc/self/fd")
        .map_err(|e| ShaperError::QueueSocket(format!("list /proc/self/fd: {e}")))?;
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        let Some(inode) = socket_inode(&target.to_string_lossy()) else {
            continue;
        };
        if !inodes.contains(&inode) {
            continue;
        }
        if let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() {
            found.push(fd);
        }
    }
    match found.as_slice() {
        [fd] => Ok(*fd),
        [] => Err(ShaperError::QueueSocket(
            "no netfilter netlink socket is open".to_owned(),
        )),
        many => Err(ShaperError::QueueSocket(format!(
            "{} netfilter netlink sockets are open in this namespace, expected one",
            many.len()
        ))),
    }
}

/// The inodes of `NETLINK_NETFILTER` sockets in a `/proc/net/netlink` table.
fn netfilter_inodes(table: &str) -> HashSet<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let protocol: u32 = cols.get(1)?.parse().ok()?;
            let inode: u64 = cols.get(9)?.parse().ok()?;
            (protocol == NETLINK_NETFILTER).then_some(inode)
        })
        .collect()
}

/// The inode of a `/proc/self/fd` link target such as `socket:[1234]`.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The delay line: the queue, the held packets and the delay sampler.
pub struct DelayLine {
    socket: QueueSocket,
    held: DelayQueue<Message>,
    sampler: JitterSampler,
    stats: DelayStats,
}

impl DelayLine {
    /// A delay line over an opened queue.
    pub fn new(socket: QueueSocket, sampler: JitterSampler) -> Self {
        Self {
            socket,
            held: DelayQueue::new(),
            sampler,
            stats: DelayStats::default(),
        }
    }

    /// Delays packets until SIGTERM/SIGINT (returns `Ok`) or a queue error.
    pub fn run(&mut self, term: &Termination) -> Result<(), ShaperError> {
        if let Err(e) = set_timerslack(TIMER_SLACK_NS) {
            eprintln!("labshaper: failed to lower the timer slack (continuing): {e}");
        }
        loop {
            let timeout = self
                .held
                .time_to_next(Instant::now())
                .map(TimeSpec::from_duration);
            let (packets, signal) = {
                let mut fds = [
                    PollFd::new(self.socket.as_fd(), PollFlags::POLLIN),
                    PollFd::new(term.as_fd(), PollFlags::POLLIN),
                ];
                match ppoll(&mut fds, timeout, None) {
                    Ok(_) => (readable(&fds[0]), readable(&fds[1])),
                    Err(Errno::EINTR) => (false, false),
                    Err(source) => {
                        return Err(ShaperError::Sys {
                            operation: "poll the nfqueue socket",
                            source,
                        });
                    }
                }
            };
            if signal && term.received()? {
                return Ok(());
            }
            if packets {
                self.receive_batch()?;
            }
            self.release_due()?;
        }
    }

    fn receive_batch(&mut self) -> Result<(), ShaperError> {
        for _ in 0..RECEIVE_BATCH {
            let Some(msg) = self.socket.recv()? else {
                break;
            };
            let release = Instant::now() + self.sampler.sample();
            self.held.push(release, msg);
            self.stats.received += 1;
        }
        self.stats.max_held = self.stats.max_held.max(self.held.len());
        Ok(())
    }

    fn release_due(&mut self) -> Result<(), ShaperError> {
        let now = Instant::now();
        while let Some(msg) = self.held.pop_due(now) {
            self.socket.accept(msg)?;
            self.stats.released += 1;
        }
        Ok(())
    }

    /// Accepts every held packet and every packet still waiting in the socket, at once.
    /// Call after the NFQUEUE rule is gone, so that nothing new arrives.
    pub fn flush(&mut self) -> Result<(), ShaperError> {
        while let Some(msg) = self.socket.recv()? {
            self.held.push(Instant::now(), msg);
            self.stats.received += 1;
        }
        while let Some(msg) = self.held.pop_any() {
            self.socket.accept(msg)?;
            self.stats.flushed += 1;
        }
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> DelayStats {
        self.stats
    }

    /// Gives the queue back, to be unbound.
    pub fn into_socket(self) -> QueueSocket {
        self.socket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_netfilter_sockets_from_the_netlink_table() {
        let table = "\
sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
000000002147b1a2 0   0          00000000 0        0        0     2        0        4
00000000d2f7d91b 12  1416       00000000 832      0        0     2        0        3969
00000000aaaaaaaa 12  1417       00000000 0        0        0     2        0        4100
00000000bbbbbbbb 9   0          00000000 0        0        0     2        0        5000
";
        let inodes = netfilter_inodes(table);
        assert_eq!(inodes, HashSet::from([3969, 4100]));
    }

    #[test]
    fn reads_socket_inodes_from_fd_links() {
        assert_eq!(socket_inode("socket:[3969]"), Some(3969));
        assert_eq!(socket_inode("pipe:[3969]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }
}
