//! A `meshnode` process writing its events to a file (`--events`), killed with SIGKILL in
//! the middle of its stream: every line of the file is a whole record, none is missing
//! before the last (the publish sequence numbers run without a gap), and every record the
//! node had counted (its `/metrics`, read just before the kill) is in the file: nothing
//! was held back in a buffer.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab_events::{Event, Record};

/// Bound on the wait for the node's first records.
const DEADLINE: Duration = Duration::from_secs(60);
/// Records the node must have written before it is killed.
const BEFORE_KILL: usize = 100;
/// How often the file is looked at while waiting.
const POLL: Duration = Duration::from_millis(20);

/// Lines in `path` so far (0 while it does not exist).
fn lines_in(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// A port free on loopback a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.local_addr().expect("address").port()
}

/// The node's `meshnode_publish_failed_total`, from its metrics endpoint.
fn failed_publishes(port: u16) -> u64 {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("metrics endpoint");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
        .lines()
        .find_map(|l| l.strip_prefix("meshnode_publish_failed_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no publish_failed counter in {answer:.500}"))
}

#[test]
fn a_node_killed_mid_stream_leaves_only_whole_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alone.jsonl");
    // Alone, each publish fails (no peer subscribes): a steady stream of small records,
    // 500 a second, with consecutive sequence numbers. One runtime thread (the default):
    // the metrics are answered between two publishes, never inside one.
    let port = free_port();
    let mut node = Command::new(env!("CARGO_BIN_EXE_meshnode"))
        .args(["--name", "alone", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--metrics-port", &port.to_string(), "--mldsa-level", "44"])
        .args(["--publish-rate", "500", "--publish-after-ms", "0"])
        .arg("--events")
        .arg(&path)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshnode starts");

    let started = Instant::now();
    let mut seen = lines_in(&path);
    while seen < BEFORE_KILL {
        assert!(
            started.elapsed() < DEADLINE,
            "only {seen} records after {DEADLINE:?}"
        );
        if let Some(status) = node.try_wait().expect("wait") {
            panic!("meshnode exited early: {status}");
        }
        std::thread::sleep(POLL);
        seen = lines_in(&path);
    }
    let counted = failed_publishes(port);
    node.kill().expect("SIGKILL");
    let status = node.wait().expect("reaped");
    assert!(!status.success(), "{status}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut node.stdout.take().expect("piped"), &mut stdout)
        .expect("stdout");
    assert!(stdout.is_empty(), "events went to stdout: {stdout:.200}");

    let text = std::fs::read_to_string(&path).expect("the file is UTF-8");
    assert!(
        text.ends_with('\n'),
        "a torn last line: {:?}",
        text.lines().last()
    );
    let records: Vec<Record> = text
        .lines()
        .map(|l| Record::parse(l).unwrap_or_else(|e| panic!("not a record ({e}): {l}")))
        .collect();
    assert!(records.len() >= seen, "{} < {seen}", records.len());
    assert!(records.iter().all(|r| r.node == "alone"));
    assert!(matches!(records[0].event, Event::Started { .. }));
    let seqs: Vec<u64> = records
        .iter()
        .filter_map(|r| match r.event {
            Event::PublishFailed { seq, .. } | Event::Published { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert!(seqs.len() >= BEFORE_KILL / 2, "{} publishes", seqs.len());
    let failed = records
        .iter()
        .filter(|r| matches!(r.event, Event::PublishFailed { .. }))
        .count() as u64;
    assert!(
        failed >= counted,
        "the node counted {counted} failed publishes before the kill, the file holds {failed}"
    );
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..first + seqs.len() as u64).collect::<Vec<_>>(),
        "a record is missing"
    );
}
