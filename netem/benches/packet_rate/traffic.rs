//! The flow: one sender thread in the hub pushing 64-byte UDP datagrams (or, with
//! [`Kind::Tcp`], 8300-byte messages over one TCP connection per leaf, see `tcp.rs`)
//! round-robin to the leaves at a fixed rate, one receiver thread per leaf recording each
//! one's one-way delay (the payload carries its send time, on a clock shared by all
//! threads).

use std::net::{SocketAddrV4, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::tcp;
use crate::topology::{PORT, Topology};

/// Size of each datagram.
const PAYLOAD: usize = 64;
/// How long the sender naps between bursts: it sends whatever the schedule owes on waking.
pub(crate) const PACING_NAP: Duration = Duration::from_micros(200);
/// How long a receiver blocks before looking at the stop flag.
pub(crate) const RECV_TIMEOUT: Duration = Duration::from_millis(20);

/// One received datagram: when it was sent and how long it took (ns since the flow's
/// epoch, ns).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Send time, ns since the flow's epoch.
    pub(crate) sent_ns: u64,
    /// One-way delay, ns.
    pub(crate) delay_ns: u64,
}

/// What the flow sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 64-byte UDP datagrams.
    Udp,
    /// 8300-byte messages over TCP (the lab's message size), one connection per leaf.
    Tcp,
}

/// A running flow.
pub(crate) struct Flow {
    epoch: Instant,
    stop_sender: Arc<AtomicBool>,
    stop_receivers: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    samples: Arc<Mutex<Vec<Sample>>>,
    sender: Option<JoinHandle<Result<(), String>>>,
    receivers: Vec<JoinHandle<Result<(), String>>>,
}

impl Flow {
    /// Starts receivers in every leaf, then the sender at `rate` datagrams per second.
    pub(crate) fn start(topo: &Arc<Topology>, rate: u64, kind: Kind) -> Result<Self, String> {
        let mut flow = Self {
            epoch: Instant::now(),
            stop_sender: Arc::new(AtomicBool::new(false)),
            stop_receivers: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(AtomicU64::new(0)),
            received: Arc::new(AtomicU64::new(0)),
            samples: Arc::new(Mutex::new(Vec::new())),
            sender: None,
            receivers: Vec::new(),
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for i in 0..topo.leaves() {
            let (topo, stop, received, samples, epoch, ready) = (
                topo.clone(),
                flow.stop_receivers.clone(),
                flow.received.clone(),
                flow.samples.clone(),
                flow.epoch,
                ready_tx.clone(),
            );
            flow.receivers.push(thread::spawn(move || {
                topo.enter_leaf(i)?;
                let addr = SocketAddrV4::new(Topology::leaf_addr(i), PORT);
                let mine = match kind {
                    Kind::Udp => {
                        let socket = UdpSocket::bind(addr)
                            .map_err(|e| format!("failed to bind a receiver in leaf {i}: {e}"))?;
                        let _ = ready.send(());
                        receive(&socket, &stop, &received, epoch)?
                    }
                    Kind::Tcp => {
                        let listener = TcpListener::bind(addr)
                            .map_err(|e| format!("failed to listen in leaf {i}: {e}"))?;
                        let _ = ready.send(());
                        tcp::receive(&listener, &stop, &received, epoch)?
                    }
                };
                samples
                    .lock()
                    .map_err(|e| e.to_string())?
                    .extend_from_slice(&mine);
                Ok(())
            }));
        }
        for _ in 0..topo.leaves() {
            ready_rx
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| "failed to start the receivers".to_owned())?;
        }
        let (topo, stop, sent, epoch) = (
            topo.clone(),
            flow.stop_sender.clone(),
            flow.sent.clone(),
            flow.epoch,
        );
        flow.sender = Some(thread::spawn(move || {
            topo.enter_hub()?;
            match kind {
                Kind::Udp => send(&topo, rate, &stop, &sent, epoch),
                Kind::Tcp => tcp::send(&topo, rate, &stop, &sent, epoch),
            }
        }));
        Ok(flow)
    }

    /// Datagrams sent so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Nanoseconds since the flow's epoch.
    pub(crate) fn now_ns(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    /// Stops the sender, waits until every datagram arrived or `drain` passed, stops the
    /// receivers, and returns the samples and how many datagrams were lost.
    pub(crate) fn stop(mut self, drain: Duration) -> Result<(Vec<Sample>, u64), String> {
        self.stop_sender.store(true, Ordering::Relaxed);
        if let Some(sender) = self.sender.take() {
            join(sender)?;
        }
        let sent = self.sent();
        let deadline = Instant::now() + drain;
        while self.received.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        self.stop_receivers.store(true, Ordering::Relaxed);
        for r in self.receivers.drain(..) {
            join(r)?;
        }
        let lost = sent.saturating_sub(self.received.load(Ordering::Relaxed));
        let samples = std::mem::take(&mut *self.samples.lock().map_err(|e| e.to_string())?);
        Ok((samples, lost))
    }
}

impl Drop for Flow {
    /// Stops and joins every thread (they hold the topology, which is removed only when
    /// its last holder is gone); a no-op after [`Flow::stop`].
    fn drop(&mut self) {
        self.stop_sender.store(true, Ordering::Relaxed);
        self.stop_receivers.store(true, Ordering::Relaxed);
        for t in self
            .sender
            .take()
            .into_iter()
            .chain(self.receivers.drain(..))
        {
            if let Err(e) = join(t) {
                eprintln!("packet_rate: {e}");
            }
        }
    }
}

pub(crate) fn join(t: JoinHandle<Result<(), String>>) -> Result<(), String> {
    t.join()
        .map_err(|_| "a traffic thread panicked".to_owned())?
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn send(
    topo: &Topology,
    rate: u64,
    stop: &AtomicBool,
    sent: &AtomicU64,
    epoch: Instant,
) -> Result<(), String> {
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("failed to bind: {e}"))?;
    let targets: Vec<SocketAddrV4> = (0..topo.leaves())
        .map(|i| SocketAddrV4::new(Topology::leaf_addr(i), PORT))
        .collect();
    let start = Instant::now();
    let mut buf = [0u8; PAYLOAD];
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let owed = u64::try_from(start.elapsed().as_micros() * u128::from(rate) / 1_000_000)
            .unwrap_or(u64::MAX);
        while n < owed {
            buf[..8].copy_from_slice(&nanos(epoch.elapsed()).to_le_bytes());
            let to = targets[usize::try_from(n).unwrap_or(0) % targets.len()];
            // A full socket buffer (ENOBUFS/EAGAIN) counts as sent and lost.
            let _ = socket.send_to(&buf, to);
            n += 1;
            sent.store(n, Ordering::Relaxed);
        }
        thread::sleep(PACING_NAP);
    }
    Ok(())
}

fn receive(
    socket: &UdpSocket,
    stop: &AtomicBool,
    received: &AtomicU64,
    epoch: Instant,
) -> Result<Vec<Sample>, String> {
    socket
        .set_read_timeout(Some(RECV_TIMEOUT))
        .map_err(|e| format!("failed to set a read timeout: {e}"))?;
    let mut buf = [0u8; PAYLOAD];
    let mut mine = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match socket.recv(&mut buf) {
            Ok(n) if n >= 8 => {
                let now = nanos(epoch.elapsed());
                let mut stamp = [0u8; 8];
                stamp.copy_from_slice(&buf[..8]);
                let sent_ns = u64::from_le_bytes(stamp);
                mine.push(Sample {
                    sent_ns,
                    delay_ns: now.saturating_sub(sent_ns),
                });
                received.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(format!("failed to receive: {e}")),
        }
    }
    Ok(mine)
}
