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

/// The comparison of every collective with more than one algorithm, as `#` comment lines for
/// stdout (nothing when there is none).
pub fn render(rows: &[ResultRow]) -> String {
    let mut collectives: Vec<Collective> = Vec::new();
    for r in rows {
        if !collectives.contains(&r.collective) {
            collectives.push(r.collective);
        }
    }
    let mut s = String::new();
    for c in collectives {
        let of: Vec<ResultRow> = rows.iter().filter(|r| r.collective == c).cloned().collect();
        let compared = compare(&of);
        if compared.algorithms.len() > 1 {
            let of_what = if c == Collective::AllReduce {
                String::new()
            } else {
                format!(" ({c})")
            };
            s.push_str(&render_one(&compared, &of_what));
        }
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
