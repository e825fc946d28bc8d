//! The spec's per-peer bandwidth limit (seed 000 §9.3, "Bandwidth throttling: max 1 MB/sec
//! per peer"), which libp2p does not have: its connection limits count connections, and
//! gossipsub's limits count messages.
//!
//! A [`Throttle`] keeps one token bucket of bytes per remote peer, shared by every
//! connection to that peer; every connection, once its muxer is up (TCP and relayed ones
//! after security and yamux, QUIC ones as they come), is wrapped in a [`Muxer`] whose
//! substreams take a token from their peer's bucket for every byte they read. While the
//! bucket holds too few, a read is `Pending` and wakes when the tokens are there. The peer
//! is then slowed by the muxer's flow control: yamux's and QUIC's receive windows fill
//! and its writes wait. The bucket refills at the configured rate and holds a virtual
//! second's worth, as the per-origin message limit's ([`crate::rate`]); under time dilation
//! a second lasts `k` real seconds. A peer's bucket goes when its last connection and
//! stream do; until it would have refilled, what it held is kept, so that a peer does not
//! win a full burst by reconnecting.
//!
//! Counted are the bytes the protocols read from their streams (multistream-select's
//! negotiation included), not the muxer's or the security layer's framing. A relayed
//! connection's bytes count twice: against the relay, whose connection carries the
//! circuit as a stream, and against the peer at the far end. Writes are not limited: the
//! limit is what this node accepts from a peer.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{AsyncRead, AsyncWrite};
use libp2p::PeerId;
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::time::{Instant, Sleep};

use crate::dilation::TimeScale;

/// Bytes a (virtual) second a node reads from one peer (seed 000 §9.3).
pub use lab_config::PEER_BYTES_PER_SEC_LIMIT as SPEC_PEER_BYTES_PER_SEC;

/// A held read waits for at most this much of the rate (or its whole buffer, if smaller),
/// not for a single byte: at 1 MB/s a waiting stream wakes every 10 ms for ~10 kB.
const TICK: Duration = Duration::from_millis(10);

/// Per-peer budgets of inbound bytes, for every connection of a node (cheap to clone).
#[derive(Debug, Clone)]
pub struct Throttle(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// Bytes a real second.
    rate: f64,
    /// The bucket's size, bytes.
    burst: f64,
    /// The fewest tokens a held read waits for: [`TICK`]'s worth of the rate.
    quantum: f64,
    /// The buckets of peers with a connection or a stream alive.
    peers: Mutex<HashMap<PeerId, Weak<Peer>>>,
    /// The tokens (and when) of buckets that went before they refilled.
    parked: Mutex<HashMap<PeerId, (f64, Instant)>>,
    metrics: Metrics,
}

impl Throttle {
    /// `real_per_sec` bytes a real second from each peer (the dilated configuration's
    /// `limits.peer_bytes_per_sec`), with a burst of a virtual second's worth (× `k`).
    pub fn new(real_per_sec: f64, k: TimeScale) -> Self {
        let rate = real_per_sec.max(1.0);
        let burst = (rate * k.factor()).max(1.0);
        Throttle(Arc::new(Shared {
            rate,
            burst,
            quantum: (rate * TICK.as_secs_f64()).clamp(1.0, burst),
            peers: Mutex::new(HashMap::new()),
            parked: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
        }))
    }

    /// Registers the throttle's metrics in `r`.
    pub fn register(&self, r: &mut Registry) {
        self.0.metrics.register(r);
    }

    /// `muxer`, a connection to `peer`, with its reads counted against the peer's bucket.
    pub fn wrap<M>(&self, peer: PeerId, muxer: M) -> Muxer<M> {
        Muxer {
            inner: muxer,
            peer: self.peer(peer),
        }
    }

    /// `peer`'s bucket: the one its other connections use, or a new one holding what its
    /// last one held (refilled since), or a full one.
    fn peer(&self, id: PeerId) -> Arc<Peer> {
        let mut peers = lock(&self.0.peers);
        if let Some(p) = peers.get(&id).and_then(Weak::upgrade) {
            return p;
        }
        let now = Instant::now();
        let tokens = match lock(&self.0.parked).remove(&id) {
            Some((tokens, at)) => self.0.refilled(tokens, at, now),
            None => self.0.burst,
        };
        let p = Arc::new(Peer {
            id,
            shared: self.0.clone(),
            bucket: Mutex::new(Bucket {
                tokens,
                at: now,
                held: 0,
                held_since: None,
            }),
        });
        peers.insert(id, Arc::downgrade(&p));
        p
    }

    /// Peers with a bucket (a connection or a stream alive).
    pub fn peers(&self) -> usize {
        lock(&self.0.peers).len()
    }
}

impl Shared {
    /// `tokens` at `at`, refilled until `now`.
    fn refilled(&self, tokens: f64, at: Instant, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(at).as_secs_f64();
        (tokens + dt * self.rate).min(self.burst)
    }

    /// Keeps what a bucket that goes held, until it would have refilled; forgets the
    /// parked buckets that have.
    fn park(&self, id: PeerId, tokens: f64, at: Instant) {
        let now = Instant::now();
        let mut parked = lock(&self.parked);
        parked.retain(|_, &mut (t, a)| self.refilled(t, a, now) < self.burst);
        if self.refilled(tokens, at, now) < self.burst {
            parked.insert(id, (tokens, at));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One peer's bucket, shared by its connections and their streams.
#[derive(Debug)]
struct Peer {
    id: PeerId,
    shared: Arc<Shared>,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// Streams whose read is held now.
    held: usize,
    /// Since when at least one read has been held.
    held_since: Option<Instant>,
}

/// What a read may do.
#[derive(Debug, PartialEq)]
enum Grant {
    /// Read at most this many bytes (at least one); the tokens are taken.
    Read(usize),
    /// Wait until then.
    Wait(Instant),
}

impl Peer {
    /// Takes the tokens for a read into a `want`-byte buffer at `now`, or says when to try
    /// again. `held` is the stream's: whether its read is held now.
    fn grant(&self, want: usize, now: Instant, held: &mut bool) -> Grant {
        let s = &self.shared;
        let mut b = lock(&self.bucket);
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + dt * s.rate).min(s.burst);
        b.at = now;
        let need = (want as f64).min(s.quantum);
        if b.tokens >= need {
            let n = b.tokens.min(want as f64).floor();
            b.tokens -= n;
            if std::mem::take(held) {
                self.release(&mut b, now);
            }
            Grant::Read(n as usize)
        } else {
            if !*held {
                *held = true;
                b.held += 1;
                b.held_since.get_or_insert(now);
            }
            let wait = ((need - b.tokens) / s.rate * 1e9).ceil() as u64;
            Grant::Wait(now + Duration::from_nanos(wait.saturating_add(1)))
        }
    }

    /// Gives back tokens a read took but did not use.
    fn refund(&self, n: usize) {
        if n > 0 {
            let mut b = lock(&self.bucket);
            b.tokens = (b.tokens + n as f64).min(self.shared.burst);
        }
    }

    /// A stream whose read was held is held no more (it reads, or it is gone).
    fn unhold(&self, now: Instant) {
        let mut b = lock(&self.bucket);
        self.release(&mut b, now);
    }

    fn release(&self, b: &mut Bucket, now: Instant) {
        b.held = b.held.saturating_sub(1);
        if b.held == 0
            && let Some(since) = b.held_since.take()
        {
            let secs = now.saturating_duration_since(since).as_secs_f64();
            self.shared.metrics.held(&self.id, secs);
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let mut peers = lock(&self.shared.peers);
        // A new connection of the same peer may have put its own bucket in meanwhile.
        if peers.get(&self.id).is_some_and(|w| w.strong_count() == 0) {
            peers.remove(&self.id);
            self.shared.metrics.forget(&self.id);
            let b = lock(&self.bucket);
            self.shared.park(self.id, b.tokens, b.at);
        }
    }
}

/// A connection whose streams' reads are throttled ([`Throttle::wrap`]).
#[derive(Debug)]
pub struct Muxer<M> {
    inner: M,
    peer: Arc<Peer>,
}

impl<M> StreamMuxer for Muxer<M>
where
    M: StreamMuxer + Unpin,
    M::Substream: Unpin,
{
    type Substream = Substream<M::Substream>;
    type Error = M::Error;

    fn poll_inbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let this = self.get_mut();
        Pin::new(&mut this.inner)
            .poll_inbound(cx)
            .map_ok(|s| Substream::new(s, this.peer.clone()))
    }

    fn poll_outbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let this = self.get_mut();
        Pin::new(&mut this.inner)
            .poll_outbound(cx)
            .map_ok(|s| Substream::new(s, this.peer.clone()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

/// A stream of a throttled connection: reads take tokens from the peer's bucket.
#[derive(Debug)]
pub struct Substream<S> {
    inner: S,
    peer: Arc<Peer>,
    /// The wake-up of a held read, kept to be reset rather than reallocated.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Whether a read is held now.
    held: bool,
}

impl<S> Substream<S> {
    fn new(inner: S, peer: Arc<Peer>) -> Self {
        Substream {
            inner,
            peer,
            sleep: None,
            held: false,
        }
    }
}

impl<S> Drop for Substream<S> {
    fn drop(&mut self) {
        if self.held {
            self.peer.unhold(Instant::now());
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Substream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            match this.peer.grant(buf.len(), Instant::now(), &mut this.held) {
                Grant::Read(n) => {
                    let polled = Pin::new(&mut this.inner).poll_read(cx, &mut buf[..n]);
                    let read = match polled {
                        Poll::Ready(Ok(read)) => read,
                        _ => 0,
                    };
                    this.peer.refund(n.saturating_sub(read));
                    return polled;
                }
                Grant::Wait(at) => {
                    let sleep = this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                    sleep.as_mut().reset(at);
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Substream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

type PeerLabel = [(&'static str, String); 1];
type Seconds = Counter<f64, AtomicU64>;

/// How long reads were held back: per connected peer, and in all.
#[derive(Debug, Clone, Default)]
struct Metrics {
    /// Real seconds during which at least one read from the peer was held, counted as
    /// each hold ends; a peer's series goes with its bucket.
    peer: Family<PeerLabel, Seconds>,
    /// The same summed over every peer, connected or gone.
    all: Seconds,
}

impl Metrics {
    fn register(&self, r: &mut Registry) {
        r.register(
            "peer_throttled_seconds",
            "real seconds during which reads from a connected peer were held back by the per-peer byte rate limit",
            self.peer.clone(),
        );
        r.register(
            "throttled_seconds",
            "real seconds during which reads from some peer were held back, summed over peers",
            self.all.clone(),
        );
    }

    fn held(&self, peer: &PeerId, secs: f64) {
        self.peer.get_or_create(&label(peer)).inc_by(secs);
        self.all.inc_by(secs);
    }

    fn forget(&self, peer: &PeerId) {
        self.peer.remove(&label(peer));
    }
}

fn label(peer: &PeerId) -> PeerLabel {
    [("peer", peer.to_string())]
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use futures::AsyncReadExt;
    use futures::io::Cursor;
    use libp2p::core::muxing::StreamMuxerExt;

    use super::*;

    const MB: usize = 1_000_000;

    /// A connection whose peer opened these streams, each holding its bytes already.
    struct Fake(VecDeque<Cursor<Vec<u8>>>);

    impl Fake {
        fn with(streams: &[&[u8]]) -> Self {
            Fake(streams.iter().map(|s| Cursor::new(s.to_vec())).collect())
        }
    }

    impl StreamMuxer for Fake {
        type Substream = Cursor<Vec<u8>>;
        type Error = io::Error;

        fn poll_inbound(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Result<Self::Substream, Self::Error>> {
            match self.get_mut().0.pop_front() {
                Some(s) => Poll::Ready(Ok(s)),
                None => Poll::Pending,
            }
        }

        fn poll_outbound(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Result<Self::Substream, Self::Error>> {
            Poll::Pending
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
            Poll::Ready(Ok(()))
        }

        fn poll(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Result<StreamMuxerEvent, io::Error>> {
            Poll::Pending
        }
    }

    async fn inbound(m: &mut Muxer<Fake>) -> Substream<Cursor<Vec<u8>>> {
        futures::future::poll_fn(|cx| m.poll_inbound_unpin(cx))
            .await
            .expect("a stream")
    }

    /// Reads `s` to its end in 64 KiB reads: the bytes, when it ended, and how many bytes
    /// had been read by `t0 + 1 s`.
    async fn drain<S: AsyncRead + Unpin>(s: &mut S, t0: Instant) -> (Vec<u8>, Duration, usize) {
        let mut all = Vec::new();
        let mut by_1s = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = s.read(&mut buf).await.expect("reads");
            if n == 0 {
                return (all, t0.elapsed(), by_1s);
            }
            all.extend_from_slice(&buf[..n]);
            if t0.elapsed() <= Duration::from_secs(1) {
                by_1s = all.len();
            }
        }
    }

    fn held_secs(t: &Throttle, peer: &PeerId) -> f64 {
        t.0.metrics.peer.get_or_create(&label(peer)).get()
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_a_second_then_the_rate() {
        let t = Throttle::new(MB as f64, TimeScale::REAL);
        let peer = PeerId::random();
        let data = pattern(3 * MB, 0);
        let mut m = t.wrap(peer, Fake::with(&[&data]));
        let mut s = inbound(&mut m).await;
        let t0 = Instant::now();
        let (got, took, by_1s) = drain(&mut s, t0).await;
        assert!(got == data, "every byte arrives, in order");
        assert!(
            (1_980_000..=2_000_000).contains(&by_1s),
            "a second's burst and a second's rate by t = 1 s, got {by_1s}"
        );
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2020),
            "3 MB take 2 s, took {took:?}"
        );
        let held = held_secs(&t, &peer);
        assert!(
            (1.9..=2.02).contains(&held),
            "held from the burst's end to the last read, got {held}"
        );
        assert_eq!(t.0.metrics.all.get(), held);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peers_streams_and_connections_share_its_bucket_and_no_one_elses() {
        let t = Throttle::new(MB as f64, TimeScale::REAL);
        let (a, b) = (PeerId::random(), PeerId::random());
        let half = pattern(MB + MB / 2, 1);
        let mut a1 = t.wrap(a, Fake::with(&[&half, &half]));
        let mut a2 = t.wrap(a, Fake::with(&[&half]));
        let mut b1 = t.wrap(b, Fake::with(&[&half]));
        assert_eq!(t.peers(), 2);
        let (mut s1, mut s2, mut s3) = (
            inbound(&mut a1).await,
            inbound(&mut a1).await,
            inbound(&mut a2).await,
        );
        let mut sb = inbound(&mut b1).await;
        let t0 = Instant::now();
        let (r1, r2, r3, rb) = tokio::join!(
            drain(&mut s1, t0),
            drain(&mut s2, t0),
            drain(&mut s3, t0),
            drain(&mut sb, t0),
        );
        for r in [&r1, &r2, &r3, &rb] {
            assert!(r.0 == half, "every stream's bytes arrive");
        }
        let a_by_1s = r1.2 + r2.2 + r3.2;
        assert!(
            a_by_1s <= 2 * MB,
            "a's three streams share one bucket: {a_by_1s} bytes by t = 1 s"
        );
        let a_took = r1.1.max(r2.1).max(r3.1);
        assert!(
            a_took >= Duration::from_millis(3490) && a_took <= Duration::from_millis(3520),
            "4.5 MB from a take 3.5 s, took {a_took:?}"
        );
        assert!(
            rb.1 >= Duration::from_millis(490) && rb.1 <= Duration::from_millis(520),
            "b's bucket is its own: 1.5 MB take 0.5 s, took {:?}",
            rb.1
        );
        drop((s1, s2, a1));
        assert_eq!(t.peers(), 2, "a's other connection keeps its bucket");
        drop((s3, a2));
        assert_eq!(t.peers(), 1, "a's bucket goes with its last connection");
        drop((sb, b1));
        assert_eq!(t.peers(), 0);
        let mut text = String::new();
        let mut r = Registry::default();
        t.register(&mut r);
        prometheus_client::encoding::text::encode(&mut text, &r).expect("encodes");
        assert!(!text.contains("peer=\""), "gone peers' series go: {text}");
        assert!(t.0.metrics.all.get() > 3.0, "the total stays");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_dropped_while_held_ends_its_hold() {
        let t = Throttle::new(1000.0, TimeScale::REAL);
        let data = pattern(5000, 2);
        let mut m = t.wrap(PeerId::random(), Fake::with(&[&data]));
        let mut s = inbound(&mut m).await;
        let mut buf = [0u8; 2000];
        assert_eq!(s.read(&mut buf).await.expect("reads"), 1000, "the burst");
        // The next read waits for 10 bytes (10 ms at 1 kB/s); give up after 5.
        let read = tokio::time::timeout(Duration::from_millis(5), s.read(&mut buf)).await;
        assert!(read.is_err() && s.held, "held: the bucket is empty");
        drop(s);
        let held = t.0.metrics.all.get();
        assert!((held - 0.005).abs() < 1e-9, "held 5 ms, got {held}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_is_virtual() {
        // k = 4: 1 MB a virtual second is 250 kB a real one, and the burst a virtual
        // second's worth, as the message limit's.
        let k = TimeScale::new(4.0).expect("valid");
        let t = Throttle::new(k.real_rate(MB as f64), k);
        let data = pattern(2 * MB, 3);
        let mut m = t.wrap(PeerId::random(), Fake::with(&[&data]));
        let mut s = inbound(&mut m).await;
        let t0 = Instant::now();
        let (got, took, by_1s) = drain(&mut s, t0).await;
        assert!(got == data);
        assert!((1_240_000..=1_250_000).contains(&by_1s), "{by_1s}");
        assert!(
            took >= Duration::from_millis(3990) && took <= Duration::from_millis(4020),
            "the second MB takes 4 real seconds, took {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn small_reads_wait_for_their_own_size_only() {
        // 1 kB/s: a 4-byte read after the burst waits 4 ms, not the 10 ms tick's 10 bytes.
        let t = Throttle::new(1000.0, TimeScale::REAL);
        let data = pattern(1004, 4);
        let mut m = t.wrap(PeerId::random(), Fake::with(&[&data]));
        let mut s = inbound(&mut m).await;
        let mut burst = vec![0u8; 1000];
        s.read_exact(&mut burst).await.expect("the burst");
        let t0 = Instant::now();
        let mut small = [0u8; 4];
        s.read_exact(&mut small).await.expect("four more");
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(4) && took <= Duration::from_millis(6),
            "{took:?}"
        );
        assert_eq!(&small[..], &data[1000..]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_reconnects_gets_back_only_what_its_bucket_refilled() {
        let t = Throttle::new(MB as f64, TimeScale::REAL);
        let peer = PeerId::random();
        let data = pattern(MB, 3);
        let mut m = t.wrap(peer, Fake::with(&[&data]));
        let mut s = inbound(&mut m).await;
        let (got, took, _) = drain(&mut s, Instant::now()).await;
        assert!(
            got == data && took < Duration::from_millis(20),
            "the burst, at once"
        );
        drop((s, m));
        assert_eq!(t.peers(), 0, "its bucket went with its connection");
        // Back 100 ms later: 0.1 MB refilled, not a new burst of 1 MB.
        tokio::time::advance(Duration::from_millis(100)).await;
        let again = pattern(MB / 2, 4);
        let mut m = t.wrap(peer, Fake::with(&[&again]));
        let mut s = inbound(&mut m).await;
        let (got, took, _) = drain(&mut s, Instant::now()).await;
        assert!(got == again);
        assert!(
            took >= Duration::from_millis(390) && took <= Duration::from_millis(420),
            "0.5 MB with 0.1 MB in the bucket take 0.4 s, took {took:?}"
        );
        drop((s, m));
        // Once it would have refilled, it is forgotten: a full burst again.
        tokio::time::advance(Duration::from_secs(2)).await;
        let mut m = t.wrap(peer, Fake::with(&[&data]));
        let mut s = inbound(&mut m).await;
        let (_, took, _) = drain(&mut s, Instant::now()).await;
        assert!(
            took < Duration::from_millis(20),
            "a full bucket, took {took:?}"
        );
    }
}
