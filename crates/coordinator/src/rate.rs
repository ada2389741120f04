//! Link rates in tc's units: bit, kbit, mbit, gbit, tbit (powers of 1000), also bps/kbps... as
//! bytes per second the way tc reads them.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a rate; use tc units such as 500mbit, 10gbit or 100kbit")]
pub struct RateError(pub String);

/// Parses a rate into bits per second.
pub fn parse_rate(s: &str) -> Result<f64, RateError> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let value: f64 = num.parse().map_err(|_| RateError(s.to_string()))?;
    let mult = match unit {
        "bit" | "" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "tbit" => 1e12,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        _ => return Err(RateError(s.to_string())),
    };
    let bps = value * mult;
    if !bps.is_finite() || bps <= 0.0 {
        return Err(RateError(s.to_string()));
    }
    Ok(bps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tc_units() {
        assert_eq!(parse_rate("500mbit"), Ok(500e6));
        assert_eq!(parse_rate("10gbit"), Ok(10e9));
        assert_eq!(parse_rate("1.5Gbit"), Ok(1.5e9));
        // tc's "bps" is bytes per second.
        assert_eq!(parse_rate("1mbps"), Ok(8e6));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0mbit").is_err());
        assert!(parse_rate("10 furlongs").is_err());
    }
}
