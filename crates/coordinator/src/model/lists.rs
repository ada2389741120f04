//! Lists of rank counts and sizes: `8,64,131072`, `1K,1M,1G`, ranges `8..131072` (doubling) and
//! `1K..1G:4` (multiplying by 4).

use crate::sizes::parse_size;

/// Parses a comma-separated list of values and ranges; `what` names the option in errors.
pub fn parse_list(text: &str, what: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!(
                "{what}: empty entry in '{text}' (write values separated by commas)"
            ));
        }
        match part.split_once("..") {
            None => out.push(value(part, what)?),
            Some((lo, rest)) => {
                let (hi, factor) = match rest.split_once(':') {
                    Some((hi, f)) => {
                        let f: u64 = f.trim().parse().map_err(|_| {
                            format!("{what}: '{part}': the factor after ':' must be a whole number")
                        })?;
                        (hi, f)
                    }
                    None => (rest, 2),
                };
                if factor < 2 {
                    return Err(format!("{what}: '{part}': the factor must be 2 or more"));
                }
                let (lo, hi) = (value(lo, what)?, value(hi, what)?);
                if lo > hi {
                    return Err(format!("{what}: '{part}': {lo} is larger than {hi}"));
                }
                let mut v = lo;
                loop {
                    out.push(v);
                    match v.checked_mul(factor) {
                        Some(next) if next <= hi => v = next,
                        _ => break,
                    }
                }
                if out.last() != Some(&hi) {
                    out.push(hi);
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|v| seen.insert(*v));
    Ok(out)
}

fn value(s: &str, what: &str) -> Result<u64, String> {
    let v = parse_size(s).map_err(|e| format!("{what}: {e}"))?;
    if v == 0 {
        return Err(format!("{what}: '{}' must be at least 1", s.trim()));
    }
    Ok(v)
}

/// Rank counts as usize.
pub fn parse_ranks(text: &str) -> Result<Vec<usize>, String> {
    parse_list(text, "--ranks")?
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| format!("--ranks: {v} is too large")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_list("8,131072", "x"), Ok(vec![8, 131_072]));
        assert_eq!(parse_list("8..64", "x"), Ok(vec![8, 16, 32, 64]));
        assert_eq!(parse_list("8..100", "x"), Ok(vec![8, 16, 32, 64, 100]));
        assert_eq!(parse_list("1K..1M:32", "x"), Ok(vec![1024, 32768, 1 << 20]));
        assert_eq!(parse_list("1G, 1G", "x"), Ok(vec![1 << 30]));
        assert!(parse_list("8,,9", "x").is_err());
        assert!(parse_list("64..8", "x").is_err());
        assert!(parse_list("0", "x").is_err());
        assert!(parse_list("1..8:1", "x").is_err());
        assert!(parse_list("lots", "--sizes")
            .unwrap_err()
            .starts_with("--sizes"));
        assert_eq!(parse_ranks("24K"), Ok(vec![24_576]));
    }
}
