//! Histogram decoding under a counting allocator: whatever bytes a report holds, a decode
//! allocates at most a fixed amount (the widest accepted range's counters) plus a small
//! multiple of its input, and never panics. Today's decoder zero-fills the payload length any
//! header announces: 4 GiB for 56 characters.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use proptest::prelude::*;
use swarm_harness::__private::stats::histogram::{MAX_COUNTERS, decode, encode};
use v2::v2_header;

use swarm_harness_test_support::v2;

/// Counts this thread's live bytes and their peak (test threads run side by side; each
/// decode is measured on its own thread).
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn track(grow: isize) {
    // `try_with`: allocations while a thread's locals are torn down are not counted.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add_signed(grow);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most a decode of `text` may allocate at its peak: the counters of the widest accepted
/// range, a zlib decoder's state, and the input's bytes times the most deflate expands them
/// (about 1032) twice over (a growing buffer, then hdrhistogram's copy of the payload).
fn bound(text: &str) -> usize {
    MAX_COUNTERS as usize * 8 + (1 << 20) + 4096 * text.len()
}

/// The peak bytes allocated while decoding `text`, beyond what was live before.
fn peak_of(text: &str) -> usize {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let _ = decode(text);
    PEAK.with(Cell::get) - before
}

#[test]
fn the_4_gib_header_allocates_next_to_nothing() {
    let text = STANDARD.encode(v2_header(u32::MAX, 3, 1, 2048));
    assert_eq!(text.len(), 56);
    let peak = peak_of(&text);
    assert!(peak < 4096, "{peak} bytes");
    // The widest range accepted costs its counters, and no more.
    let wide = STANDARD.encode(v2_header(0, 4, 1, u64::MAX));
    let peak = peak_of(&wide);
    assert!(decode(&wide).is_ok());
    assert!(peak <= bound(&wide), "{peak} bytes");
}

fn recorded(values: &[(u64, u64)]) -> Histogram<u64> {
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    for &(value, count) in values {
        histogram.record_n(value, count).unwrap();
    }
    histogram
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_is_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for cookie in [None, Some(0x1c84_9313_u32), Some(0x1c84_9314)] {
            let mut input = cookie.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            input.extend(&bytes);
            let text = STANDARD.encode(&input);
            let peak = peak_of(&text);
            prop_assert!(peak <= bound(&text), "{} bytes for {} characters", peak, text.len());
        }
    }

    /// Valid histograms with their header fields and bytes overwritten.
    #[test]
    fn mutated_histograms_are_bounded(
        values in proptest::collection::vec((1_u64..1 << 40, 1_u64..100), 0..30),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        header_only in any::<bool>(),
    ) {
        let mut bytes = STANDARD.decode(encode(&recorded(&values))).unwrap();
        for (at, byte) in edits {
            // Most edits land in the header when asked: the fields that announce sizes.
            let len = if header_only { bytes.len().min(8) } else { bytes.len() };
            bytes[at.index(len)] = byte;
        }
        let text = STANDARD.encode(&bytes);
        let peak = peak_of(&text);
        prop_assert!(peak <= bound(&text), "{} bytes for {} characters", peak, text.len());
    }

    /// Uncompressed headers with any announced lengths and ranges.
    #[test]
    fn any_header_is_bounded(
        announced in any::<u32>(),
        digits in 0_u32..8,
        low in prop_oneof![Just(1_u64), any::<u64>()],
        high in prop_oneof![Just(u64::MAX), any::<u64>()],
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = v2_header(announced, digits, low, high);
        bytes.extend(payload);
        let text = STANDARD.encode(&bytes);
        let peak = peak_of(&text);
        prop_assert!(peak <= bound(&text), "{} bytes for {} characters", peak, text.len());
    }
}
