//! The comparison after a multi-algorithm run: for each collective measured by more than one
//! algorithm, and each size, the fastest algorithm and every algorithm's time as a ratio to it
//! (out-of-place times).

use std::collections::BTreeMap;
use std::fmt::Write;

use topologies::{Algorithm, Collective};
use wire::results::ResultRow;

use crate::sizes::format_size;

pub struct Comparison {
    pub algorithms: Vec<Algorithm>,
    /// (size, fastest algorithm, each algorithm's time / the fastest's, in `algorithms` order).
    pub sizes: Vec<(u64, Algorithm, Vec<Option<f64>>)>,
}

pub fn compare(rows: &[ResultRow]) -> Comparison {
    let mut algorithms: Vec<Algorithm> = Vec::new();
    // Per size, each algorithm's mean time over its rows (one per cycle of -N).
    let mut sums: BTreeMap<u64, Vec<(Algorithm, f64, u32)>> = BTreeMap::new();
    for r in rows {
        if !algorithms.contains(&r.algorithm) {
            algorithms.push(r.algorithm);
        }
        let at = sums.entry(r.size).or_default();
        match at.iter_mut().find(|(a, _, _)| *a == r.algorithm) {
            Some((_, sum, n)) => {
                *sum += r.out_of_place.time;
                *n += 1;
            }
            None => at.push((r.algorithm, r.out_of_place.time, 1)),
        }
    }
    let by_size = sums.into_iter().map(|(size, v)| {
        let means: Vec<(Algorithm, f64)> = v
            .into_iter()
            .map(|(a, sum, n)| (a, sum / f64::from(n)))
            .collect();
        (size, means)
    });
    let sizes = by_size
        .into_iter()
        .filter_map(|(size, times)| {
            let &(best, best_t) = times.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
            let ratios = algorithms
                .iter()
                .map(|a| {
                    times
                        .iter()
                        .find(|(x, _)| x == a)
                        .filter(|_| best_t > 0.0)
                        .map(|(_, t)| t / best_t)
                })
                .collect();
            Some((size, best, ratios))
        })
        .collect();
    Comparison { algorithms, sizes }
}

/// The rows to compare: one group per collective, type and operator measured by more than one
/// algorithm, with what the group is ("" for the only all-reduce group, else "all_gather",
/// "all_reduce half sum", ...).
pub fn groups(rows: &[ResultRow]) -> Vec<(String, Vec<ResultRow>)> {
    let key = |r: &ResultRow| (r.collective, r.dtype, r.redop);
    let mut keys = Vec::new();
    for r in rows {
        if !keys.contains(&key(r)) {
            keys.push(key(r));
        }
    }
    let several_types = keys.iter().any(|k| (k.1, k.2) != (keys[0].1, keys[0].2));
    let mut out = Vec::new();
    for k in &keys {
        let of: Vec<ResultRow> = rows.iter().filter(|r| key(r) == *k).cloned().collect();
        let mut algorithms: Vec<Algorithm> = of.iter().map(|r| r.algorithm).collect();
        algorithms.sort();
        algorithms.dedup();
        if algorithms.len() < 2 {
            continue;
        }
        let mut name = Vec::new();
        if k.0 != Collective::AllReduce || several_types {
            name.push(k.0.name().to_string());
        }
        if several_types {
            name.push(k.1.name().to_string());
            if k.0.reduces() {
                name.push(k.2.name().to_string());
            }
        }
        out.push((name.join(" "), of));
    }
    out
}

/// The comparison of every group of [`groups`], as `#` comment lines for stdout (nothing when
/// there is none).
pub fn render(rows: &[ResultRow]) -> String {
    let mut s = String::new();
    for (name, of) in groups(rows) {
        let of_what = if name.is_empty() {
            name
        } else {
            format!(" ({name})")
        };
        s.push_str(&render_one(&compare(&of), &of_what));
    }
    s
}

fn render_one(c: &Comparison, of_what: &str) -> String {
    let mut s = format!(
        "#\n# Comparison{of_what}: out-of-place time relative to the fastest algorithm at each size\n",
    );
    let _ = write!(s, "# {:>10}  {:>8}", "size", "best");
    for a in &c.algorithms {
        let _ = write!(s, "  {:>8}", a.name());
    }
    s.push('\n');
    for (size, best, ratios) in &c.sizes {
        let _ = write!(s, "# {:>10}  {:>8}", format_size(*size), best.name());
        for r in ratios {
            let _ = match r {
                Some(r) => write!(s, "  {:>7.2}x", r),
                None => write!(s, "  {:>8}", "-"),
            };
        }
        s.push('\n');
    }
    s
}
