//! ML-DSA sign/verify per level and envelope encode/decode, 1 KiB payload.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use meshnode::envelope::{self, Draft};
use meshnode::pq::{self, Level, PqSigner};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let payload = vec![7u8; 1024];
    let origin = [1u8; 38];
    for level in Level::ALL {
        let n = level.number();
        let signer = PqSigner::from_seed(level, [9; 32]);
        let pk = signer.public_key();
        let msg = [3u8; 1100];
        let sig = signer.sign(&msg);
        c.bench_function(&format!("mldsa{n}/sign"), |b| {
            b.iter(|| signer.sign(black_box(&msg)))
        });
        c.bench_function(&format!("mldsa{n}/verify"), |b| {
            b.iter(|| pq::verify(level, &pk, black_box(&msg), &sig))
        });
        let draft = Draft {
            seq: 1,
            published_ns: 2,
            origin: &origin,
            payload: &payload,
        };
        c.bench_function(&format!("envelope{n}/encode+sign"), |b| {
            b.iter(|| black_box(&draft).seal(&signer))
        });
        let sealed = draft.seal(&signer);
        c.bench_function(&format!("envelope{n}/decode"), |b| {
            b.iter(|| envelope::decode(black_box(&sealed), 4096).map(|e| e.seq))
        });
        c.bench_function(&format!("envelope{n}/decode+verify"), |b| {
            b.iter(|| envelope::decode(black_box(&sealed), 4096).map(|e| e.verify()))
        });
        println!(
            "envelope overhead at ML-DSA-{n}: {} bytes for a 1 KiB payload ({} bytes on the wire)",
            sealed.len() - payload.len(),
            sealed.len()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
