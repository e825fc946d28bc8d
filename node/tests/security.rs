//! Evidence from the wire of what the node's connections negotiate (spec §9.1, hybrid
//! TLS): real nodes on loopback TCP, the dialler going through a relaying proxy that keeps
//! every byte the listener sent; the listener's ServerHello is read from those bytes and
//! its `key_share` group (RFC 8446 §4.2.8) compared with the node's `handshake` event.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use lab_events::{Event, Record};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, SwarmBuilder, identity, noise, tcp, yamux};
use meshnode::security::{Handshakes, Security};
use meshnode::sink::ChannelSink;
use meshnode::{NodeConfig, NodeHandle};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(30);

/// IANA TLS group ids.
const X25519MLKEM768: u16 = 0x11ec;
const X25519: u16 = 0x001d;

/// A node on loopback TCP with `security`, dialling `bootstrap`, and its event records.
async fn node(
    name: &str,
    security: Security,
    bootstrap: Vec<String>,
) -> (NodeHandle, mpsc::Receiver<Record>) {
    let mut config = NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/tcp/0", bootstrap);
    config.security = security;
    let (tx, rx) = mpsc::channel(4096);
    let handle = meshnode::start(config, Box::new(ChannelSink(tx)))
        .await
        .expect("node starts");
    (handle, rx)
}

/// The node's first `handshake` event: (security, group, handshake bytes).
async fn handshake(rx: &mut mpsc::Receiver<Record>) -> (String, String, Option<u64>) {
    let wait = async {
        while let Some(r) = rx.recv().await {
            if let Event::Handshake {
                security,
                group,
                handshake_bytes,
                transport,
                established_us,
                ..
            } = r.event
            {
                assert_eq!(transport, "tcp");
                assert!(established_us > 0);
                return (security, group, handshake_bytes);
            }
        }
        panic!("the node stopped before a handshake");
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("a handshake event in time")
}

fn tcp_port(addr: &Multiaddr) -> u16 {
    addr.iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a tcp address")
}

/// A TCP proxy to `target` on a loopback port: copies bytes both ways and keeps what the
/// target sent, per connection.
struct Proxy {
    addr: SocketAddr,
    from_server: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let from_server = Arc::new(Mutex::new(Vec::new()));
        let kept = from_server.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let slot = {
                    let mut k = kept.lock().expect("lock");
                    k.push(Vec::new());
                    k.len() - 1
                };
                let kept = kept.clone();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                });
                tokio::spawn(async move {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        kept.lock().expect("lock")[slot].extend_from_slice(&buf[..n]);
                    }
                    let _ = cw.shutdown().await;
                });
            }
        });
        Proxy {
            addr,
            from_server,
            task,
        }
    }

    fn multiaddr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.addr.port())
    }

    /// What the server sent on the first connection.
    fn server_bytes(&self) -> Vec<u8> {
        self.from_server.lock().expect("lock")[0].clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Skips multistream-select's messages (a uvarint length, then `/…\n` or `na\n`) at the
/// start of `bytes`; returns the rest.
fn skip_multistream(mut bytes: &[u8]) -> &[u8] {
    loop {
        let Some((&len, rest)) = bytes.split_first() else {
            return bytes;
        };
        // Every message here is shorter than 128 bytes: a one-byte varint.
        let len = usize::from(len);
        if len >= 0x80 || rest.len() < len || len == 0 {
            return bytes;
        }
        let msg = &rest[..len];
        if !(msg.ends_with(b"\n") && (msg.starts_with(b"/") || msg == b"na\n")) {
            return bytes;
        }
        bytes = &rest[len..];
    }
}

/// The handshake messages carried by the plaintext TLS records at the start of `bytes`
/// (record type 22), up to the first other record.
fn plaintext_handshake(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while bytes.len() >= 5 && bytes[0] == 22 {
        let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        let Some(fragment) = bytes.get(5..5 + len) else {
            break;
        };
        out.extend_from_slice(fragment);
        bytes = &bytes[5 + len..];
    }
    out
}

/// The ServerHello's key_share (extension 51): (group, key-exchange length), from a
/// stream of handshake messages.
fn server_hello_key_share(mut msgs: &[u8]) -> Option<(u16, usize)> {
    while msgs.len() >= 4 {
        let kind = msgs[0];
        let len = usize::from(msgs[1]) << 16 | usize::from(msgs[2]) << 8 | usize::from(msgs[3]);
        let body = msgs.get(4..4 + len)?;
        msgs = &msgs[4 + len..];
        if kind != 2 {
            continue;
        }
        // legacy_version, random, session id, cipher suite, compression method.
        let sid = usize::from(*body.get(34)?);
        let mut ext = body.get(35 + sid + 3..)?;
        let ext_len = usize::from(u16::from_be_bytes([*ext.first()?, *ext.get(1)?]));
        ext = ext.get(2..2 + ext_len)?;
        while ext.len() >= 4 {
            let kind = u16::from_be_bytes([ext[0], ext[1]]);
            let len = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            let data = ext.get(4..4 + len)?;
            if kind == 0x0033 {
                let group = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
                let key = data
                    .get(2..4)
                    .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
                return Some((group, key));
            }
            ext = &ext[4 + len..];
        }
        return None;
    }
    None
}

/// The key_share the listener's ServerHello chose, from what it sent.
fn wire_key_share(from_server: &[u8]) -> (u16, usize) {
    let tls = skip_multistream(from_server);
    server_hello_key_share(&plaintext_handshake(tls)).expect("a ServerHello with a key_share")
}

/// A `listener` node with `listen_security` and a dialler with `dial_security` through the
/// proxy: (the dialler's handshake, the listener's ServerHello key share).
async fn connect_through_proxy(
    listen_security: Security,
    dial_security: Security,
) -> ((String, String, Option<u64>), (u16, usize)) {
    let (listener, mut listener_rx) = node("listener", listen_security, Vec::new()).await;
    let target = SocketAddr::from(([127, 0, 0, 1], tcp_port(&listener.listen_addrs[0])));
    let proxy = Proxy::start(target).await;
    let (dialler, mut dialler_rx) = node("dialler", dial_security, vec![proxy.multiaddr()]).await;
    let seen = handshake(&mut dialler_rx).await;
    let (l_security, l_group, _) = handshake(&mut listener_rx).await;
    assert_eq!(
        (l_security.as_str(), l_group.as_str()),
        (seen.0.as_str(), seen.1.as_str())
    );
    let wire = wire_key_share(&proxy.server_bytes());
    dialler.shutdown().await.expect("dialler stops");
    listener.shutdown().await.expect("listener stops");
    (seen, wire)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_nodes_agree_on_x25519mlkem768_on_the_wire() {
    let ((security, group, bytes), (wire_group, key_len)) =
        connect_through_proxy(Security::Hybrid, Security::Hybrid).await;
    assert_eq!(security, "tls");
    assert_eq!(group, "X25519MLKEM768");
    assert_eq!(wire_group, X25519MLKEM768, "ServerHello key_share group");
    assert_eq!(key_len, 1088 + 32, "ML-KEM-768 ciphertext and X25519 share");
    assert!(bytes.is_some_and(|b| b > 1184 + 1088), "{bytes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_falls_back_to_x25519_with_a_classical_peer() {
    let ((security, group, _), (wire_group, key_len)) =
        connect_through_proxy(Security::Classical, Security::Hybrid).await;
    assert_eq!((security.as_str(), group.as_str()), ("tls", "X25519"));
    assert_eq!(wire_group, X25519);
    assert_eq!(key_len, 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pq_only_and_hybrid_agree_on_x25519mlkem768() {
    let ((security, group, _), (wire_group, _)) =
        connect_through_proxy(Security::Hybrid, Security::PqOnly).await;
    assert_eq!(
        (security.as_str(), group.as_str()),
        ("tls", "X25519MLKEM768")
    );
    assert_eq!(wire_group, X25519MLKEM768);
}

/// The hybrid's cost in bytes: its client share (1184 B of ML-KEM-768 key) and server share
/// (1088 B of ciphertext) beyond the classical handshake, give or take a few bytes of
/// ECDSA signature length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hybrid_handshake_costs_its_two_key_shares_in_bytes() {
    let ((_, _, hybrid), _) = connect_through_proxy(Security::Hybrid, Security::Hybrid).await;
    let ((_, group, classical), _) =
        connect_through_proxy(Security::Classical, Security::Classical).await;
    assert_eq!(group, "X25519");
    let (hybrid, classical) = (hybrid.expect("bytes"), classical.expect("bytes"));
    let extra = hybrid.abs_diff(classical);
    eprintln!("handshake bytes: hybrid {hybrid}, classical {classical}, extra {extra}");
    assert!(
        hybrid > classical && (2200..2400).contains(&extra),
        "hybrid {hybrid} B, classical {classical} B"
    );
}

/// A `pq-only` dialler (the node's own swarm) meets a `classical` listener: no common
/// group, the TLS handshake fails and so does the dial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pq_only_refuses_a_classical_peer() {
    let (listener, _rx) = node("classical", Security::Classical, Vec::new()).await;
    let mut config = NodeConfig::sharing_a_host("pq", "/ip4/127.0.0.1/tcp/0", Vec::new());
    config.security = Security::PqOnly;
    let handshakes = Handshakes::default();
    let mut swarm = meshnode::behaviour::swarm(
        identity::Keypair::generate_ed25519(),
        &config,
        &handshakes,
        &mut Registry::default(),
    )
    .expect("swarm");
    swarm
        .dial(listener.listen_addrs[0].clone())
        .expect("dial starts");
    let outcome = tokio::time::timeout(DEADLINE, async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::OutgoingConnectionError { error, .. } => return Err(error),
                SwarmEvent::ConnectionEstablished { .. } => return Ok(()),
                _ => {}
            }
        }
    })
    .await
    .expect("the dial ends in time");
    let error = outcome.expect_err("pq-only must refuse a classical-only peer");
    let text = format!("{error:?}");
    assert!(
        text.contains("Tls(") && text.contains("HandshakeFailure"),
        "a TLS handshake failure: {text}"
    );
    assert!(handshakes.is_empty(), "no upgrade finished");
    listener.shutdown().await.expect("stops");
}

/// A peer that offers only noise still connects to a hybrid node, which records it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noise_only_peer_falls_back_to_noise() {
    let (listener, mut rx) = node("hybrid", Security::Hybrid, Vec::new()).await;
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| libp2p::swarm::dummy::Behaviour)
        .expect("behaviour")
        .build();
    swarm
        .dial(listener.listen_addrs[0].clone())
        .expect("dial starts");
    let driver = tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let (security, group, bytes) = handshake(&mut rx).await;
    assert_eq!((security.as_str(), group.as_str()), ("noise", "X25519"));
    assert!(bytes.is_some_and(|b| b > 0));
    driver.abort();
    listener.shutdown().await.expect("stops");
}

#[test]
fn the_server_hello_parser_reads_a_key_share() {
    // multistream header and echo, then one record with a ServerHello: no session id,
    // TLS_AES_128_GCM_SHA256, supported_versions and key_share (X25519, 32 bytes).
    let mut hello = vec![0x03, 0x03];
    hello.extend([0u8; 32]);
    hello.extend([0, 0x13, 0x01, 0]);
    let mut ext = vec![
        0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 36, 0x00, 0x1d, 0, 32,
    ];
    ext.extend([7u8; 32]);
    hello.extend((ext.len() as u16).to_be_bytes());
    hello.extend(ext);
    let mut msg = vec![2, 0, (hello.len() >> 8) as u8, hello.len() as u8];
    msg.extend(hello);
    let mut wire = vec![19];
    wire.extend(b"/multistream/1.0.0\n");
    wire.push(11);
    wire.extend(b"/tls/1.0.0\n");
    wire.extend([22, 3, 3]);
    wire.extend((msg.len() as u16).to_be_bytes());
    wire.extend(msg);
    assert_eq!(wire_key_share(&wire), (X25519, 32));
}

/// A UDP proxy to `target`: relays datagrams both ways for one client and keeps them,
/// client to server and server to client.
struct UdpProxy {
    addr: SocketAddr,
    to_server: Arc<Mutex<Vec<Vec<u8>>>>,
    to_client: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl UdpProxy {
    async fn start(target: SocketAddr) -> UdpProxy {
        let front = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let back = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = front.local_addr().expect("address");
        let to_server = Arc::new(Mutex::new(Vec::new()));
        let to_client = Arc::new(Mutex::new(Vec::new()));
        let (up, down) = (to_server.clone(), to_client.clone());
        let task = tokio::spawn(async move {
            let mut client = None;
            let (mut a, mut b) = ([0u8; 65536], [0u8; 65536]);
            loop {
                tokio::select! {
                    Ok((n, from)) = front.recv_from(&mut a) => {
                        client = Some(from);
                        up.lock().expect("lock").push(a[..n].to_vec());
                        let _ = back.send_to(&a[..n], target).await;
                    }
                    Ok((n, _)) = back.recv_from(&mut b) => {
                        down.lock().expect("lock").push(b[..n].to_vec());
                        if let Some(c) = client {
                            let _ = front.send_to(&b[..n], c).await;
                        }
                    }
                }
            }
        });
        UdpProxy {
            addr,
            to_server,
            to_client,
            task,
        }
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A QUIC variable-length integer at the start of `b`: (value, its length).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let mut v = u64::from(first & 0x3f);
    for &x in b.get(1..len)? {
        v = v << 8 | u64::from(x);
    }
    Some((v, len))
}

/// A long-header Initial packet's parts: (DCID, the offset of its packet number, the
/// offset where it ends), or `None` for anything else.
fn initial_parts(p: &[u8]) -> Option<(&[u8], usize, usize)> {
    let first = *p.first()?;
    // Long header, type Initial (0), version 1. The fixed bit (0x40) is not checked:
    // quinn greases it (RFC 9287) when the peer allows.
    if first & 0x80 == 0 || (first >> 4) & 0x03 != 0 || p.get(1..5)? != [0, 0, 0, 1] {
        return None;
    }
    let dcid_len = usize::from(*p.get(5)?);
    let dcid = p.get(6..6 + dcid_len)?;
    let mut at = 6 + dcid_len;
    at += 1 + usize::from(*p.get(at)?); // source connection id
    let (token, n) = varint(p.get(at..)?)?;
    at += n + usize::try_from(token).ok()?;
    let (length, n) = varint(p.get(at..)?)?;
    at += n;
    Some((dcid, at, at + usize::try_from(length).ok()?))
}

/// The CRYPTO frames of a decrypted Initial payload: (offset, data).
fn crypto_frames(mut payload: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut chunks: Vec<(u64, Vec<u8>)> = Vec::new();
    while let Some((kind, n)) = varint(payload) {
        payload = &payload[n..];
        match kind {
            0x00 | 0x01 => {} // PADDING, PING
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, then (gap, length) pairs.
                let mut fields = 4;
                let mut i = 0;
                while i < fields {
                    let (v, n) = varint(payload)?;
                    payload = &payload[n..];
                    if i == 2 {
                        fields += 2 * usize::try_from(v).ok()?;
                    }
                    i += 1;
                }
                if kind == 0x03 {
                    for _ in 0..3 {
                        let (_, n) = varint(payload)?;
                        payload = &payload[n..];
                    }
                }
            }
            0x06 => {
                let (offset, n) = varint(payload)?;
                payload = &payload[n..];
                let (len, n) = varint(payload)?;
                payload = &payload[n..];
                let len = usize::try_from(len).ok()?;
                chunks.push((offset, payload.get(..len)?.to_vec()));
                payload = &payload[len..];
            }
            _ => break,
        }
    }
    Some(chunks)
}

/// The CRYPTO stream from offset 0 as far as it is contiguous.
fn crypto_stream(mut chunks: Vec<(u64, Vec<u8>)>) -> Vec<u8> {
    chunks.sort();
    let mut out = Vec::new();
    for (offset, data) in chunks {
        let Ok(offset) = usize::try_from(offset) else {
            break;
        };
        if offset > out.len() {
            break;
        }
        out.extend(data.iter().skip(out.len() - offset));
    }
    out
}

/// The server's ServerHello key share, from the server's Initial packets decrypted with
/// the Initial keys derived from the client's first destination connection id (RFC 9001
/// §5.2: anyone on the path can).
fn quic_server_key_share(to_server: &[Vec<u8>], to_client: &[Vec<u8>]) -> Option<(u16, usize)> {
    use rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256;
    let suite = TLS13_AES_128_GCM_SHA256.tls13()?.quic_suite()?;
    // Each connection the client opened through the proxy: its first Initial's DCID.
    let mut dcids: Vec<&[u8]> = Vec::new();
    for (dcid, _, _) in to_server.iter().filter_map(|d| initial_parts(d)) {
        if !dcids.contains(&dcid) {
            dcids.push(dcid);
        }
    }
    dcids.into_iter().find_map(|dcid| {
        let keys = suite.keys(dcid, rustls::Side::Client, rustls::quic::Version::V1);
        let mut chunks = Vec::new();
        for datagram in to_client {
            // Another connection's packets do not decrypt with these keys: skipped.
            if let Some(frames) = decrypt_initial(&keys, datagram) {
                chunks.extend(frames);
            }
            if let Some(share) = server_hello_key_share(&crypto_stream(chunks.clone())) {
                return Some(share);
            }
        }
        None
    })
}

/// The CRYPTO frames of the Initial packet at the start of `datagram`, if it is one and
/// decrypts with `keys` (header protection removed first, RFC 9001 §5.4).
fn decrypt_initial(keys: &rustls::quic::Keys, datagram: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let (_, pn_at, end) = initial_parts(datagram)?;
    let mut p = datagram.get(..end)?.to_vec();
    let sample = p
        .get(pn_at + 4..pn_at + 4 + keys.remote.header.sample_len())?
        .to_vec();
    let (head, rest) = p.split_at_mut(pn_at);
    keys.remote
        .header
        .decrypt_in_place(&sample, &mut head[0], rest.get_mut(..4)?)
        .ok()?;
    let pn_len = usize::from(p[0] & 0x03) + 1;
    let pn = p[pn_at..pn_at + pn_len]
        .iter()
        .fold(0u64, |v, &b| v << 8 | u64::from(b));
    let (header, payload) = p.split_at_mut(pn_at + pn_len);
    let plain = keys
        .remote
        .packet
        .decrypt_in_place(pn, header, payload)
        .ok()?;
    crypto_frames(plain)
}

/// The node's first `handshake` event: (transport, security, group, bytes).
async fn quic_handshake(rx: &mut mpsc::Receiver<Record>) -> (String, String, String, Option<u64>) {
    let wait = async {
        while let Some(r) = rx.recv().await {
            if let Event::Handshake {
                transport,
                security,
                group,
                handshake_bytes,
                ..
            } = r.event
            {
                return (transport, security, group, handshake_bytes);
            }
        }
        panic!("the node stopped before a handshake");
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("a handshake event in time")
}

/// Two hybrid nodes over QUIC, through the UDP proxy: the ServerHello in the server's
/// Initial packet chose X25519MLKEM768 (libp2p-quic's own TLS settings), although the
/// node can only report the group as `unknown`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_initial_packets_show_x25519mlkem768() {
    let quic = |name: &str, bootstrap: Vec<String>| {
        let mut c = NodeConfig::sharing_a_host(name, "/ip4/127.0.0.1/udp/0/quic-v1", bootstrap);
        c.security = Security::Hybrid;
        c
    };
    let (tx, mut listener_rx) = mpsc::channel(4096);
    let listener = meshnode::start(quic("listener", Vec::new()), Box::new(ChannelSink(tx)))
        .await
        .expect("listener starts");
    let port = listener.listen_addrs[0]
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Udp(port) => Some(port),
            _ => None,
        })
        .expect("a udp address");
    let proxy = UdpProxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let via = format!("/ip4/127.0.0.1/udp/{}/quic-v1", proxy.addr.port());
    let (tx, mut dialler_rx) = mpsc::channel(4096);
    let dialler = meshnode::start(quic("dialler", vec![via]), Box::new(ChannelSink(tx)))
        .await
        .expect("dialler starts");
    let seen = quic_handshake(&mut dialler_rx).await;
    assert_eq!(
        seen,
        ("quic".into(), "quic-tls".into(), "unknown".into(), None),
        "the node reports what it cannot see as unknown"
    );
    quic_handshake(&mut listener_rx).await;
    let to_server = proxy.to_server.lock().expect("lock").clone();
    let to_client = proxy.to_client.lock().expect("lock").clone();
    let Some((group, key_len)) = quic_server_key_share(&to_server, &to_client) else {
        panic!(
            "no ServerHello in the Initials: {} datagrams to the server, {} back",
            to_server.len(),
            to_client.len()
        );
    };
    assert_eq!(group, X25519MLKEM768, "ServerHello key_share group");
    assert_eq!(key_len, 1088 + 32);
    dialler.shutdown().await.expect("stops");
    listener.shutdown().await.expect("stops");
}
