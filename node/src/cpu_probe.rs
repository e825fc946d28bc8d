//! The node's CPU probe: at start, a fixed amount of its real work (ML-DSA signing and
//! verification of a 1 KiB message, `ROUNDS` times), timed on the wall clock. The
//! orchestrator turns the times into virtual time: on a dilated testnet whose nodes get
//! `cpu_per_node / k` of a core, the virtual times match an undilated node's with
//! `cpu_per_node` cores, which is what makes dilation keep CPU faithful (README, "Virtual
//! time").

use std::time::{Duration, Instant};

use lab_events::Event;

use crate::pq::{self, PqSigner};

/// Sign-and-verify rounds: ~30 ms of work at ML-DSA-87 on our hosts, several CFS periods
/// even at the shortest period, and a blink beside a container's start.
pub const ROUNDS: u32 = 20;

/// Times `ROUNDS` signatures and verifications with `signer`; the event carries the mean of
/// each, in real nanoseconds.
pub fn run(signer: &PqSigner) -> Event {
    let msg = [0x5a_u8; 1024];
    let public = signer.public_key();
    let mut sign = Duration::ZERO;
    let mut verify = Duration::ZERO;
    let mut verified = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let sig = signer.sign(&msg);
        sign += t.elapsed();
        let t = Instant::now();
        verified += u32::from(pq::verify(signer.level(), &public, &msg, &sig));
        verify += t.elapsed();
    }
    let mean = |d: Duration| u64::try_from(d.as_nanos() / u128::from(ROUNDS)).unwrap_or(u64::MAX);
    Event::CpuProbe {
        rounds: ROUNDS,
        sign_ns: mean(sign),
        verify_ns: mean(verify),
        verified: verified == ROUNDS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pq::Level;

    #[test]
    fn the_probe_signs_and_verifies_for_real() {
        let signer = PqSigner::from_seed(Level::L44, [7; 32]);
        match run(&signer) {
            Event::CpuProbe {
                rounds,
                sign_ns,
                verify_ns,
                verified,
            } => {
                assert_eq!(rounds, ROUNDS);
                assert!(verified, "every signature verifies");
                assert!(sign_ns > 0 && verify_ns > 0);
            }
            other => panic!("a probe event: {other:?}"),
        }
    }
}
