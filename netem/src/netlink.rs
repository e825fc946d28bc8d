//! The few netlink messages of the NFQUEUE protocol the delay line needs, encoded and
//! decoded by hand (`linux/netfilter/nfnetlink_queue.h`): configuration requests, the
//! packet id, arrival stamp and (when asked for) IPv4 source out of each queued-packet
//! message, and accept or drop verdicts, many of which go to the kernel in one buffer (one
//! `send` per release batch instead of one per packet).
//!
//! Netlink and attribute headers are in host byte order; the nfnetlink resource id and
//! every NFQUEUE attribute payload are big-endian.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Length of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// Length of `struct nfgenmsg`.
const NFGEN_HDRLEN: usize = 4;
/// Length of `struct nlattr`.
const NLA_HDRLEN: usize = 4;
/// `NFNL_SUBSYS_QUEUE`, the high byte of every NFQUEUE message type.
const SUBSYS_QUEUE: u16 = 3 << 8;
const MSG_PACKET: u16 = SUBSYS_QUEUE;
const MSG_VERDICT: u16 = SUBSYS_QUEUE | 1;
const MSG_CONFIG: u16 = SUBSYS_QUEUE | 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const NFNETLINK_V0: u8 = 0;
const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_TIMESTAMP: u16 = 4;
const NFQA_PAYLOAD: u16 = 10;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;
const NFQNL_COPY_META: u8 = 1;
const NFQNL_COPY_PACKET: u8 = 2;
/// Bytes of each packet copied when the source is needed: the IPv4 header up to and
/// including the source address.
pub(crate) const SOURCE_COPY_LEN: u32 = 16;
/// `NFQA_CFG_F_GSO`: hand over GSO packets whole instead of segmenting them first.
const NFQA_CFG_F_GSO: u32 = 1 << 2;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
/// Size of one encoded verdict.
pub(crate) const VERDICT_LEN: usize = NLMSG_HDRLEN + NFGEN_HDRLEN + NLA_HDRLEN + 8;

/// A configuration request for one queue number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Config {
    /// Bind the socket to the queue.
    Bind,
    /// Unbind it.
    Unbind,
    /// Copy metadata only (no payload).
    MetadataOnly,
    /// Copy the first [`SOURCE_COPY_LEN`] bytes of each packet, for its source address.
    SourceHeader,
    /// Queue GSO packets whole.
    WholeGso,
    /// Most packets waiting for a verdict; the kernel drops beyond.
    MaxLen(u32),
}

/// A queued packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packet {
    /// Its id, to accept it by.
    pub(crate) id: u32,
    /// When the kernel received it (`NFQA_TIMESTAMP`, wall clock since the Unix epoch, in
    /// microseconds); absent unless packet time stamping is on (any socket asking for
    /// receive time stamps turns it on for the whole host).
    pub(crate) stamp: Option<Duration>,
    /// The IPv4 source address, when the queue copies the header ([`Config::SourceHeader`])
    /// and the packet is IPv4.
    pub(crate) source: Option<Ipv4Addr>,
}

/// What one message from the kernel says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A queued packet.
    Packet(Packet),
    /// An acknowledgement (error 0) or a failure (a positive errno).
    Ack(i32),
    /// Anything else (ignored).
    Other,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends a netlink + nfnetlink header; returns where the message starts.
fn begin(buf: &mut Vec<u8>, msg_type: u16, flags: u16, queue: u16) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by `end`
    buf.extend_from_slice(&msg_type.to_ne_bytes());
    buf.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // sequence
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    buf.push(0); // AF_UNSPEC
    buf.push(NFNETLINK_V0);
    buf.extend_from_slice(&queue.to_be_bytes());
    start
}

fn attr(buf: &mut Vec<u8>, attr_type: u16, payload: &[u8]) {
    let len = NLA_HDRLEN + payload.len();
    buf.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
    buf.extend_from_slice(&attr_type.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len() + align4(len) - len, 0);
}

fn end(buf: &mut [u8], start: usize) {
    let len = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// Appends a configuration request for `queue`, asking for an acknowledgement.
pub(crate) fn put_config(buf: &mut Vec<u8>, queue: u16, config: Config) {
    let start = begin(buf, MSG_CONFIG, NLM_F_ACK, queue);
    match config {
        // struct nfqnl_msg_config_cmd { u8 command; u8 pad; be16 pf; }
        Config::Bind => attr(buf, NFQA_CFG_CMD, &[1, 0, 0, 0]),
        Config::Unbind => attr(buf, NFQA_CFG_CMD, &[2, 0, 0, 0]),
        // struct nfqnl_msg_config_params { be32 copy_range; u8 copy_mode; } (packed)
        Config::MetadataOnly => attr(buf, NFQA_CFG_PARAMS, &[0, 0, 0, 0, NFQNL_COPY_META]),
        Config::SourceHeader => {
            let mut params = [0u8; 5];
            params[..4].copy_from_slice(&SOURCE_COPY_LEN.to_be_bytes());
            params[4] = NFQNL_COPY_PACKET;
            attr(buf, NFQA_CFG_PARAMS, &params);
        }
        Config::WholeGso => {
            attr(buf, NFQA_CFG_FLAGS, &NFQA_CFG_F_GSO.to_be_bytes());
            attr(buf, NFQA_CFG_MASK, &NFQA_CFG_F_GSO.to_be_bytes());
        }
        Config::MaxLen(len) => attr(buf, NFQA_CFG_QUEUE_MAXLEN, &len.to_be_bytes()),
    }
    end(buf, start);
}

/// Appends an accept verdict for packet `id` of `queue` ([`VERDICT_LEN`] bytes).
pub(crate) fn put_accept(buf: &mut Vec<u8>, queue: u16, id: u32) {
    put_verdict(buf, queue, id, NF_ACCEPT);
}

/// Appends a drop verdict for packet `id` of `queue` ([`VERDICT_LEN`] bytes).
pub(crate) fn put_drop(buf: &mut Vec<u8>, queue: u16, id: u32) {
    put_verdict(buf, queue, id, NF_DROP);
}

fn put_verdict(buf: &mut Vec<u8>, queue: u16, id: u32, verdict: u32) {
    let start = begin(buf, MSG_VERDICT, 0, queue);
    let mut hdr = [0u8; 8];
    hdr[..4].copy_from_slice(&verdict.to_be_bytes());
    hdr[4..].copy_from_slice(&id.to_be_bytes());
    attr(buf, NFQA_VERDICT_HDR, &hdr);
    end(buf, start);
}

/// The messages in one datagram from the kernel; a truncated tail is ignored.
pub(crate) fn replies(mut buf: &[u8]) -> impl Iterator<Item = Reply> + '_ {
    std::iter::from_fn(move || {
        let len = usize::try_from(u32::from_ne_bytes(buf.get(..4)?.try_into().ok()?)).ok()?;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return None;
        }
        let msg = &buf[..len];
        buf = buf.get(align4(len)..).unwrap_or_default();
        let msg_type = u16::from_ne_bytes([msg[4], msg[5]]);
        Some(match msg_type {
            NLMSG_ERROR => msg
                .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                .and_then(|b| b.try_into().ok())
                .map_or(Reply::Other, |b| {
                    Reply::Ack(i32::from_ne_bytes(b).saturating_abs())
                }),
            MSG_PACKET => packet(&msg[NLMSG_HDRLEN..]).map_or(Reply::Other, Reply::Packet),
            _ => Reply::Other,
        })
    })
}

/// The id (`NFQA_PACKET_HDR`), arrival stamp (`NFQA_TIMESTAMP`, if any) and IPv4 source
/// (from `NFQA_PAYLOAD`, if copied) in the attributes of a packet message's body; `None`
/// without an id.
fn packet(body: &[u8]) -> Option<Packet> {
    let mut attrs = body.get(NFGEN_HDRLEN..)?;
    let (mut id, mut stamp, mut source) = (None, None, None);
    while attrs.len() >= NLA_HDRLEN {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let attr_type = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < NLA_HDRLEN || len > attrs.len() {
            break;
        }
        let payload = &attrs[NLA_HDRLEN..len];
        match attr_type {
            // struct nfqnl_msg_packet_hdr { be32 packet_id; be16 hw_protocol; u8 hook; }
            NFQA_PACKET_HDR => id = be_u32(payload),
            // struct nfqnl_msg_packet_timestamp { be64 sec; be64 usec; }
            NFQA_TIMESTAMP => stamp = timestamp(payload),
            NFQA_PAYLOAD => source = ipv4_source(payload),
            _ => {}
        }
        attrs = attrs.get(align4(len)..).unwrap_or_default();
    }
    id.map(|id| Packet { id, stamp, source })
}

/// The source address of an IPv4 header's first bytes; `None` for another version or a
/// short copy.
fn ipv4_source(header: &[u8]) -> Option<Ipv4Addr> {
    let version = header.first()? >> 4;
    let octets: [u8; 4] = header.get(12..16)?.try_into().ok()?;
    (version == 4).then(|| Ipv4Addr::from(octets))
}

fn be_u32(payload: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?))
}

/// A `struct nfqnl_msg_packet_timestamp` as a time since the epoch; `None` if short or
/// zero (the kernel sends none when the packet has no stamp, but never trust a zero).
fn timestamp(payload: &[u8]) -> Option<Duration> {
    let sec = u64::from_be_bytes(payload.get(..8)?.try_into().ok()?);
    let usec = u64::from_be_bytes(payload.get(8..16)?.try_into().ok()?);
    let stamp = Duration::from_secs(sec).checked_add(Duration::from_micros(usec))?;
    (!stamp.is_zero()).then_some(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet message as the kernel sends it: header, nfgenmsg, a mark attribute, then
    /// the packet header attribute.
    fn packet_message(id: u32) -> Vec<u8> {
        stamped_message(id, None)
    }

    /// The same with an `NFQA_TIMESTAMP` (seconds, microseconds) after the header, as the
    /// kernel puts it when the packet has a stamp.
    fn stamped_message(id: u32, stamp: Option<(u64, u64)>) -> Vec<u8> {
        let mut buf = Vec::new();
        let start = begin(&mut buf, MSG_PACKET, 0, 7);
        attr(&mut buf, 3, &5u32.to_be_bytes()); // NFQA_MARK
        let mut hdr = id.to_be_bytes().to_vec();
        hdr.extend_from_slice(&[0x08, 0x00, 1]);
        attr(&mut buf, NFQA_PACKET_HDR, &hdr);
        if let Some((sec, usec)) = stamp {
            let mut ts = sec.to_be_bytes().to_vec();
            ts.extend_from_slice(&usec.to_be_bytes());
            attr(&mut buf, NFQA_TIMESTAMP, &ts);
        }
        attr(&mut buf, 5, &2u32.to_be_bytes()); // NFQA_IFINDEX_INDEV
        end(&mut buf, start);
        buf
    }

    fn id_only(id: u32) -> Reply {
        Reply::Packet(Packet {
            id,
            stamp: None,
            source: None,
        })
    }

    #[test]
    fn accept_verdicts_are_laid_out_as_the_kernel_reads_them() {
        let mut buf = Vec::new();
        put_accept(&mut buf, 0x0102, 0xdead_beef);
        assert_eq!(buf.len(), VERDICT_LEN);
        assert_eq!(u32::from_ne_bytes(buf[..4].try_into().expect("4")), 32);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), 0x0301);
        assert_eq!(u16::from_ne_bytes([buf[6], buf[7]]), NLM_F_REQUEST);
        assert_eq!(&buf[16..20], &[0, 0, 0x01, 0x02]);
        assert_eq!(u16::from_ne_bytes([buf[20], buf[21]]), 12);
        assert_eq!(u16::from_ne_bytes([buf[22], buf[23]]), NFQA_VERDICT_HDR);
        assert_eq!(&buf[24..], &[0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn verdicts_pack_back_to_back() {
        let mut buf = Vec::new();
        for id in 0..3 {
            put_accept(&mut buf, 0, id);
        }
        assert_eq!(buf.len(), 3 * VERDICT_LEN);
        assert_eq!(&buf[2 * VERDICT_LEN + 28..], &[0, 0, 0, 2]);
    }

    #[test]
    fn config_requests_ask_for_an_ack_and_pad_attributes() {
        let mut buf = Vec::new();
        put_config(&mut buf, 3, Config::MetadataOnly);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), MSG_CONFIG);
        assert_eq!(
            u16::from_ne_bytes([buf[6], buf[7]]),
            NLM_F_REQUEST | NLM_F_ACK
        );
        // 16 + 4 + (4 + 5 padded to 8)
        assert_eq!(buf.len(), 32);
        assert_eq!(u32::from_ne_bytes(buf[..4].try_into().expect("4")), 32);
        assert_eq!(u16::from_ne_bytes([buf[20], buf[21]]), 9);
        let mut gso = Vec::new();
        put_config(&mut gso, 3, Config::WholeGso);
        assert_eq!(gso.len(), 16 + 4 + 8 + 8);
        assert_eq!(&gso[24..28], &[0, 0, 0, 4]);
    }

    #[test]
    fn reads_packet_ids_and_acks() {
        let mut buf = packet_message(41);
        buf.extend(packet_message(0x0102_0304));
        let mut err = Vec::new();
        err.extend_from_slice(&36u32.to_ne_bytes());
        err.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        err.extend_from_slice(&[0; 10]);
        err.extend_from_slice(&(-2i32).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        buf.extend(err);
        let got: Vec<Reply> = replies(&buf).collect();
        assert_eq!(got, [id_only(41), id_only(0x0102_0304), Reply::Ack(2)]);
    }

    #[test]
    fn truncated_or_foreign_messages_yield_nothing_wrong() {
        let whole = packet_message(9);
        assert_eq!(replies(&whole[..whole.len() - 1]).count(), 0);
        let mut no_hdr = Vec::new();
        let start = begin(&mut no_hdr, MSG_PACKET, 0, 0);
        attr(&mut no_hdr, 3, &[0; 4]);
        end(&mut no_hdr, start);
        assert_eq!(replies(&no_hdr).collect::<Vec<_>>(), [Reply::Other]);
        assert_eq!(replies(&[]).count(), 0);
    }

    #[test]
    fn reads_the_arrival_stamp_when_the_kernel_sends_one() {
        let buf = stamped_message(7, Some((1_764_000_000, 123_456)));
        let stamp = Duration::from_secs(1_764_000_000) + Duration::from_micros(123_456);
        assert_eq!(
            replies(&buf).collect::<Vec<_>>(),
            [Reply::Packet(Packet {
                id: 7,
                stamp: Some(stamp),
                source: None,
            })]
        );
        // A zero stamp is no stamp; a short one is ignored, the id still read.
        let zero = stamped_message(8, Some((0, 0)));
        assert_eq!(replies(&zero).collect::<Vec<_>>(), [id_only(8)]);
        let mut short = Vec::new();
        let start = begin(&mut short, MSG_PACKET, 0, 0);
        attr(&mut short, NFQA_PACKET_HDR, &[0, 0, 0, 9, 8, 0, 1]);
        attr(&mut short, NFQA_TIMESTAMP, &[0; 12]);
        end(&mut short, start);
        assert_eq!(replies(&short).collect::<Vec<_>>(), [id_only(9)]);
    }

    #[test]
    fn reads_the_ipv4_source_from_the_copied_header() {
        let mut buf = Vec::new();
        let start = begin(&mut buf, MSG_PACKET, 0, 0);
        attr(&mut buf, NFQA_PACKET_HDR, &[0, 0, 0, 5, 8, 0, 1]);
        let mut header = [0u8; 16];
        header[0] = 0x45;
        header[12..16].copy_from_slice(&[10, 77, 1, 9]);
        attr(&mut buf, NFQA_PAYLOAD, &header);
        end(&mut buf, start);
        assert_eq!(
            replies(&buf).collect::<Vec<_>>(),
            [Reply::Packet(Packet {
                id: 5,
                stamp: None,
                source: Some(Ipv4Addr::new(10, 77, 1, 9)),
            })]
        );
        // Not IPv4, or cut short: no source.
        header[0] = 0x60;
        assert_eq!(ipv4_source(&header), None);
        assert_eq!(ipv4_source(&[0x45; 12]), None);
    }

    #[test]
    fn drop_verdicts_differ_from_accepts_only_in_the_verdict() {
        let (mut accept, mut drop) = (Vec::new(), Vec::new());
        put_accept(&mut accept, 1, 9);
        put_drop(&mut drop, 1, 9);
        assert_eq!(drop.len(), VERDICT_LEN);
        assert_eq!(&drop[24..28], &[0, 0, 0, 0]);
        assert_eq!(accept[..24], drop[..24]);
        assert_eq!(accept[28..], drop[28..]);
    }

    #[test]
    fn the_source_header_config_copies_sixteen_bytes() {
        let mut buf = Vec::new();
        put_config(&mut buf, 3, Config::SourceHeader);
        assert_eq!(&buf[24..29], &[0, 0, 0, 16, NFQNL_COPY_PACKET]);
    }
}
