//! HDR histograms as text: V2 + deflate, base64, so reports and snapshots of shards merge
//! exactly wherever they travel.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .expect("serializing a histogram into memory does not fail");
    STANDARD.encode(bytes)
}

/// # Errors
/// When the text is not base64 of a V2 (deflate) histogram.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|error| format!("histogram is not base64: {error}"))?;
    let mut histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|error| format!("histogram is not an HDR V2 histogram: {error:?}"))?;
    // Live entries grow with the values they see; a decoded one must too, or adding a
    // histogram with larger values into it fails (`OtherAddendValueExceedsRange`).
    histogram.auto(true);
    Ok(histogram)
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
    decode(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(decode("not base64!").is_err());
    }
}
