//! Connection handshakes in words, for the terminal summary and the HTML report alike:
//! one line per (transport, security, group).

use crate::analysis::{HandshakeRow, HandshakeStats};

/// `tcp: tls X25519MLKEM768 (n=40), p50/p95/p99 3.1/5.0/9.8 ms, 3793 B/handshake`.
pub(crate) fn row_line(r: &HandshakeRow) -> String {
    format!(
        "{}: {} {} (n={}), p50/p95/p99 {} ms, {}",
        r.transport,
        r.security,
        r.group,
        r.times.connections,
        percentiles(r),
        bytes_text(r)
    )
}

/// `3.1/5.0/9.8`, `-` for a missing figure.
pub(crate) fn percentiles(r: &HandshakeRow) -> String {
    let t = &r.times;
    [t.p50_ms, t.p95_ms, t.p99_ms]
        .iter()
        .map(|v| v.map_or_else(|| "-".to_string(), |ms| format!("{ms:.1}")))
        .collect::<Vec<_>>()
        .join("/")
}

/// `3793 B/handshake`, or what is not seen.
pub(crate) fn bytes_text(r: &HandshakeRow) -> String {
    r.median_bytes.map_or_else(
        || "bytes not seen".to_string(),
        |b| format!("{b} B/handshake"),
    )
}

/// The summary's lines, one per row, and the dials left out.
pub(crate) fn lines(s: &HandshakeStats) -> Vec<String> {
    let mut lines: Vec<String> = s.rows.iter().map(row_line).collect();
    if s.early_dials > 0 {
        lines.push(early_text(s.early_dials));
    }
    lines
}

/// The dials left out of the times, and why.
pub(crate) fn early_text(n: u64) -> String {
    format!("{n} dials left out: made before their listener had started (their time is its boot)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::HandshakeTimes;

    #[test]
    fn a_row_reads_as_one_line() {
        let r = HandshakeRow {
            transport: "tcp".into(),
            security: "tls".into(),
            group: "X25519MLKEM768".into(),
            times: HandshakeTimes {
                connections: 40,
                p50_ms: Some(3.06),
                p95_ms: Some(5.0),
                p99_ms: None,
                max_ms: Some(9.0),
            },
            median_bytes: Some(3793),
        };
        assert_eq!(
            row_line(&r),
            "tcp: tls X25519MLKEM768 (n=40), p50/p95/p99 3.1/5.0/- ms, 3793 B/handshake"
        );
    }
}
