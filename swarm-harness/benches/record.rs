//! Micro-benchmark of the hot path: recording one request into the statistics.
//! `cargo bench -p swarm-harness --bench record` (target: <= 50 ns a request).

use std::hint::black_box;

use swarm_harness::__private::stats::{Entry, Marks, Recorder, Sample, Tag};

fn main() {
    divan::main();
}

/// The whole hot path: pick the user's shard, lock it, find the (kind, name) entry, record.
/// Values the benchmarks record: 50 µs to 50 ms.
const RANGE: u64 = 50_000;

/// The next pseudo-random response time in the range (a linear congruential step).
fn next_micros(micros: &mut u64) -> u64 {
    *micros = micros
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1);
    *micros % RANGE + 50
}

/// A recorder whose histogram already covers the range, as after the first second of a run
/// (an auto-resizing histogram grows only the first time a larger value arrives).
fn warm_recorder() -> Recorder {
    let recorder = Recorder::new(8, None);
    for micros in [50, RANGE + 50] {
        recorder.success(
            3,
            Sample {
                kind: "GET",
                name: "/api/apps/{id}",
                micros,
                content_bytes: 0,
            },
        );
    }
    recorder
}

#[divan::bench(sample_count = 200, sample_size = 1000)]
fn recorder_success(bencher: divan::Bencher) {
    let recorder = warm_recorder();
    let mut micros = 100u64;
    bencher.bench_local(|| {
        let value = next_micros(&mut micros);
        recorder.success(
            black_box(3),
            Sample {
                kind: "GET",
                name: black_box("/api/apps/{id}"),
                micros: value,
                content_bytes: 512,
            },
        );
    });
}

/// A checked, tagged request (`.tag("kind", "read").check("status is 200", ..)`): its tag
/// and check recorded with it under the same lock. Compare with `recorder_success`.
#[divan::bench(sample_count = 200, sample_size = 1000)]
fn recorder_success_tagged_checked(bencher: divan::Bencher) {
    let recorder = warm_recorder();
    let tags: Vec<Tag> = vec![("kind".into(), "read".into())];
    let mut checks = vec![("status is 200".into(), true)];
    let mut micros = 100u64;
    bencher.bench_local(|| {
        let value = next_micros(&mut micros);
        // One fail in 64, from the value already drawn (a division would cost the loop more
        // than the check costs the recorder).
        checks[0].1 = value & 63 != 0;
        recorder.marked(
            black_box(3),
            Sample {
                kind: "GET",
                name: black_box("/api/apps/{id}"),
                micros: value,
                content_bytes: 512,
            },
            None,
            Marks {
                tags: black_box(&tags),
                checks: black_box(&checks),
            },
        );
    });
}

/// A check of its own (`user.check`), apart from any request.
#[divan::bench(sample_count = 200, sample_size = 1000)]
fn recorder_check(bencher: divan::Bencher) {
    let recorder = warm_recorder();
    let mut i = 0u64;
    bencher.bench_local(|| {
        i += 1;
        recorder.check(
            black_box(3),
            black_box("body has an id"),
            !i.is_multiple_of(100),
        );
    });
}

/// The same with ten names in the table, as a realistic scenario has.
#[divan::bench(sample_count = 200, sample_size = 1000)]
fn recorder_success_among_ten_names(bencher: divan::Bencher) {
    let recorder = Recorder::new(8, None);
    let names: Vec<String> = (0..10).map(|i| format!("/api/route/{i}")).collect();
    for name in &names {
        recorder.success(
            0,
            Sample {
                kind: "GET",
                name,
                micros: 1,
                content_bytes: 0,
            },
        );
    }
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = (i + 7) % names.len();
        recorder.success(
            black_box(0),
            Sample {
                kind: "GET",
                name: &names[i],
                micros: 1_000 + i as u64,
                content_bytes: 0,
            },
        );
    });
}

/// Only the entry update: counters and the HDR histogram.
#[divan::bench(sample_count = 200, sample_size = 1000)]
fn entry_record(bencher: divan::Bencher) {
    let mut entry = Entry::default();
    entry.record(RANGE + 50, true, 0);
    let mut micros = 100u64;
    bencher.bench_local(|| {
        let value = next_micros(&mut micros);
        entry.record(black_box(value), true, 512);
    });
}

/// A request handed to the request sinks (`PT_REQUEST_LOG`, `Harness::request_sink`): its
/// record built and queued, with a thread draining the queue as the trial's does. Paid only
/// when a sink asks; without one the hot path checks a `None`. Compare with
/// `recorder_success`, which it comes on top of.
#[divan::bench(sample_count = 200, sample_size = 1000)]
fn request_tap_push(bencher: divan::Bencher) {
    use swarm_harness::__private::stats::{Origin, REQUEST_QUEUE_CAPACITY, RequestTap, Tapped};
    let (tap, mut receiver) = RequestTap::new(REQUEST_QUEUE_CAPACITY);
    let drain = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(1024);
        while receiver.blocking_recv_many(&mut batch, 1024) > 0 {
            batch.clear();
        }
    });
    let tags: Vec<Tag> = vec![("kind".into(), "read".into())];
    let origin = Origin {
        user: 3,
        iteration: 7,
        intended: None,
    };
    let started = std::time::Instant::now();
    let mut micros = 100u64;
    bencher.bench_local(|| {
        let value = next_micros(&mut micros);
        tap.push(
            black_box(origin),
            Tapped {
                kind: "GET",
                name: black_box("/api/apps/{id}"),
                started,
                micros: value,
                bytes: 512,
                status: Some(200),
                error: None,
                tags: black_box(&tags),
            },
        );
    });
    eprintln!(
        "request_tap_push: {} requests dropped (queue full)",
        tap.dropped()
    );
    drop(tap);
    drain.join().unwrap();
}
