//! Many datagrams in one system call (`recvmmsg`), into fixed slots of one buffer.

use std::io::IoSliceMut;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, recvmmsg};

/// A buffer of `count` slots of `slot` bytes each, and the length of what each slot holds
/// after [`Datagrams::receive`].
pub(crate) struct Datagrams {
    buf: Vec<u8>,
    slot: usize,
    lens: Vec<usize>,
}

impl Datagrams {
    /// Room for `count` datagrams of up to `slot` bytes each (longer ones are cut).
    pub(crate) fn new(count: usize, slot: usize) -> Self {
        Self {
            buf: vec![0; count.max(1) * slot.max(1)],
            slot: slot.max(1),
            lens: Vec::with_capacity(count.max(1)),
        }
    }

    /// How many datagrams one call reads at most.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len() / self.slot
    }

    /// Reads the datagrams waiting on `fd`, without blocking, up to [`Self::capacity`];
    /// how many were read (`EAGAIN` when none wait).
    pub(crate) fn receive(&mut self, fd: RawFd) -> Result<usize, Errno> {
        self.lens.clear();
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
            .buf
            .chunks_exact_mut(self.slot)
            .map(|slot| [IoSliceMut::new(slot)])
            .collect();
        // Not kept between calls: it holds raw pointers, so a line holding it could not
        // move between threads.
        let mut headers = MultiHeaders::<()>::preallocate(slices.len(), None);
        let got = recvmmsg(
            fd,
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        )?;
        self.lens.extend(got.map(|m| m.bytes));
        Ok(self.lens.len())
    }

    /// The datagrams the last [`Self::receive`] read.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.buf
            .chunks_exact(self.slot)
            .zip(&self.lens)
            .map(|(slot, &len)| &slot[..len.min(slot.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{AddressFamily, SockFlag, SockType, send, socketpair};

    #[test]
    fn reads_every_waiting_datagram_into_its_own_slot() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Datagram,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .expect("socketpair");
        let mut datagrams = Datagrams::new(4, 8);
        assert_eq!(datagrams.receive(b.as_raw_fd()), Err(Errno::EAGAIN));
        for msg in [&b"one"[..], b"two!", b"a longer one", b"4", b"5"] {
            send(a.as_raw_fd(), msg, MsgFlags::empty()).expect("send");
        }
        assert_eq!(datagrams.receive(b.as_raw_fd()), Ok(4));
        let got: Vec<&[u8]> = datagrams.iter().collect();
        assert_eq!(got, [&b"one"[..], b"two!", b"a longer", b"4"]);
        assert_eq!(datagrams.receive(b.as_raw_fd()), Ok(1));
        assert_eq!(datagrams.iter().collect::<Vec<_>>(), [&b"5"[..]]);
    }
}
