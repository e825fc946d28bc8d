//! The user-space delay line: packets handed over by the kernel's NFQUEUE target are held
//! in a [`DelayQueue`] and accepted when their release time comes.
//!
//! The loop that serves delay lines is [`crate::SharedLoop`]. Each wake-up drains every
//! packet waiting in a line's socket and accepts every packet due in one `send` of many
//! verdicts, so the per-packet cost of system calls shrinks as the rate grows. A full queue
//! drops in the kernel (fail-open is never set).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use lab_events::shaper::DelayStats;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeSpec;

use crate::error::ShaperError;
use crate::netlink::{Config, Reply, VERDICT_LEN, put_accept, put_config, replies};
use crate::scheduler::{DelayQueue, JitterSampler};
use crate::signals::readable;

/// Most packets taken from the socket before due packets are released again.
const RECEIVE_BATCH: usize = 1024;
/// Most verdicts sent in one `send` (32 bytes each).
const VERDICT_BATCH: usize = 1024;
/// Receive buffer of one datagram: a metadata-only packet message is ~100 bytes.
const RECV_BUF: usize = 8192;
/// Socket receive buffer per packet the queue may hold (a metadata-only message's skb
/// truesize is under 1 KiB), so that the queue length, not the socket, bounds the backlog.
const RCVBUF_PER_PACKET: usize = 1024;

/// Longest release granularity: at 25 ms and above a packet may leave up to twice this late
/// (taken in late, let out late), 0.2 ms worst case and ~0.1 ms on average.
const MAX_GRANULARITY: Duration = Duration::from_micros(100);
/// The granularity is at most this fraction of the delay (1/250: 0.4 %).
const GRANULARITY_SHARE: u32 = 250;

/// The release granularity of a delay line imposing `delay`: 1/250 of it, at most 100 us.
pub fn granularity(delay: Duration) -> Duration {
    (delay / GRANULARITY_SHARE).min(MAX_GRANULARITY)
}

/// A netlink socket bound to one NFQUEUE number, copying metadata only.
pub struct QueueSocket {
    fd: OwnedFd,
    number: u16,
    buf: Vec<u8>,
    verdicts: Vec<u8>,
}

impl QueueSocket {
    /// Opens the netlink socket and binds queue `number`, asking for packet metadata only
    /// (the payload is never needed to delay a packet), whole GSO packets, and at most
    /// `max_len` packets waiting for a verdict (the kernel drops beyond that, like a full
    /// device queue).
    pub fn open(number: u16, max_len: u32) -> Result<Self, ShaperError> {
        let err = |operation| {
            move |e: Errno| ShaperError::Nfqueue {
                operation,
                queue: number,
                source: io::Error::from(e),
            }
        };
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(err("open the netlink socket"))?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(err("bind the netlink socket"))?;
        let rcvbuf = usize::try_from(max_len)
            .unwrap_or(usize::MAX)
            .saturating_mul(RCVBUF_PER_PACKET);
        // Needs CAP_NET_ADMIN (we have it: the rule needs it too); without, keep the default.
        if setsockopt(&fd, sockopt::RcvBufForce, &rcvbuf).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &rcvbuf);
        }
        let mut socket = Self {
            fd,
            number,
            buf: vec![0; RECV_BUF],
            verdicts: Vec::with_capacity(VERDICT_BATCH * VERDICT_LEN),
        };
        socket.configure(Config::Bind, "bind")?;
        socket.configure(Config::MetadataOnly, "set the copy range")?;
        socket.configure(Config::WholeGso, "accept gso packets")?;
        socket.configure(Config::MaxLen(max_len), "set the queue length")?;
        Ok(socket)
    }

    /// The netlink socket.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Unbinds the queue number; the socket closes when this is dropped.
    pub fn unbind(mut self) -> Result<(), ShaperError> {
        self.configure(Config::Unbind, "unbind")
    }

    fn error(&self, operation: &'static str, source: io::Error) -> ShaperError {
        ShaperError::Nfqueue {
            operation,
            queue: self.number,
            source,
        }
    }

    /// Sends one configuration request and waits for its acknowledgement (packets that
    /// arrive meanwhile would be lost, so configure only before the rule exists).
    fn configure(&mut self, config: Config, operation: &'static str) -> Result<(), ShaperError> {
        let mut msg = Vec::new();
        put_config(&mut msg, self.number, config);
        send(self.fd.as_raw_fd(), &msg, MsgFlags::empty())
            .map_err(|e| self.error(operation, e.into()))?;
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty())
                .map_err(|e| self.error(operation, e.into()))?;
            for reply in replies(&self.buf[..n]) {
                match reply {
                    Reply::Ack(0) => return Ok(()),
                    Reply::Ack(errno) => {
                        return Err(self.error(operation, io::Error::from_raw_os_error(errno)));
                    }
                    Reply::Packet(_) | Reply::Other => {}
                }
            }
        }
    }

    /// Takes up to `max` waiting packet ids without blocking, handing each to `take`;
    /// returns how many were taken.
    fn receive(&mut self, max: usize, mut take: impl FnMut(u32)) -> Result<usize, ShaperError> {
        let mut taken = 0;
        while taken < max {
            let n = match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(Errno::EAGAIN | Errno::EINTR) => break,
                // The socket overflowed: the kernel dropped packets (counted in
                // /proc/net/netfilter/nfnetlink_queue); go on with the rest.
                Err(Errno::ENOBUFS) => continue,
                Err(e) => return Err(self.error("receive a packet", e.into())),
            };
            for reply in replies(&self.buf[..n]) {
                match reply {
                    Reply::Packet(id) => {
                        take(id);
                        taken += 1;
                    }
                    Reply::Ack(0) | Reply::Other => {}
                    Reply::Ack(errno) => {
                        let source = io::Error::from_raw_os_error(errno);
                        return Err(self.error("accept a packet", source));
                    }
                }
            }
        }
        Ok(taken)
    }

    /// Queues an accept verdict for packet `id`; sent by [`Self::send_verdicts`], or at
    /// once when the batch is full.
    fn accept(&mut self, id: u32) -> Result<(), ShaperError> {
        put_accept(&mut self.verdicts, self.number, id);
        if self.verdicts.len() >= VERDICT_BATCH * VERDICT_LEN {
            self.send_verdicts()?;
        }
        Ok(())
    }

    /// Sends the queued verdicts in one message buffer.
    fn send_verdicts(&mut self) -> Result<(), ShaperError> {
        if self.verdicts.is_empty() {
            return Ok(());
        }
        let sent = send(self.fd.as_raw_fd(), &self.verdicts, MsgFlags::empty());
        self.verdicts.clear();
        sent.map(|_| ())
            .map_err(|e| self.error("accept packets", e.into()))
    }
}

/// The delay line: the queue, the held packet ids and the delay sampler.
pub struct DelayLine {
    socket: QueueSocket,
    held: DelayQueue<u32>,
    sampler: JitterSampler,
    granularity: Duration,
    stats: DelayStats,
}

impl DelayLine {
    /// A delay line over an opened queue. While busy wake-ups come densely, the loop
    /// serving it waits out the rest of `granularity` after each before looking again, so
    /// each packet may be taken in and let out up to that much late (never early); zero
    /// wakes for every packet.
    pub fn new(socket: QueueSocket, sampler: JitterSampler, granularity: Duration) -> Self {
        Self {
            socket,
            held: DelayQueue::new(),
            sampler,
            granularity,
            stats: DelayStats::default(),
        }
    }

    /// Takes in every packet waiting in the socket (up to a batch), stamped `now`.
    pub(crate) fn receive_batch(&mut self, now: Instant) -> Result<usize, ShaperError> {
        let Self {
            socket,
            held,
            sampler,
            ..
        } = self;
        let taken = socket.receive(RECEIVE_BATCH, |id| held.push(now + sampler.sample(), id))?;
        self.stats.received += taken as u64;
        self.stats.max_held = self.stats.max_held.max(self.held.len());
        Ok(taken)
    }

    /// Accepts every packet due at `now`, in one `send`.
    pub(crate) fn release_due(&mut self, now: Instant) -> Result<usize, ShaperError> {
        let mut released = 0;
        while let Some(id) = self.held.pop_due(now) {
            self.socket.accept(id)?;
            released += 1;
        }
        self.socket.send_verdicts()?;
        self.stats.released += released as u64;
        Ok(released)
    }

    /// Accepts every held packet and every packet still waiting in the socket, at once.
    /// Call after the NFQUEUE rule is gone, so that nothing new arrives.
    pub fn flush(&mut self) -> Result<(), ShaperError> {
        let now = Instant::now();
        while self.receive_batch(now)? > 0 {}
        while let Some(id) = self.held.pop_any() {
            self.socket.accept(id)?;
            self.stats.flushed += 1;
        }
        self.socket.send_verdicts()
    }

    /// How long from `now` until the next held packet is due.
    pub(crate) fn time_to_next(&self, now: Instant) -> Option<Duration> {
        self.held.time_to_next(now)
    }

    /// The queue socket, to be polled.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// The release granularity.
    pub(crate) fn granularity(&self) -> Duration {
        self.granularity
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

/// Waits until one of `fds` is readable or `timeout` passes (`None`: forever); which are
/// readable (none on a timeout or a signal).
pub(crate) fn wait<const N: usize>(
    fds: &[BorrowedFd<'_>; N],
    timeout: Option<Duration>,
) -> Result<[bool; N], ShaperError> {
    let mut polled = fds.map(|fd| PollFd::new(fd, PollFlags::POLLIN));
    match ppoll(&mut polled, timeout.map(TimeSpec::from_duration), None) {
        Ok(_) => Ok(polled.each_ref().map(readable)),
        Err(Errno::EINTR) => Ok([false; N]),
        Err(source) => Err(ShaperError::Sys {
            operation: "poll the nfqueue socket",
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularity_is_a_small_share_of_the_delay_and_bounded() {
        let us = Duration::from_micros;
        assert_eq!(granularity(us(25_000)), us(100));
        assert_eq!(granularity(Duration::from_secs(2)), us(100));
        assert_eq!(granularity(us(500)), us(2));
        assert_eq!(granularity(Duration::ZERO), Duration::ZERO);
    }
}
