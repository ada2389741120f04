//! Control-plane framing: `magic (4 bytes) | version (u16 BE) | length (u32 BE) | JSON payload`.
//!
//! The header is checked before the payload is read, so a peer cannot make a reader allocate
//! more than [`MAX_FRAME`] bytes, and bytes from another protocol or version are refused by name.

use crate::control::WireError;

pub const MAGIC: [u8; 4] = *b"CLBN";
pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 10;
/// The largest payload accepted. A plan for 100k ranks with their certificates is about 80 MiB,
/// far beyond anything run from one coordinator; 32 MiB covers thousands of ranks.
pub const MAX_FRAME: usize = 32 << 20;

/// Frames `payload` (already serialised).
pub fn encode(payload: &[u8]) -> Result<Vec<u8>, WireError> {
    if payload.len() > MAX_FRAME {
        return Err(WireError::TooLarge {
            len: payload.len(),
            max: MAX_FRAME,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Checks a header and returns the payload length that follows it.
pub fn parse_header(header: &[u8; HEADER_LEN]) -> Result<usize, WireError> {
    if header[..4] != MAGIC {
        return Err(WireError::BadMagic(header[..4].to_vec()));
    }
    let version = u16::from_be_bytes([header[4], header[5]]);
    if version != VERSION {
        return Err(WireError::Version {
            got: version,
            want: VERSION,
        });
    }
    let len = u32::from_be_bytes([header[6], header[7], header[8], header[9]]) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let f = encode(b"{}").unwrap();
        let h: [u8; HEADER_LEN] = f[..HEADER_LEN].try_into().unwrap();
        assert_eq!(parse_header(&h), Ok(2));
        assert_eq!(&f[HEADER_LEN..], b"{}");
    }

    #[test]
    fn other_protocols_versions_and_huge_lengths_are_refused() {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(b"GET ");
        assert!(matches!(parse_header(&h), Err(WireError::BadMagic(_))));
        h[..4].copy_from_slice(&MAGIC);
        h[5] = 9;
        assert!(matches!(
            parse_header(&h),
            Err(WireError::Version { got: 9, .. })
        ));
        h[5] = 1;
        h[6..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(parse_header(&h), Err(WireError::TooLarge { .. })));
    }

    proptest! {
        #[test]
        fn any_header_is_an_answer_not_a_panic(h in proptest::array::uniform10(any::<u8>())) {
            if let Ok(len) = parse_header(&h) {
                prop_assert!(len <= MAX_FRAME);
            }
        }
    }
}
