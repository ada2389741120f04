//! Lists of rank counts and sizes: `8,64,131072`, `1K,1M,1G`, ranges `8..131072` (doubling) and
//! `1K..1G:4` (multiplying by 4).

use crate::sizes::parse_size;

/// `--sizes`: bytes per rank, as clap's value parser reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeList(pub Vec<u64>);

impl SizeList {
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_list(text).map(SizeList)
    }
}

/// `--ranks`: rank counts, as clap's value parser reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankList(pub Vec<usize>);

impl RankList {
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_list(text)?
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| format!("{v} is too large")))
            .collect::<Result<_, _>>()
            .map(RankList)
    }
}

/// Parses a comma-separated list of values and ranges.
pub fn parse_list(text: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!(
                "empty entry in '{text}' (write values separated by commas)"
            ));
        }
        match part.split_once("..") {
            None => out.push(value(part)?),
            Some((lo, rest)) => {
                let (hi, factor) = match rest.split_once(':') {
                    Some((hi, f)) => {
                        let f: u64 = f.trim().parse().map_err(|_| {
                            format!("'{part}': the factor after ':' must be a whole number")
                        })?;
                        (hi, f)
                    }
                    None => (rest, 2),
                };
                if factor < 2 {
                    return Err(format!("'{part}': the factor must be 2 or more"));
                }
                let (lo, hi) = (value(lo)?, value(hi)?);
                if lo > hi {
                    return Err(format!("'{part}': {lo} is larger than {hi}"));
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

fn value(s: &str) -> Result<u64, String> {
    let v = parse_size(s).map_err(|e| e.to_string())?;
    if v == 0 {
        return Err(format!("'{}' must be at least 1", s.trim()));
    }
    Ok(v)
}

/// `--straggler-max-size`: a size, or `all` (every size).
pub fn parse_max_size(text: &str) -> Result<u64, String> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok(u64::MAX);
    }
    parse_size(text).map_err(|e| format!("{e} (or 'all')"))
}

/// `--segment`: the tree algorithms' pipeline segment, a size of at least one byte, or `none`
/// (one segment per tree: unsegmented).
pub fn parse_segment(text: &str) -> Result<usize, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(usize::MAX);
    }
    match parse_size(text) {
        Ok(0) => Err("a segment of 0 bytes; give at least 1 byte, or 'none'".to_string()),
        Ok(v) => usize::try_from(v).map_err(|_| format!("'{}' is too large", text.trim())),
        Err(e) => Err(format!("{e} (or 'none')")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_sizes_or_none() {
        assert_eq!(parse_segment("512K"), Ok(512 * 1024));
        assert_eq!(parse_segment("none"), Ok(usize::MAX));
        assert!(parse_segment("0").unwrap_err().contains("at least 1"));
        assert!(parse_segment("big").unwrap_err().contains("'none'"));
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_list("8,131072"), Ok(vec![8, 131_072]));
        assert_eq!(parse_list("8..64"), Ok(vec![8, 16, 32, 64]));
        assert_eq!(parse_list("8..100"), Ok(vec![8, 16, 32, 64, 100]));
        assert_eq!(parse_list("1K..1M:32"), Ok(vec![1024, 32768, 1 << 20]));
        assert_eq!(parse_list("1G, 1G"), Ok(vec![1 << 30]));
        assert!(parse_list("8,,9").is_err());
        assert!(parse_list("64..8").is_err());
        assert!(parse_list("0").is_err());
        assert!(parse_list("1..8:1").is_err());
        assert!(parse_list("lots").unwrap_err().contains("'lots'"));
        assert_eq!(RankList::parse("24K"), Ok(RankList(vec![24_576])));
        assert_eq!(parse_max_size("all"), Ok(u64::MAX));
        assert_eq!(parse_max_size("64K"), Ok(65536));
        assert!(parse_max_size("some").unwrap_err().contains("'all'"));
    }
}
