//! The one place where a dilated run's measurements become virtual time (README, "Virtual
//! time"): nodes write real clock times into their events, and the orchestrator maps every
//! time and duration it collected onto the scenario's virtual time line before anything
//! is measured. The two time lines coincide at the traffic start (`origin`), so a virtual
//! instant is `origin + (real − origin) / k` and a measured duration is `real / k`.
//! At `k = 1` nothing changes.

use lab_config::TimeScale;
use lab_events::{Event, Record};

use super::outcome::Window;

/// `records` on the virtual time line of `k` anchored at `origin_ns`.
pub(super) fn records(mut records: Vec<Record>, k: TimeScale, origin_ns: u64) -> Vec<Record> {
    if k.is_real() {
        return records;
    }
    let at = |ns: u64| k.virtual_instant(origin_ns, ns);
    let span = |v: u64| (v as f64 / k.factor()).round() as u64;
    for r in &mut records {
        r.ts_ns = at(r.ts_ns);
        match &mut r.event {
            Event::Delivered {
                published_ns,
                received_ns,
                ..
            } => {
                *published_ns = at(*published_ns);
                *received_ns = at(*received_ns);
            }
            Event::Ping { rtt_us, .. } => *rtt_us = span(*rtt_us),
            Event::HolePunchResult { duration_us, .. } | Event::DhtQuery { duration_us, .. } => {
                *duration_us = span(*duration_us)
            }
            Event::Handshake { established_us, .. } => *established_us = span(*established_us),
            Event::CpuProbe {
                sign_ns, verify_ns, ..
            } => {
                *sign_ns = span(*sign_ns);
                *verify_ns = span(*verify_ns);
            }
            Event::Started { .. }
            | Event::Published { .. }
            | Event::PublishFailed { .. }
            | Event::Rejected { .. }
            | Event::PeerConnected { .. }
            | Event::PeerDisconnected { .. }
            | Event::Mesh { .. }
            | Event::Scores { .. }
            | Event::NatStatus { .. }
            | Event::RelayReservationAccepted { .. }
            | Event::RelayReservationFailed { .. }
            | Event::HolePunchAttempt { .. }
            | Event::DirectConnection { .. }
            | Event::MdnsDiscovered { .. }
            | Event::MeshJoined { .. }
            | Event::Fault { .. }
            | Event::RoleSwitched { .. }
            | Event::Stopped { .. } => {}
        }
    }
    records
}

/// `window` on the same virtual time line.
pub(super) fn window(w: Window, k: TimeScale) -> Window {
    let origin = w.traffic_ns;
    Window {
        traffic_ns: origin,
        start_ns: k.virtual_instant(origin, w.start_ns),
        end_ns: k.virtual_instant(origin, w.end_ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts_ns: u64, event: Event) -> Record {
        Record {
            ts_ns,
            node: "n".into(),
            event,
        }
    }

    #[test]
    fn every_time_and_duration_is_divided_by_k_from_the_origin() {
        let k = TimeScale::new(4.0).expect("valid");
        let origin = 1_000_000_000;
        let delivered = Event::Delivered {
            msg_id: "m".into(),
            origin: "o".into(),
            seq: 1,
            published_ns: origin + 400_000_000,
            received_ns: origin + 500_000_000,
            from: "p".into(),
        };
        let ping = Event::Ping {
            peer: "p".into(),
            rtt_us: 200_000,
        };
        let probe = Event::CpuProbe {
            rounds: 20,
            sign_ns: 4_000_000,
            verify_ns: 1_200_000,
            verified: true,
        };
        let out = records(
            vec![
                rec(origin + 800_000_000, delivered),
                rec(origin, ping),
                rec(origin, probe),
            ],
            k,
            origin,
        );
        assert_eq!(out[0].ts_ns, origin + 200_000_000);
        match &out[0].event {
            Event::Delivered {
                published_ns,
                received_ns,
                ..
            } => {
                assert_eq!(*published_ns, origin + 100_000_000);
                // 100 ms of real latency is 25 ms of virtual latency.
                assert_eq!(received_ns - published_ns, 25_000_000);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(out[1].event, Event::Ping { rtt_us: 50_000, .. }));
        assert!(matches!(
            out[2].event,
            Event::CpuProbe {
                sign_ns: 1_000_000,
                verify_ns: 300_000,
                ..
            }
        ));
        let w = window(
            Window {
                traffic_ns: origin,
                start_ns: origin + 40_000_000_000,
                end_ns: origin + 80_000_000_000,
            },
            k,
        );
        assert_eq!(w.end_ns - w.start_ns, 10_000_000_000);
        assert_eq!(w.start_ns, origin + 10_000_000_000);
    }

    #[test]
    fn real_time_changes_nothing() {
        let r = vec![rec(
            5,
            Event::Ping {
                peer: "p".into(),
                rtt_us: 7,
            },
        )];
        assert_eq!(records(r.clone(), TimeScale::REAL, 1), r);
    }
}
