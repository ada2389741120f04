//! HDR histograms of iteration times (nanoseconds) as base64 text, so they can travel in JSON
//! messages and sit in results files losslessly.

use std::io::Read;

use base64::Engine;
use hdrhistogram::serialization::{
    DeserializeError, Deserializer, Serializer, V2DeflateSerializer,
};
use hdrhistogram::Histogram;

use crate::control::WireError;

/// Highest trackable value: one hour in nanoseconds. Three significant digits.
pub const MAX_NS: u64 = 3_600_000_000_000;

pub fn new() -> Histogram<u64> {
    // Bounds are constants within hdrhistogram's documented limits.
    Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds")
}

/// Records `ns`, clamped to the trackable range.
pub fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.clamp(1, MAX_NS));
}

pub fn to_base64(h: &Histogram<u64>) -> Result<String, WireError> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| WireError::Malformed(format!("histogram: {e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

/// The most decoded (base64) bytes, and the most inflated bytes, an encoded histogram may hold.
/// A histogram made by [`new`] has 33,792 counters, at most 9 bytes each once encoded (about
/// 300 KB), so 1 MiB holds any of them; anything larger is refused before it is inflated or
/// allocated.
pub const MAX_ENCODED_BYTES: usize = 1 << 20;
/// The most significant digits accepted (what [`new`] uses). With `high <= MAX_NS`, this bounds
/// the counts array a decoded histogram allocates to that of [`new`] (about 270 KB).
pub const MAX_DIGITS: u32 = 3;

const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// cookie, payload length, normalizing offset, digits, low, high, int-to-double ratio.
const V2_HEADER_LEN: usize = 40;

fn malformed(what: String) -> WireError {
    WireError::Malformed(format!("histogram: {what}"))
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Checks an uncompressed V2 encoding's header against what is present and against the bounds
/// of [`new`], so hdrhistogram never sizes a buffer from an unchecked length field.
fn check_v2(bytes: &[u8]) -> Result<(), WireError> {
    if bytes.len() < V2_HEADER_LEN {
        return Err(malformed(format!(
            "header is {} bytes, needs {V2_HEADER_LEN}",
            bytes.len()
        )));
    }
    if be_u32(bytes, 0) != V2_COOKIE {
        return Err(malformed(format!(
            "cookie {:#010x} at byte 0 is not an HDR V2 histogram",
            be_u32(bytes, 0)
        )));
    }
    let payload_len = be_u32(bytes, 4) as usize;
    let present = bytes.len() - V2_HEADER_LEN;
    if payload_len > present {
        return Err(malformed(format!(
            "payload length {payload_len} (byte 4) exceeds the {present} bytes present"
        )));
    }
    let offset = be_u32(bytes, 8);
    if offset != 0 {
        return Err(malformed(format!(
            "normalizing offset {offset} (byte 8) is not supported"
        )));
    }
    let digits = be_u32(bytes, 12);
    if digits > MAX_DIGITS {
        return Err(malformed(format!(
            "significant digits {digits} (byte 12) exceed {MAX_DIGITS}"
        )));
    }
    let high = be_u64(bytes, 24);
    if high > MAX_NS {
        return Err(malformed(format!(
            "highest trackable value {high} (byte 24) exceeds {MAX_NS} ns"
        )));
    }
    let ratio = f64::from_be_bytes(be_u64(bytes, 32).to_be_bytes());
    if ratio != 1.0 {
        return Err(malformed(format!(
            "integer-to-double ratio {ratio} (byte 32) is not supported"
        )));
    }
    Ok(())
}

/// Decodes a histogram written by [`to_base64`] (V2, deflated or not). Input is untrusted: it is
/// refused with an error naming the field or byte position when it is larger than
/// [`MAX_ENCODED_BYTES`], inflates beyond it, or has a header outside the bounds of [`new`].
pub fn from_base64(text: &str) -> Result<Histogram<u64>, WireError> {
    // base64 holds 3 bytes in 4 characters.
    if text.len() > MAX_ENCODED_BYTES / 3 * 4 + 4 {
        return Err(malformed(format!(
            "{} characters of base64 exceed the limit of {MAX_ENCODED_BYTES} bytes",
            text.len()
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| WireError::Malformed(format!("histogram base64: {e}")))?;
    if bytes.len() < 4 {
        return Err(malformed(format!(
            "{} bytes is too short for a cookie",
            bytes.len()
        )));
    }
    let v2 = match be_u32(&bytes, 0) {
        V2_COMPRESSED_COOKIE => {
            if bytes.len() < 8 {
                return Err(malformed("compressed length (byte 4) is missing".into()));
            }
            let len = be_u32(&bytes, 4) as usize;
            let present = bytes.len() - 8;
            if len > present {
                return Err(malformed(format!(
                    "compressed length {len} (byte 4) exceeds the {present} bytes present"
                )));
            }
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(&bytes[8..8 + len])
                .take(MAX_ENCODED_BYTES as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| malformed(format!("inflating the payload: {e}")))?;
            if inflated.len() > MAX_ENCODED_BYTES {
                return Err(malformed(format!(
                    "payload inflates beyond the limit of {MAX_ENCODED_BYTES} bytes"
                )));
            }
            inflated
        }
        V2_COOKIE => bytes,
        other => {
            return Err(malformed(format!(
                "cookie {other:#010x} at byte 0 is not an HDR V2 histogram"
            )))
        }
    };
    check_v2(&v2)?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(v2))
        .map_err(|e| {
            malformed(match e {
                DeserializeError::InvalidParameters => {
                    "lowest/highest trackable values (bytes 16-31) are not a valid range".into()
                }
                other => format!("counts payload (from byte {V2_HEADER_LEN}): {other}"),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_count() {
        let mut h = new();
        for v in [10_000u64, 20_000, 20_000, 5_000_000] {
            record(&mut h, v);
        }
        let back = from_base64(&to_base64(&h).unwrap()).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back.max(), h.max());
        assert!(from_base64("not base64!").is_err());
        assert!(from_base64("AAAA").is_err());
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// An uncompressed V2 header: payload length, digits, low, high.
    fn v2_header(payload_len: u32, digits: u32, low: u64, high: u64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&V2_COOKIE.to_be_bytes());
        b.extend_from_slice(&payload_len.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&digits.to_be_bytes());
        b.extend_from_slice(&low.to_be_bytes());
        b.extend_from_slice(&high.to_be_bytes());
        b.extend_from_slice(&1.0f64.to_be_bytes());
        b
    }

    /// Found by fuzzing (crates/wire/tests/fuzz_decoders.rs): hdrhistogram sizes its payload
    /// buffer from the header's u32 length before reading, so 60 bytes of base64 made it
    /// allocate and zero 4 GiB; and digits/high fields chose counts arrays of ~50 MB.
    #[test]
    fn length_and_bound_fields_are_checked_before_allocation() {
        let e = from_base64(&b64(&v2_header(u32::MAX, 3, 1, MAX_NS))).unwrap_err();
        assert!(
            e.to_string().contains("payload length 4294967295 (byte 4)"),
            "{e}"
        );
        let e = from_base64(&b64(&v2_header(0, 5, 1, u64::MAX / 2))).unwrap_err();
        assert!(
            e.to_string().contains("significant digits 5 (byte 12)"),
            "{e}"
        );
        let e = from_base64(&b64(&v2_header(0, 3, 1, u64::MAX / 2))).unwrap_err();
        assert!(e.to_string().contains("highest trackable value"), "{e}");
        // A valid empty uncompressed histogram is still read.
        assert_eq!(
            from_base64(&b64(&v2_header(0, 3, 1, MAX_NS)))
                .unwrap()
                .len(),
            0
        );

        let mut compressed = 0x1c84_9314u32.to_be_bytes().to_vec();
        compressed.extend_from_slice(&u32::MAX.to_be_bytes());
        let e = from_base64(&b64(&compressed)).unwrap_err();
        assert!(
            e.to_string()
                .contains("compressed length 4294967295 (byte 4)"),
            "{e}"
        );
        let e = from_base64(&"A".repeat(2 * MAX_ENCODED_BYTES)).unwrap_err();
        assert!(e.to_string().contains("exceed the limit"), "{e}");
    }

    #[test]
    fn the_fullest_histogram_fits_the_limits() {
        let mut h = new();
        assert_eq!(h.distinct_values(), 33_792);
        let mut v = 1;
        while v <= MAX_NS {
            h.record_n(v, 1 << 40).unwrap();
            v = h.next_non_equivalent(v);
        }
        assert!(h.len() >= 33_000 << 40);
        let text = to_base64(&h).unwrap();
        assert!(text.len() <= MAX_ENCODED_BYTES);
        assert_eq!(from_base64(&text).unwrap().len(), h.len());
        // Uncompressed, too.
        let mut raw = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&h, &mut raw)
            .unwrap();
        assert!(raw.len() <= MAX_ENCODED_BYTES, "{}", raw.len());
        assert_eq!(from_base64(&b64(&raw)).unwrap().len(), h.len());
    }
}
