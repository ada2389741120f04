//! What a finished run's rows say about it, for the exit status: wrong results (#wrong > 0), and
//! an average bus bandwidth below `--min-busbw` / `NCCL_TESTS_MIN_BW`, checked as nccl-tests
//! checks it: a table fails when its average busbw is below 90% of the minimum.

use topologies::Algorithm;
use wire::results::ResultRow;

/// A table's average is held to this fraction of the minimum (nccl-tests' tolerance).
pub const MIN_BW_TOLERANCE: f64 = 0.9;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Verdict {
    #[error("{} had wrong results (#wrong > 0): {}", rows_word(.0.len()), list(.0))]
    WrongResults(Vec<(Algorithm, u64, u64)>),
    #[error(
        "average bus bandwidth below the minimum {min} GB/s (less {}%): {}",
        ((1.0 - MIN_BW_TOLERANCE) * 100.0).round(),
        below_list(.below)
    )]
    BelowMinBandwidth {
        min: f64,
        below: Vec<(Algorithm, f64)>,
    },
}

fn rows_word(n: usize) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        format!("{n} rows")
    }
}

fn list(rows: &[(Algorithm, u64, u64)]) -> String {
    rows.iter()
        .map(|(a, size, n)| format!("{a} {size} bytes: {n} wrong"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn below_list(tables: &[(Algorithm, f64)]) -> String {
    tables
        .iter()
        .map(|(a, avg)| format!("{a} averaged {avg:.4} GB/s"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Wrong elements of a row, both placements (0 where checking was off).
pub fn row_wrong(r: &ResultRow) -> u64 {
    [r.out_of_place.nwrong, r.in_place.nwrong]
        .into_iter()
        .flatten()
        .sum()
}

/// Wrong elements over rows, as the footer's "Out of bounds values" counts them.
pub fn wrong_values(rows: &[&ResultRow]) -> u64 {
    rows.iter().map(|r| row_wrong(r)).sum()
}

/// The average bus bandwidth of a table, as its footer prints it (out of place, every size).
pub fn average_busbw(rows: &[&ResultRow]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter().map(|r| r.out_of_place.bus_bw).sum::<f64>() / rows.len() as f64
}

/// Whether a table's average passes `min`: "OK" or "FAILED", as nccl-tests prints it.
pub fn min_bw_word(average: f64, min: f64) -> &'static str {
    if average < min * MIN_BW_TOLERANCE {
        "FAILED"
    } else {
        "OK"
    }
}

/// Wrong results first (they make every number moot), then the minimum bandwidth per table.
pub fn check(rows: &[ResultRow], min_busbw: Option<f64>) -> Result<(), Verdict> {
    let wrong: Vec<(Algorithm, u64, u64)> = rows
        .iter()
        .filter_map(|r| {
            let n = row_wrong(r);
            (n > 0).then_some((r.algorithm, r.size, n))
        })
        .collect();
    if !wrong.is_empty() {
        return Err(Verdict::WrongResults(wrong));
    }
    let Some(min) = min_busbw else {
        return Ok(());
    };
    let mut tables: Vec<(Algorithm, Vec<&ResultRow>)> = Vec::new();
    for r in rows {
        match tables.iter_mut().find(|(a, _)| *a == r.algorithm) {
            Some((_, t)) => t.push(r),
            None => tables.push((r.algorithm, vec![r])),
        }
    }
    let below: Vec<(Algorithm, f64)> = tables
        .iter()
        .map(|(a, t)| (*a, average_busbw(t)))
        .filter(|&(_, avg)| min_bw_word(avg, min) == "FAILED")
        .collect();
    if below.is_empty() {
        Ok(())
    } else {
        Err(Verdict::BelowMinBandwidth { min, below })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::test_rows;

    fn row(algorithm: Algorithm, size: u64, bus_bw: f64, wrong: [Option<u64>; 2]) -> ResultRow {
        let m = |nwrong| test_rows::measured(bus_bw, 10.0, 10.0, nwrong);
        test_rows::row(algorithm, size, m(wrong[0]), m(wrong[1]))
    }

    #[test]
    fn wrong_results_in_either_placement_fail_and_come_before_the_bandwidth() {
        let ok = row(Algorithm::Ring, 1024, 1.0, [Some(0), Some(0)]);
        let wrong = row(Algorithm::Tree, 4096, 1.0, [Some(0), Some(3)]);
        assert_eq!(check(std::slice::from_ref(&ok), None), Ok(()));
        assert_eq!(
            check(&[ok.clone(), wrong.clone()], Some(1e9)),
            Err(Verdict::WrongResults(vec![(Algorithm::Tree, 4096, 3)]))
        );
        let unchecked = row(Algorithm::Ring, 1024, 1.0, [None, None]);
        assert_eq!(check(&[unchecked], None), Ok(()));
    }

    #[test]
    fn a_table_fails_below_ninety_percent_of_the_minimum() {
        let rows = [
            row(Algorithm::Ring, 1024, 1.0, [Some(0); 2]),
            row(Algorithm::Ring, 4096, 3.0, [Some(0); 2]),
            row(Algorithm::Tree, 1024, 0.5, [Some(0); 2]),
        ];
        // Ring averages 2.0, tree 0.5.
        assert_eq!(
            check(&rows, Some(2.2)),
            Err(Verdict::BelowMinBandwidth {
                min: 2.2,
                below: vec![(Algorithm::Tree, 0.5)],
            })
        );
        assert!(matches!(
            check(&rows, Some(2.3)),
            Err(Verdict::BelowMinBandwidth { below, .. }) if below.len() == 2
        ));
        assert_eq!(check(&rows, Some(0.55)), Ok(()));
        assert_eq!(min_bw_word(0.9, 1.0), "OK");
        assert_eq!(min_bw_word(0.89, 1.0), "FAILED");
    }
}
