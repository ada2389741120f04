//! HDR histograms of iteration times (nanoseconds) as base64 text, so they can travel in JSON
//! messages and sit in results files losslessly.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
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

pub fn from_base64(text: &str) -> Result<Histogram<u64>, WireError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| WireError::Malformed(format!("histogram base64: {e}")))?;
    let mut reader = std::io::Cursor::new(bytes);
    Deserializer::new()
        .deserialize(&mut reader)
        .map_err(|e| WireError::Malformed(format!("histogram: {e:?}")))
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
}
