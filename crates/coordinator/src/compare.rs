//! The comparison after a multi-algorithm run: for each size, the fastest algorithm and every
//! algorithm's time as a ratio to it (out-of-place times).

use std::collections::BTreeMap;
use std::fmt::Write;

use topologies::Algorithm;
use wire::results::ResultRow;

pub fn render(rows: &[ResultRow]) -> String {
    let mut algos: Vec<Algorithm> = Vec::new();
    let mut by_size: BTreeMap<u64, Vec<(Algorithm, f64)>> = BTreeMap::new();
    for r in rows {
        if !algos.contains(&r.algorithm) {
            algos.push(r.algorithm);
        }
        by_size
            .entry(r.size)
            .or_default()
            .push((r.algorithm, r.out_of_place.time));
    }
    let mut s = String::from(
        "#\n# Comparison: out-of-place time relative to the fastest algorithm at each size\n",
    );
    let _ = write!(s, "# {:>10}  {:>8}", "size", "best");
    for a in &algos {
        let _ = write!(s, "  {:>8}", a.name());
    }
    s.push('\n');
    for (size, times) in &by_size {
        let Some(&(best, best_t)) = times.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
            continue;
        };
        let _ = write!(
            s,
            "# {:>10}  {:>8}",
            crate::sizes::format_size(*size),
            best.name()
        );
        for a in &algos {
            match times.iter().find(|(x, _)| x == a) {
                Some((_, t)) if best_t > 0.0 => {
                    let _ = write!(s, "  {:>7.2}x", t / best_t);
                }
                _ => {
                    let _ = write!(s, "  {:>8}", "-");
                }
            }
        }
        s.push('\n');
    }
    s
}
