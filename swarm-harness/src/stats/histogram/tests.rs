//! The decoder against hand-made hostile headers, and against hdrhistogram itself as the
//! oracle: every valid histogram round-trips, every other input is refused without a panic.

use super::*;
use hdrhistogram::serialization::V2Serializer;
use proptest::prelude::*;

/// An uncompressed V2 histogram with the given header fields and payload.
fn v2(payload: &[u8], announced: u32, digits: u32, low: u64, high: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend(V2_COOKIE.to_be_bytes());
    bytes.extend(announced.to_be_bytes());
    bytes.extend(0_u32.to_be_bytes());
    bytes.extend(digits.to_be_bytes());
    bytes.extend(low.to_be_bytes());
    bytes.extend(high.to_be_bytes());
    bytes.extend(1.0_f64.to_bits().to_be_bytes());
    bytes.extend(payload);
    bytes
}

fn plain(histogram: &Histogram<u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(histogram, &mut bytes)
        .unwrap();
    bytes
}

fn deflated(histogram: &Histogram<u64>) -> Vec<u8> {
    STANDARD.decode(encode(histogram)).unwrap()
}

fn text(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[test]
fn round_trips() {
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    for value in [1, 10, 100, 1000, 123_456] {
        histogram.record(value).unwrap();
    }
    let back = decode(&encode(&histogram)).unwrap();
    assert_eq!(back.len(), 5);
    assert_eq!(
        back.value_at_quantile(0.5),
        histogram.value_at_quantile(0.5)
    );
    assert_eq!(back, histogram);
    assert!(back.is_auto_resize());
    assert!(matches!(decode("not base64!"), Err(DecodeError::Base64(_))));
}

/// 56 characters that make hdrhistogram zero-fill 4 GiB: refused on the header.
#[test]
fn an_announced_payload_longer_than_the_input_is_refused() {
    let huge = text(&v2(&[], u32::MAX, 3, 1, 2048));
    assert_eq!(huge.len(), 56);
    assert_eq!(
        decode(&huge).unwrap_err(),
        DecodeError::PayloadLength {
            announced: u32::MAX,
            have: 0
        }
    );
    // The compressed form: the announced compressed length, then the inflated one.
    let mut compressed = deflated(&Histogram::new(3).unwrap());
    compressed[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode(&text(&compressed)),
        Err(DecodeError::CompressedLength { .. })
    ));
}

#[test]
fn a_range_wider_than_the_limit_is_refused_before_allocating() {
    assert_eq!(
        decode(&text(&v2(&[], 0, 5, 1, u64::MAX))).unwrap_err(),
        DecodeError::TooWide { needed: 6_291_456 }
    );
    // The widest range this harness writes is well inside the limit.
    assert_eq!(counters(1, u64::MAX, 3), Some(56_320));
    for (low, high, digits) in [(0, 10, 3), (5, 9, 3), (1, 100, 6), (1 << 62, u64::MAX, 3)] {
        assert_eq!(
            decode(&text(&v2(&[], 0, digits, low, high))).unwrap_err(),
            DecodeError::Range { low, high, digits },
            "{low} {high} {digits}"
        );
    }
}

/// A zero run of `i64::MIN` (nine 0xff bytes) makes hdrhistogram negate `i64::MIN`, a panic in
/// debug builds; three counts of `i64::MAX` add up beyond a u64.
#[test]
fn counts_past_the_range_or_beyond_a_u64_are_refused() {
    let run = [0xff; 9];
    assert_eq!(
        decode(&text(&v2(&run, 9, 3, 1, 2048))).unwrap_err(),
        DecodeError::PastRange { counters: 3072 }
    );
    // i64::MAX zig-zags to u64::MAX - 1: seven bits a byte from the lowest (0x7e and a
    // continuation bit), the ninth byte whole.
    let mut counts = vec![0xfe];
    counts.extend([0xff; 8]);
    // Two of them still fit (2^64 - 2); a third does not.
    let thrice = counts.repeat(3);
    assert!(matches!(
        decode(&text(&v2(&thrice, 27, 3, 1, 2048))),
        Err(DecodeError::CountOverflow)
    ));
    assert!(matches!(
        decode(&text(&v2(&[0x80], 1, 3, 1, 2048))),
        Err(DecodeError::Truncated { .. })
    ));
}

/// A deflate bomb: a small text that inflates to 64 MiB of zeros stops at the limit.
#[test]
fn an_inflated_stream_stops_at_the_limit() {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&v2(&[], 64 << 20, 3, 1, 2048)).unwrap();
    encoder.write_all(&vec![0; 64 << 20]).unwrap();
    let stream = encoder.finish().unwrap();
    let mut bytes = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
    bytes.extend((stream.len() as u32).to_be_bytes());
    bytes.extend(stream);
    assert!(bytes.len() < 100_000, "{}", bytes.len());
    assert!(matches!(
        decode(&text(&bytes)),
        Err(DecodeError::InflatesTooFar { .. })
    ));
}

/// Values, and how often each was recorded.
fn samples() -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec(
        (
            prop_oneof![1_u64..2_000, 1_u64..10_000_000, 1_u64..(u64::MAX / 4)],
            1_u64..1_000,
        ),
        0..40,
    )
}

fn recorded(samples: &[(u64, u64)], digits: u8) -> Histogram<u64> {
    let mut histogram = Histogram::<u64>::new(digits).unwrap();
    for &(value, count) in samples {
        histogram.record_n(value, count).unwrap();
    }
    histogram
}

/// The oracle's reading of the same bytes.
fn hdr(bytes: &[u8]) -> Histogram<u64> {
    Deserializer::new().deserialize(&mut &bytes[..]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_histograms_round_trip(samples in samples(), digits in 0_u8..=3) {
        let histogram = recorded(&samples, digits);
        for bytes in [deflated(&histogram), plain(&histogram)] {
            let ours = decode(&text(&bytes)).unwrap();
            prop_assert_eq!(&ours, &hdr(&bytes));
            prop_assert_eq!(&ours, &histogram);
            prop_assert_eq!(ours.len(), histogram.len());
        }
    }

    /// Our count of counters is hdrhistogram's for every range it accepts.
    #[test]
    fn counters_are_hdrhistograms(
        low in prop_oneof![1_u64..4, 1_u64..1_000_000, 1_u64..(1 << 50)],
        span in 2_u64..(1 << 40),
        digits in 0_u32..=5,
    ) {
        let high = low.saturating_mul(span);
        let ours = counters(low, high, digits);
        // Only build what is small enough to build.
        if ours.is_some_and(|n| n <= MAX_COUNTERS) || ours.is_none() {
            let theirs = Histogram::<u64>::new_with_bounds(low, high, digits as u8)
                .ok()
                .map(|h| h.distinct_values() as u64);
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&text(&bytes));
        // Behind a valid cookie, so the header checks are reached.
        for cookie in [V2_COOKIE, V2_COMPRESSED_COOKIE] {
            let prefixed = [cookie.to_be_bytes().as_slice(), &bytes].concat();
            let _ = decode(&text(&prefixed));
        }
    }

    /// Valid histograms with bytes overwritten, truncated or extended: refused or decoded,
    /// never a panic; what decodes holds what its payload counts.
    #[test]
    fn mutated_histograms_never_panic(
        samples in samples(),
        compressed in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        tail in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let histogram = recorded(&samples, 3);
        let mut bytes = if compressed { deflated(&histogram) } else { plain(&histogram) };
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        bytes.extend(tail);
        if let Ok(decoded) = decode(&text(&bytes)) {
            prop_assert!(decoded.distinct_values() as u64 <= MAX_COUNTERS);
        }
    }
}
