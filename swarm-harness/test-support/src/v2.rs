//! Hand-made HdrHistogram V2 headers for the tests of hostile reports: every field a decoder
//! must check before it allocates (the payload length it announces, digits, the value range).

/// The header of an uncompressed V2 histogram (cookie, announced payload length, normalizing
/// offset 0, significant digits, lowest and highest trackable value, conversion ratio 1.0).
pub fn v2_header(announced: u32, digits: u32, low: u64, high: u64) -> Vec<u8> {
    let mut bytes = 0x1c84_9313_u32.to_be_bytes().to_vec();
    bytes.extend(announced.to_be_bytes());
    bytes.extend(0_u32.to_be_bytes());
    bytes.extend(digits.to_be_bytes());
    bytes.extend(low.to_be_bytes());
    bytes.extend(high.to_be_bytes());
    bytes.extend(1.0_f64.to_bits().to_be_bytes());
    bytes
}
