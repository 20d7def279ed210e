//! HDR histograms as text: V2 + deflate, base64, so reports and snapshots of shards merge
//! exactly wherever they travel.
//!
//! Decoding reads text from files anyone may have written, so it checks what the header
//! announces against what the input holds **before** anything is allocated for it: hdrhistogram's
//! own deserializer zero-fills whatever payload length a header announces (a 56-character text
//! announcing 4 GiB costs 4 GiB) and allocates the counters of whatever value range it names.
//! Here the compressed length must be the input's, the inflated stream may not grow past what
//! the widest accepted range could need, the announced payload must be exactly the bytes that
//! follow, the range may need at most [`MAX_COUNTERS`] counters, and the payload is walked once
//! (indices inside the range, counts adding up within a u64) before hdrhistogram builds the
//! histogram from it. A decode therefore allocates at most about `8 × MAX_COUNTERS` bytes plus
//! a small multiple of its input, and no input makes it panic.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use std::borrow::Cow;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// The most counters a decoded histogram may have: 8 MiB of `u64`. It admits any value range at
/// up to 4 significant digits (this harness writes 3, whose whole `u64` range needs 56,320) and
/// 5 digits up to about 33 seconds in microseconds.
pub const MAX_COUNTERS: u64 = 1 << 20;

/// The V2 cookies (hdrhistogram's `V2_COOKIE` and `V2_COMPRESSED_COOKIE`, which it keeps private).
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9304 | 0x10;

/// The V2 header: cookie, payload length, normalizing offset, digits (4 bytes each), lowest
/// and highest value (8 each), integer-to-double ratio (8).
const HEADER_LEN: usize = 40;

/// A varint is at most 9 bytes (LEB128-64b9B), and every varint of a valid payload advances
/// at least one counter, so no payload of a range with `n` counters is longer than `9 n`.
const MAX_VARINT_LEN: u64 = 9;

/// Why a text is not a histogram this build reads; each message follows the word "histogram".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("is truncated: its {what} needs {needed} bytes, {have} are left")]
    Truncated {
        what: &'static str,
        needed: usize,
        have: usize,
    },
    #[error("is not an HDR V2 histogram (cookie {0:#010x})")]
    Cookie(u32),
    #[error("announces {announced} bytes of compressed payload where {have} follow")]
    CompressedLength { announced: u32, have: usize },
    #[error("has a damaged deflate stream: {0}")]
    Inflate(String),
    #[error("inflates past {limit} bytes, more than any accepted histogram needs")]
    InflatesTooFar { limit: u64 },
    #[error("announces a payload of {announced} bytes where {have} follow")]
    PayloadLength { announced: u32, have: usize },
    #[error("uses {0}, which this build does not read")]
    Unsupported(&'static str),
    #[error(
        "has an invalid value range (lowest {low}, highest {high}, {digits} significant \
         digits)"
    )]
    Range { low: u64, high: u64, digits: u32 },
    #[error(
        "has a value range that needs {needed} counters, more than the {MAX_COUNTERS} a \
         report's histogram may have"
    )]
    TooWide { needed: u64 },
    #[error("has counts past the end of its value range ({counters} counters)")]
    PastRange { counters: u64 },
    #[error("has counts that add up beyond what a u64 holds")]
    CountOverflow,
    #[error("is refused by hdrhistogram: {0}")]
    Hdr(String),
}

pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .expect("serializing a histogram into memory does not fail");
    STANDARD.encode(bytes)
}

/// The histogram of a text [`encode`] wrote (or any V2 histogram, deflated or not, within
/// [`MAX_COUNTERS`]), auto-resizing.
///
/// # Errors
/// When the text is not base64 of a V2 histogram, or its header announces more than the input
/// holds or than a report's histogram may need (see the module docs).
pub fn decode(text: &str) -> Result<Histogram<u64>, DecodeError> {
    let bytes = STANDARD.decode(text)?;
    let v2 = match be_u32(&bytes, 0, "cookie")? {
        V2_COMPRESSED_COOKIE => Cow::Owned(inflate(&bytes)?),
        V2_COOKIE => Cow::Borrowed(bytes.as_slice()),
        other => return Err(DecodeError::Cookie(other)),
    };
    let counters = check_header(&v2)?;
    let total = walk(&v2[HEADER_LEN..], counters)?;
    let mut histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut v2.as_ref())
        .map_err(|error| DecodeError::Hdr(error.to_string()))?;
    // The walk and hdrhistogram read the same varints; a disagreement would be a bug of ours.
    debug_assert_eq!(histogram.len(), total);
    // Live entries grow with the values they see; a decoded one must too, or adding a
    // histogram with larger values into it fails (`OtherAddendValueExceedsRange`).
    histogram.auto(true);
    Ok(histogram)
}

/// The uncompressed V2 bytes inside a compressed one, never more than the widest accepted
/// histogram could need (a zlib stream inflates up to about 1000 times; its output grows only
/// as the input really produces it).
fn inflate(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let announced = be_u32(bytes, 4, "compressed length")?;
    let compressed = &bytes[8..];
    if usize::try_from(announced).ok() != Some(compressed.len()) {
        return Err(DecodeError::CompressedLength {
            announced,
            have: compressed.len(),
        });
    }
    let limit = HEADER_LEN as u64 + MAX_VARINT_LEN * MAX_COUNTERS;
    let mut v2 = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut v2)
        .map_err(|error| DecodeError::Inflate(error.to_string()))?;
    if v2.len() as u64 > limit {
        return Err(DecodeError::InflatesTooFar { limit });
    }
    if be_u32(&v2, 0, "inner cookie")? != V2_COOKIE {
        return Err(DecodeError::Cookie(be_u32(&v2, 0, "inner cookie")?));
    }
    Ok(v2)
}

/// Checks the V2 header against the bytes that follow it; returns the range's counters.
fn check_header(v2: &[u8]) -> Result<u64, DecodeError> {
    if v2.len() < HEADER_LEN {
        return Err(DecodeError::Truncated {
            what: "header",
            needed: HEADER_LEN,
            have: v2.len(),
        });
    }
    let payload_len = be_u32(v2, 4, "payload length")?;
    let have = v2.len() - HEADER_LEN;
    if usize::try_from(payload_len).ok() != Some(have) {
        return Err(DecodeError::PayloadLength {
            announced: payload_len,
            have,
        });
    }
    if be_u32(v2, 8, "normalizing offset")? != 0 {
        return Err(DecodeError::Unsupported("a normalizing index offset"));
    }
    let digits = be_u32(v2, 12, "digits")?;
    let low = be_u64(v2, 16)?;
    let high = be_u64(v2, 24)?;
    if f64::from_bits(be_u64(v2, 32)?) != 1.0 {
        return Err(DecodeError::Unsupported(
            "an integer-to-double conversion ratio",
        ));
    }
    let counters = counters(low, high, digits).ok_or(DecodeError::Range { low, high, digits })?;
    if counters > MAX_COUNTERS {
        return Err(DecodeError::TooWide { needed: counters });
    }
    Ok(counters)
}

/// How many counters hdrhistogram allocates for a range, computed as `new_with_bounds` does
/// (without allocating them); `None` when it would refuse the range.
pub fn counters(low: u64, high: u64, digits: u32) -> Option<u64> {
    if !(1..=u64::MAX / 2).contains(&low) || high < 2 * low || digits > 5 {
        return None;
    }
    // Unit resolution up to 2 × 10^digits, in a power-of-two number of sub-buckets.
    let largest = 2 * 10_u32.pow(digits);
    // The same float arithmetic as hdrhistogram, so the two agree on every `low`.
    let unit_magnitude = (low as f64).log2().floor() as u32;
    let sub_bucket_count_magnitude = f64::from(largest).log2().ceil() as u32;
    if unit_magnitude + sub_bucket_count_magnitude > 63 {
        return None;
    }
    let sub_bucket_count = 1_u64 << sub_bucket_count_magnitude;
    // hdrhistogram's `buckets_to_cover(high)`.
    let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
    let mut buckets = 1_u64;
    while smallest_untrackable <= high {
        if smallest_untrackable > u64::MAX / 2 {
            buckets += 1;
            break;
        }
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    Some((buckets + 1) * (sub_bucket_count / 2))
}

/// Walks the payload's varints as hdrhistogram will (zig-zag: a negative number is a run of
/// empty counters, any other a count); returns the sum of the counts. Refuses what would make
/// hdrhistogram panic (a run of `i64::MIN`) or write past the range.
fn walk(mut payload: &[u8], counters: u64) -> Result<u64, DecodeError> {
    let (mut index, mut total) = (0_u64, 0_u64);
    let past_range = DecodeError::PastRange { counters };
    while !payload.is_empty() {
        let (encoded, used) = varint(payload)?;
        payload = &payload[used..];
        let value = ((encoded >> 1) as i64) ^ -((encoded & 1) as i64);
        if value < 0 {
            index = index.saturating_add(value.unsigned_abs());
            if index > counters {
                return Err(past_range);
            }
        } else {
            if index >= counters {
                return Err(past_range);
            }
            total = total
                .checked_add(value.unsigned_abs())
                .ok_or(DecodeError::CountOverflow)?;
            index += 1;
        }
    }
    Ok(total)
}

/// One LEB128-64b9B varint: 7 bits a byte, the 9th byte whole; returns it and its length.
fn varint(bytes: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut value = 0_u64;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_VARINT_LEN as usize) {
        if i == 8 {
            return Ok((value | (u64::from(byte) << 56), 9));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(DecodeError::Truncated {
        what: "last count",
        needed: bytes.len() + 1,
        have: bytes.len(),
    })
}

fn be_u32(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, DecodeError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes(b.try_into().expect("four bytes")))
        .ok_or(DecodeError::Truncated {
            what,
            needed: at + 4,
            have: bytes.len(),
        })
}

fn be_u64(bytes: &[u8], at: usize) -> Result<u64, DecodeError> {
    bytes
        .get(at..at + 8)
        .map(|b| u64::from_be_bytes(b.try_into().expect("eight bytes")))
        .ok_or(DecodeError::Truncated {
            what: "header",
            needed: at + 8,
            have: bytes.len(),
        })
}

/// `#[serde(with = "histogram")]` for a histogram field.
pub(crate) fn serialize<S: serde::Serializer>(
    histogram: &Histogram<u64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&encode(histogram))
}

pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Histogram<u64>, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
    decode(&text).map_err(|error| serde::de::Error::custom(format!("histogram {error}")))
}

#[cfg(test)]
mod tests;
