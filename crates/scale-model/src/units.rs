//! Units and the nccl-tests bandwidth definitions.
//!
//! Times are microseconds throughout; bandwidths are reported in GB/s with GB = 1e9 bytes, as
//! nccl-tests reports them. Per-byte times (beta, gamma) are microseconds per byte.

/// Bytes in a GB as nccl-tests counts them.
pub const GB: f64 = 1e9;

/// Bytes in a GiB (ASTRA-sim's and SimAI's "GB").
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Algorithm bandwidth in GB/s: S / t.
pub fn alg_bw_gbps(size_bytes: f64, time_us: f64) -> f64 {
    if time_us <= 0.0 {
        return 0.0;
    }
    size_bytes / (time_us * 1e-6) / GB
}

/// Bus bandwidth in GB/s for all-reduce: algbw x 2(p-1)/p.
pub fn bus_bw_gbps(size_bytes: f64, time_us: f64, nranks: usize) -> f64 {
    alg_bw_gbps(size_bytes, time_us) * bus_factor(nranks)
}

/// nccl-tests' all-reduce bus-bandwidth factor 2(p-1)/p (0 for one rank).
pub fn bus_factor(nranks: usize) -> f64 {
    if nranks == 0 {
        return 0.0;
    }
    let p = nranks as f64;
    2.0 * (p - 1.0) / p
}

/// Microseconds per byte of a link of `bytes_per_s` bytes per second.
pub fn us_per_byte(bytes_per_s: f64) -> f64 {
    1e6 / bytes_per_s
}

/// Bytes per second of a per-byte time in microseconds.
pub fn bytes_per_s(us_per_byte: f64) -> f64 {
    1e6 / us_per_byte
}

/// A text that is not a byte count, and why.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("'{given}' is not a size: {reason} (examples: 1024, 8K, 64M, 1G)")]
pub struct SizeError {
    pub given: String,
    pub reason: &'static str,
}

/// Parses a byte count with an optional K/M/G/T suffix (binary multiples, as nccl-tests' `-b`
/// and `-e` take them; `KB`, `KiB` and `k` all mean 1024, case-insensitive; spaces around the
/// suffix are allowed). The one size parser of collbench: command line, scenarios and examples.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let err = |reason| SizeError {
        given: text.to_string(),
        reason,
    };
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if t.is_empty() {
        return Err(err("empty"));
    }
    if digits_end == 0 {
        return Err(err(
            "expected a whole number with an optional K, M, G or T suffix",
        ));
    }
    let n: u64 = t[..digits_end]
        .parse()
        .map_err(|_| err("number too large"))?;
    let suffix = t[digits_end..].trim().to_ascii_lowercase();
    let mult: u64 = match suffix.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(err(
                "expected a whole number with an optional K, M, G or T suffix",
            ))
        }
    };
    n.checked_mul(mult).ok_or_else(|| err("number too large"))
}

/// A byte count written the way nccl-tests users read it: `256K`, `1G`, `1536`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (mult, name) in UNITS {
        if bytes >= mult && bytes.is_multiple_of(mult) {
            return format!("{}{name}", bytes / mult);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busbw_follows_nccl_tests() {
        // 1 GB in 1 s on 8 ranks: algbw 1 GB/s, busbw 1.75 GB/s.
        assert!((alg_bw_gbps(1e9, 1e6) - 1.0).abs() < 1e-12);
        assert!((bus_bw_gbps(1e9, 1e6, 8) - 1.75).abs() < 1e-12);
        assert_eq!(bus_factor(1), 0.0);
    }

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("256K"), Ok(256 * 1024));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("8mib"), Ok(8 << 20));
        assert_eq!(parse_size("64 M"), Ok(64 << 20));
        assert_eq!(parse_size("1536"), Ok(1536));
        for bad in [
            "x",
            "1Q",
            "",
            "1.5M",
            "-1",
            "99999999999999999999",
            "99999999999T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(format_size(1 << 30), "1G");
        assert_eq!(format_size(1536), "1536");
    }
}
