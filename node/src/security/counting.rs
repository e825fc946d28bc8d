//! A socket wrapper that counts the bytes read and written through it: the security
//! upgrade reads the count when its handshake ends (the handshake's bytes on the wire,
//! record framing included, multistream-select's negotiation before it excluded).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};

/// A socket `C`, counting every byte through it in both directions (the stream under a
/// secured TCP or relayed connection).
#[derive(Debug)]
pub struct Counting<C> {
    inner: C,
    bytes: Arc<AtomicU64>,
}

/// A handle on a [`Counting`] socket's count, kept by whoever reads it later.
#[derive(Debug, Clone)]
pub(crate) struct Count(Arc<AtomicU64>);

impl Count {
    /// Bytes read plus bytes written so far.
    pub(crate) fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl<C> Counting<C> {
    /// Wraps `inner`; the [`Count`] reads its count.
    pub(crate) fn new(inner: C) -> (Self, Count) {
        let bytes = Arc::new(AtomicU64::new(0));
        (
            Counting {
                inner,
                bytes: bytes.clone(),
            },
            Count(bytes),
        )
    }

    fn add(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl<C: AsyncRead + Unpin> AsyncRead for Counting<C> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            this.add(*n);
        }
        polled
    }
}

impl<C: AsyncWrite + Unpin> AsyncWrite for Counting<C> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            this.add(*n);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn counts_both_directions() {
        futures::executor::block_on(async {
            let (mut socket, count) = Counting::new(futures::io::Cursor::new(vec![1u8; 10]));
            let mut buf = [0u8; 4];
            socket.read_exact(&mut buf).await.expect("read");
            assert_eq!(count.total(), 4);
            socket.write_all(&[0; 3]).await.expect("write");
            assert_eq!(count.total(), 7);
        });
    }
}
