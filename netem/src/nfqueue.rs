//! The user-space delay line: packets handed over by the kernel's NFQUEUE target are held
//! in a [`DelayQueue`] and accepted when their release time comes.
//!
//! The loop that serves delay lines is [`crate::SharedLoop`]. A packet's release time
//! counts from when the kernel received it (`NFQA_TIMESTAMP`), so a line that holds
//! packets need not be read as they come: it is read every half of its shortest delay (at
//! most [`MAX_READ_INTERVAL`]), on whichever wake-up comes then, and nothing read then is
//! due yet. Only a line holding nothing, or one whose packets come without stamps (they
//! count from when they are read), is read on arrival. Each read drains the socket
//! (`recvmmsg`), and each wake-up accepts every due packet of a line in one `send` of many
//! verdicts. A full queue drops in the kernel (fail-open is never set).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime};

use lab_events::shaper::DelayStats;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeSpec;

use crate::datagrams::Datagrams;
use crate::error::ShaperError;
use crate::live::Live;
use crate::netlink::{
    Config, Packet, Reply, VERDICT_LEN, put_accept, put_config, put_drop, replies,
};
use crate::scheduler::{DelayQueue, JitterSampler};
use crate::signals::readable;
use crate::sources::SourceSampler;

/// Most packets taken from the socket before due packets are released again.
const RECEIVE_BATCH: usize = 1024;
/// Most verdicts sent in one `send` (32 bytes each).
const VERDICT_BATCH: usize = 1024;
/// Receive buffer of one datagram: a metadata-only packet message is ~100 bytes.
const RECV_BUF: usize = 8192;
/// Packet messages read in one `recvmmsg`.
const RECV_SLOTS: usize = 64;
/// Room for one packet message in a `recvmmsg` (metadata only, no optional attributes
/// asked for: a few hundred bytes at most).
const RECV_SLOT: usize = 2048;
/// Socket receive buffer per packet the queue may hold (a metadata-only message's skb
/// truesize is under 1 KiB), so that the queue length, not the socket, bounds the backlog.
const RCVBUF_PER_PACKET: usize = 1024;

/// Longest release granularity: a packet may leave up to this late (plus the wake-up's own
/// latency), ~half of it on average.
const MAX_GRANULARITY: Duration = Duration::from_micros(250);
/// Longest time a holding line's socket goes unread.
const MAX_READ_INTERVAL: Duration = Duration::from_millis(5);
/// A kernel stamp older than this at read time is not believed (the wall clock stepped);
/// the packet counts from when it was read.
const MAX_STAMP_AGE: Duration = Duration::from_secs(1);
/// The granularity is at most this fraction of the delay (1/100: 1 %). Packets count from
/// the kernel's stamp, so being read late costs nothing: 250 us at 25 ms keeps the old
/// worst case (twice 100 us, taken in late and let out late) within a twentieth of a
/// millisecond while waking the loop 2.5 times less often.
const GRANULARITY_SHARE: u32 = 100;

/// The release granularity of a delay line imposing `delay`: 1/100 of it, at most 250 us.
pub fn granularity(delay: Duration) -> Duration {
    (delay / GRANULARITY_SHARE).min(MAX_GRANULARITY)
}

/// A netlink socket bound to one NFQUEUE number, copying metadata only.
pub struct QueueSocket {
    fd: OwnedFd,
    number: u16,
    buf: Vec<u8>,
    datagrams: Datagrams,
    verdicts: Vec<u8>,
}

impl QueueSocket {
    /// Opens the netlink socket and binds queue `number`, asking for packet metadata only
    /// (the payload is never needed to delay a packet) or, with `sources`, the first bytes
    /// of the IP header too (for the source address), whole GSO packets, and at most
    /// `max_len` packets waiting for a verdict (the kernel drops beyond that, like a full
    /// device queue).
    pub fn open(number: u16, max_len: u32, sources: bool) -> Result<Self, ShaperError> {
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
        // Turns on the kernel's packet time stamping while the socket lives, so that queued
        // packets carry NFQA_TIMESTAMP; without it they count from when they are read.
        if let Err(e) = setsockopt(&fd, sockopt::ReceiveTimestampns, &true) {
            eprintln!("labshaper: failed to turn on packet time stamps (continuing): {e}");
        }
        let mut socket = Self {
            fd,
            number,
            buf: vec![0; RECV_BUF],
            datagrams: Datagrams::new(RECV_SLOTS, RECV_SLOT),
            verdicts: Vec::with_capacity(VERDICT_BATCH * VERDICT_LEN),
        };
        socket.configure(Config::Bind, "bind")?;
        let copy = if sources {
            Config::SourceHeader
        } else {
            Config::MetadataOnly
        };
        socket.configure(copy, "set the copy range")?;
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

    /// Takes up to `max` waiting packets without blocking (a batch of messages per system
    /// call), handing each to `take`; returns how many were taken.
    fn receive(&mut self, max: usize, mut take: impl FnMut(Packet)) -> Result<usize, ShaperError> {
        let mut taken = 0;
        while taken < max {
            let n = match self.datagrams.receive(self.fd.as_raw_fd()) {
                Ok(n) => n,
                Err(Errno::EAGAIN | Errno::EINTR) => break,
                // The socket overflowed: the kernel dropped packets (counted in
                // /proc/net/netfilter/nfnetlink_queue); go on with the rest.
                Err(Errno::ENOBUFS) => continue,
                Err(e) => return Err(self.error("receive a packet", e.into())),
            };
            for reply in self.datagrams.iter().flat_map(replies) {
                match reply {
                    Reply::Packet(packet) => {
                        take(packet);
                        taken += 1;
                    }
                    Reply::Ack(0) | Reply::Other => {}
                    Reply::Ack(errno) => {
                        let source = io::Error::from_raw_os_error(errno);
                        return Err(self.error("accept a packet", source));
                    }
                }
            }
            // Fewer than a full batch: the socket is drained.
            if n < self.datagrams.capacity() {
                break;
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

    /// Queues a drop verdict for packet `id`, sent like the accepts.
    fn drop_packet(&mut self, id: u32) -> Result<(), ShaperError> {
        put_drop(&mut self.verdicts, self.number, id);
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

/// How a delay line draws each packet's delay.
#[derive(Debug, Clone)]
pub enum Delays {
    /// One link for every packet.
    Uniform(JitterSampler),
    /// The link from the packet's source region (the queue must copy the header), which
    /// may also drop it.
    BySource(SourceSampler),
}

impl Delays {
    /// The shortest delay any packet can draw.
    fn min_delay(&self) -> Duration {
        match self {
            Delays::Uniform(s) => s.min_delay(),
            Delays::BySource(s) => s.min_delay(),
        }
    }

    /// The delay of `packet`, or `None` to drop it.
    fn sample(&mut self, packet: &Packet) -> Option<Duration> {
        match self {
            Delays::Uniform(s) => Some(s.sample()),
            Delays::BySource(s) => s.sample(packet.source),
        }
    }
}

/// The delay line: the queue, the held packet ids and the delay sampler.
pub struct DelayLine {
    socket: QueueSocket,
    held: DelayQueue<u32>,
    sampler: Delays,
    granularity: Duration,
    read_interval: Duration,
    last_read: Option<Instant>,
    /// Whether the last read found a packet without a believable kernel stamp: the line is
    /// then read on every arrival, as a late read would delay such packets.
    unstamped: bool,
    /// The run's link changes, when it may have some (`labshaper host --live`).
    live: Option<Live>,
    stats: DelayStats,
}

impl DelayLine {
    /// A delay line over an opened queue. The loop serving it wakes at most once per
    /// `granularity` (the finest of its lines'), so a packet may leave up to that much
    /// late, never early; zero wakes for every release.
    pub fn new(socket: QueueSocket, sampler: Delays, granularity: Duration) -> Self {
        let read_interval = read_interval(sampler.min_delay(), granularity);
        Self {
            socket,
            held: DelayQueue::new(),
            sampler,
            granularity,
            read_interval,
            last_read: None,
            unstamped: false,
            live: None,
            stats: DelayStats::default(),
        }
    }

    /// This line, also following the run's link changes (the queue must copy the header,
    /// for the packets' sources).
    pub fn with_live(mut self, live: Live) -> Self {
        self.live = Some(live);
        self
    }

    /// Takes in a change of the run's links: the read interval follows the shortest delay.
    fn follow_changes(&mut self) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        if live.refresh() {
            let shortest = live.min_delay().map_or(self.sampler.min_delay(), |d| {
                d.min(self.sampler.min_delay())
            });
            self.read_interval = read_interval(shortest, self.granularity);
        }
    }

    /// Takes in every packet waiting in the socket (up to a batch), read at `now` (`wall`
    /// on the wall clock): each is due its sampled delay after the kernel's stamp.
    pub(crate) fn receive_batch(
        &mut self,
        now: Instant,
        wall: SystemTime,
    ) -> Result<usize, ShaperError> {
        self.follow_changes();
        let Self {
            socket,
            held,
            sampler,
            live,
            ..
        } = self;
        let since_epoch = wall.duration_since(SystemTime::UNIX_EPOCH).ok();
        let mut unstamped = false;
        let mut dropped = Vec::new();
        let taken = socket.receive(RECEIVE_BATCH, |p| {
            let arrived = arrival(p.stamp, now, since_epoch);
            unstamped |= arrived.is_none();
            let fate = match live.as_mut().and_then(|l| l.sample(p.source)) {
                Some(fate) => fate,
                None => sampler.sample(&p),
            };
            match fate {
                Some(delay) => held.push(arrived.unwrap_or(now) + delay, p.id),
                None => dropped.push(p.id),
            }
        })?;
        if taken > 0 {
            self.unstamped = unstamped;
        }
        for &id in &dropped {
            self.socket.drop_packet(id)?;
        }
        if !dropped.is_empty() {
            self.socket.send_verdicts()?;
            self.stats.dropped += dropped.len() as u64;
        }
        self.last_read = Some(now);
        self.stats.received += taken as u64;
        self.stats.max_held = self.stats.max_held.max(self.held.len());
        Ok(taken)
    }

    /// Whether the line is read on every arrival, holding or not: when its shortest delay
    /// leaves no time to read later ([`read_interval`] is zero), or while its packets come
    /// without kernel stamps.
    pub(crate) fn reads_on_arrival(&self) -> bool {
        self.read_interval.is_zero() || self.unstamped
    }

    /// When a holding line's socket must be read next if nothing wakes the loop earlier
    /// (`None`: on arrival only).
    pub(crate) fn read_by(&self) -> Option<Instant> {
        if self.reads_on_arrival() {
            return None;
        }
        // A change of the run's links may shorten the delay: read at once to take it in.
        if self.live.as_ref().is_some_and(Live::is_stale) {
            return self.last_read;
        }
        self.last_read.map(|t| t + self.read_interval)
    }

    /// Whether nothing is held: the loop then wakes for the line's arrivals.
    pub(crate) fn is_idle(&self) -> bool {
        self.held.is_empty()
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
        let (now, wall) = (Instant::now(), SystemTime::now());
        while self.receive_batch(now, wall)? > 0 {}
        while let Some(id) = self.held.pop_any() {
            self.socket.accept(id)?;
            self.stats.flushed += 1;
        }
        self.socket.send_verdicts()
    }

    /// When the next held packet is due.
    pub(crate) fn next_release(&self) -> Option<Instant> {
        self.held.next_release()
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

/// How often a holding line is read, given its shortest delay: packets that came after a
/// read are due at least that long after it, so reading again within half of it (at most
/// [`MAX_READ_INTERVAL`]) finds none due yet even if the wake-up comes a granularity late;
/// zero (read on every arrival) when that half is within two granularities.
fn read_interval(min_delay: Duration, granularity: Duration) -> Duration {
    let half = (min_delay / 2).min(MAX_READ_INTERVAL);
    if half <= granularity.saturating_mul(2) {
        Duration::ZERO
    } else {
        half
    }
}

/// When a packet read at `now` (`wall`: the wall clock's time since the epoch then) came
/// in: its kernel stamp carried over to the monotonic clock; `None` if it has none or the
/// stamp is not believable (in the future, or older than [`MAX_STAMP_AGE`]).
fn arrival(stamp: Option<Duration>, now: Instant, wall: Option<Duration>) -> Option<Instant> {
    stamp
        .zip(wall)
        .and_then(|(stamp, wall)| wall.checked_sub(stamp))
        .filter(|age| *age <= MAX_STAMP_AGE)
        .and_then(|age| now.checked_sub(age))
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
        assert_eq!(granularity(us(25_000)), us(250));
        assert_eq!(granularity(Duration::from_secs(2)), us(250));
        assert_eq!(granularity(us(500)), us(5));
        assert_eq!(granularity(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn holding_lines_are_read_well_before_a_new_packet_can_be_due() {
        let us = Duration::from_micros;
        // 25 ms ± 2.5 ms: at most every 5 ms.
        assert_eq!(read_interval(us(22_500), us(250)), us(5_000));
        // 500 us ± 100 us: every 200 us.
        assert_eq!(read_interval(us(400), us(5)), us(200));
        // No shortest delay to spare: at every arrival.
        assert_eq!(
            read_interval(Duration::ZERO, Duration::ZERO),
            Duration::ZERO
        );
        assert_eq!(read_interval(us(900), us(250)), Duration::ZERO);
    }

    #[test]
    fn packets_count_from_the_kernel_stamp_when_it_is_believable() {
        let now = Instant::now();
        let wall = Duration::from_secs(1_764_000_000);
        let ms = Duration::from_millis;
        // Received 3 ms before it was read.
        assert_eq!(
            arrival(Some(wall - ms(3)), now, Some(wall)),
            Some(now - ms(3))
        );
        // No stamp, a stamp from the future or from long ago: none (it counts from when it
        // was read).
        assert_eq!(arrival(None, now, Some(wall)), None);
        assert_eq!(arrival(Some(wall + ms(1)), now, Some(wall)), None);
        assert_eq!(arrival(Some(wall - ms(1_001)), now, Some(wall)), None);
        assert_eq!(arrival(Some(wall), now, None), None);
    }
}
