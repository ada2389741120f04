//! Comma-separated lists of names, as the command line and scenario files write them.

use std::hash::Hash;
use std::str::FromStr;

/// Parses `text`, a comma-separated list of names (blanks around them ignored); `all` stands
/// for every one of `all`, in its order. Repeats are dropped, the first kept.
pub fn parse_list<T>(text: &str, all: &[T]) -> Result<Vec<T>, T::Err>
where
    T: FromStr + Copy + Eq + Hash,
{
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            out.extend_from_slice(all);
        } else {
            out.push(part.parse()?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(*v));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataType;

    #[test]
    fn all_expands_in_order_and_repeats_go() {
        let got = parse_list(" int32, all ,float", &DataType::ALL).unwrap();
        assert_eq!(got[0], DataType::Int32);
        assert_eq!(got.len(), DataType::ALL.len());
        assert!(parse_list::<DataType>("float,nope", &DataType::ALL).is_err());
        assert!(parse_list::<DataType>(" , ", &DataType::ALL)
            .unwrap()
            .is_empty());
    }
}
