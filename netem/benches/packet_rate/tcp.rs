//! The TCP variant of the flow: 8300-byte messages (a 1 KiB payload in an ML-DSA-87
//! envelope, as the lab's nodes send), one connection per leaf, each message stamped with
//! its send time in its first 8 bytes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use crate::topology::{PORT, Topology};
use crate::traffic::{PACING_NAP, RECV_TIMEOUT, Sample, nanos};

/// Size of one message.
const MESSAGE: usize = 8300;

/// Connects to every leaf and writes messages round-robin at `rate` per second.
pub(crate) fn send(
    topo: &Topology,
    rate: u64,
    stop: &AtomicBool,
    sent: &AtomicU64,
    epoch: Instant,
) -> Result<(), String> {
    let mut streams = (0..topo.leaves())
        .map(|i| {
            let s = TcpStream::connect(SocketAddrV4::new(Topology::leaf_addr(i), PORT))
                .map_err(|e| format!("failed to connect to leaf {i}: {e}"))?;
            s.set_nodelay(true)
                .map_err(|e| format!("failed to set TCP_NODELAY: {e}"))?;
            Ok(s)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let start = Instant::now();
    let mut buf = vec![0u8; MESSAGE];
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let owed = u64::try_from(start.elapsed().as_micros() * u128::from(rate) / 1_000_000)
            .unwrap_or(u64::MAX);
        while n < owed && !stop.load(Ordering::Relaxed) {
            buf[..8].copy_from_slice(&nanos(epoch.elapsed()).to_le_bytes());
            let i = usize::try_from(n).unwrap_or(0) % streams.len();
            streams[i]
                .write_all(&buf)
                .map_err(|e| format!("failed to send a message: {e}"))?;
            n += 1;
            sent.store(n, Ordering::Relaxed);
        }
        thread::sleep(PACING_NAP);
    }
    Ok(())
}

/// Accepts the sender's connection and reads whole messages until `stop`.
pub(crate) fn receive(
    listener: &TcpListener,
    stop: &AtomicBool,
    received: &AtomicU64,
    epoch: Instant,
) -> Result<Vec<Sample>, String> {
    let (mut stream, _) = listener
        .accept()
        .map_err(|e| format!("failed to accept: {e}"))?;
    stream
        .set_read_timeout(Some(RECV_TIMEOUT))
        .map_err(|e| format!("failed to set a read timeout: {e}"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0usize;
    let mut mine = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        // Room for at least one more read after the partial message kept at the front.
        match stream.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => {
                let now = nanos(epoch.elapsed());
                have += n;
                let whole = have / MESSAGE * MESSAGE;
                for msg in buf[..whole].chunks_exact(MESSAGE) {
                    let mut stamp = [0u8; 8];
                    stamp.copy_from_slice(&msg[..8]);
                    let sent_ns = u64::from_le_bytes(stamp);
                    mine.push(Sample {
                        sent_ns,
                        delay_ns: now.saturating_sub(sent_ns),
                    });
                    received.fetch_add(1, Ordering::Relaxed);
                }
                buf.copy_within(whole..have, 0);
                have -= whole;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("failed to receive: {e}")),
        }
    }
    Ok(mine)
}
