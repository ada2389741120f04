//! CPU sets in the kernel's list syntax (`0-3,8,10-11`, as `/proc/self/status` writes
//! `Cpus_allowed_list`): how a node tells the coordinator which cores it may run on.

use std::collections::BTreeSet;

/// The highest CPU number a list may name (Linux's `NR_CPUS` tops out at 8192).
pub const MAX_CPU: u32 = 8191;
/// The most comma-separated items a list may have.
const MAX_ITEMS: usize = 1024;

/// The CPUs of a list, or what is wrong with it. Empty lists, reversed ranges and numbers
/// above [`MAX_CPU`] are refused.
pub fn parse(list: &str) -> Result<BTreeSet<u32>, String> {
    let list = list.trim();
    if list.is_empty() {
        return Err("empty CPU list".into());
    }
    let items: Vec<&str> = list.split(',').collect();
    if items.len() > MAX_ITEMS {
        return Err(format!("more than {MAX_ITEMS} items"));
    }
    let number = |s: &str| -> Result<u32, String> {
        let n: u32 = s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a CPU number"))?;
        if n > MAX_CPU {
            return Err(format!("CPU {n} is above {MAX_CPU}"));
        }
        Ok(n)
    };
    let mut cpus = BTreeSet::new();
    for item in items {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(format!("range {a}-{b} runs backwards"));
                }
                cpus.extend(a..=b);
            }
            None => {
                cpus.insert(number(item)?);
            }
        }
    }
    Ok(cpus)
}

/// `cpus` in list syntax, consecutive runs as ranges.
pub fn format(cpus: &BTreeSet<u32>) -> String {
    let mut items: Vec<String> = Vec::new();
    let mut run: Option<(u32, u32)> = None;
    for &c in cpus {
        run = match run {
            Some((a, b)) if c == b + 1 => Some((a, c)),
            Some(done) => {
                items.push(item(done));
                Some((c, c))
            }
            None => Some((c, c)),
        };
    }
    items.extend(run.map(item));
    items.join(",")
}

fn item((a, b): (u32, u32)) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_as_the_kernel_writes_them() {
        assert_eq!(parse("0-3,8").unwrap().len(), 5);
        assert_eq!(parse("5").unwrap().into_iter().collect::<Vec<_>>(), [5]);
        assert_eq!(format(&parse("0-3,8,10-11").unwrap()), "0-3,8,10-11");
        for bad in ["", "x", "3-1", "1,,2", "9000", "0-99999"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_same_set(cpus in proptest::collection::btree_set(0u32..300, 1..80)) {
            prop_assert_eq!(parse(&format(&cpus)).unwrap(), cpus);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,64}") {
            let _ = parse(&s);
        }
    }
}
