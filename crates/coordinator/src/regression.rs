//! Two runs compared row by row, for a CI job's gate: per collective, algorithm, rank count, size, type and
//! operator, the ratio (B / A) of the out-of-place bus bandwidth and of the p50 and p99 iteration
//! times. A row regresses when its busbw falls, or its p50 time rises, by more than the
//! threshold; p99 is marked when beyond it but does not gate (with 20 iterations it is one
//! iteration's time, too noisy to fail a build on).

use serde::Serialize;
use topologies::{Algorithm, Case, Collective, DataType, ReduceOp};
use wire::results::ResultRow;

/// What a row is the measurement of: rows of the two runs are compared when these are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Key {
    pub collective: Collective,
    pub algorithm: Algorithm,
    pub nranks: usize,
    pub size: u64,
    pub dtype: DataType,
    pub redop: ReduceOp,
}

impl Key {
    fn of(r: &ResultRow) -> Key {
        Key {
            collective: r.collective,
            algorithm: r.algorithm,
            nranks: r.nranks,
            size: r.size,
            dtype: r.dtype,
            redop: r.redop,
        }
    }
}

/// A metric in both runs and B's ratio to A.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pair {
    pub a: f64,
    pub b: f64,
    pub ratio: f64,
}

impl Pair {
    fn new(a: f64, b: f64) -> Pair {
        let ratio = if a > 0.0 { b / a } else { f64::NAN };
        Pair { a, b, ratio }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Regression,
    Improvement,
    Within,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowChange {
    pub key: Key,
    pub busbw: Pair,
    pub p50_us: Pair,
    pub p99_us: Pair,
    /// Beyond the threshold in the worse direction: busbw, p50, p99.
    pub worse: [bool; 3],
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The threshold as a fraction (0.05 for 5%).
    pub threshold: f64,
    pub rows: Vec<RowChange>,
    pub only_in_a: Vec<Key>,
    pub only_in_b: Vec<Key>,
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.change == Change::Regression)
            .count()
    }
}

/// Some row of B regressed against A beyond the threshold (exit status 5).
#[derive(Debug, thiserror::Error)]
#[error("{regressed} of {compared} rows regressed beyond {threshold}% (marked REGRESSION above)")]
pub struct Regressed {
    pub regressed: usize,
    pub compared: usize,
    pub threshold: f64,
}

/// Compares run B's rows with run A's; `threshold` is a fraction (0.05 for 5%).
pub fn compare(a: &[ResultRow], b: &[ResultRow], threshold: f64) -> Comparison {
    let mut rows = Vec::new();
    let mut only_in_a = Vec::new();
    for ra in a {
        let key = Key::of(ra);
        let Some(rb) = b.iter().find(|r| Key::of(r) == key) else {
            only_in_a.push(key);
            continue;
        };
        rows.push(row_change(key, ra, rb, threshold));
    }
    let mut only_in_b: Vec<Key> = b
        .iter()
        .map(Key::of)
        .filter(|k| !a.iter().any(|r| Key::of(r) == *k))
        .collect();
    rows.sort_by_key(|r| r.key);
    only_in_a.sort();
    only_in_b.sort();
    Comparison {
        threshold,
        rows,
        only_in_a,
        only_in_b,
    }
}

fn row_change(key: Key, a: &ResultRow, b: &ResultRow, threshold: f64) -> RowChange {
    let (oa, ob) = (&a.out_of_place, &b.out_of_place);
    let busbw = Pair::new(oa.bus_bw, ob.bus_bw);
    let p50_us = Pair::new(oa.per_iter.p50_us, ob.per_iter.p50_us);
    let p99_us = Pair::new(oa.per_iter.p99_us, ob.per_iter.p99_us);
    let worse = [
        busbw.ratio < 1.0 - threshold,
        p50_us.ratio > 1.0 + threshold,
        p99_us.ratio > 1.0 + threshold,
    ];
    let better = busbw.ratio > 1.0 + threshold || p50_us.ratio < 1.0 - threshold;
    let change = if worse[0] || worse[1] {
        Change::Regression
    } else if better {
        Change::Improvement
    } else {
        Change::Within
    };
    RowChange {
        key,
        busbw,
        p50_us,
        p99_us,
        worse,
        change,
    }
}

/// A threshold as given: "5%", or "5" (percent either way), above 0 and below 100.
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 100.0 => Ok(p / 100.0),
        _ => Err(format!(
            "'{text}' is not a percentage above 0 and below 100 (for example 5%)"
        )),
    }
}

/// The comparison as a table: one line per row, then the rows only one run has.
pub fn table(c: &Comparison, names: [&str; 2]) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "# collbench compare: A = {}, B = {}; ratios are B / A; threshold {}%\n\
         # a row regresses when busbw falls or the p50 time rises beyond the threshold; p99 is \
         marked (!) but does not gate\n",
        names[0],
        names[1],
        c.threshold * 100.0
    );
    let _ = writeln!(
        s,
        "# {:<20} {:>6} {:>12} {:>6}  {:>9} {:>9} {:>7}  {:>10} {:>10} {:>7}  {:>10} {:>10} {:>7}  change",
        "algorithm", "ranks", "size", "type", "busbw A", "busbw B", "ratio", "p50 A(us)",
        "p50 B(us)", "ratio", "p99 A(us)", "p99 B(us)", "ratio"
    );
    let mark = |worse: bool| if worse { "!" } else { " " };
    for r in &c.rows {
        let _ = writeln!(
            s,
            "  {:<20} {:>6} {:>12} {:>6}  {:>9.4} {:>9.4} {:>6.3}{}  {:>10.1} {:>10.1} {:>6.3}{}  {:>10.1} {:>10.1} {:>6.3}{}  {}",
            Case {
                collective: r.key.collective,
                algorithm: r.key.algorithm,
            }
            .to_string(),
            r.key.nranks,
            r.key.size,
            r.key.dtype.name(),
            r.busbw.a,
            r.busbw.b,
            r.busbw.ratio,
            mark(r.worse[0]),
            r.p50_us.a,
            r.p50_us.b,
            r.p50_us.ratio,
            mark(r.worse[1]),
            r.p99_us.a,
            r.p99_us.b,
            r.p99_us.ratio,
            mark(r.worse[2]),
            match r.change {
                Change::Regression => "REGRESSION",
                Change::Improvement => "better",
                Change::Within => "",
            }
        );
    }
    for (which, keys) in [("A", &c.only_in_a), ("B", &c.only_in_b)] {
        for k in keys {
            let _ = writeln!(
                s,
                "# only in {which}: {} {} ranks {} bytes {} {}",
                k.algorithm.name(),
                k.nranks,
                k.size,
                k.dtype.name(),
                k.redop.name()
            );
        }
    }
    let _ = writeln!(
        s,
        "# {} rows compared, {} regressed",
        c.rows.len(),
        c.regressions()
    );
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;
    use crate::test_rows;

    fn row(algorithm: Algorithm, size: u64, busbw: f64, p50: f64, p99: f64) -> ResultRow {
        let m = test_rows::measured(busbw, p50, p99, Some(0));
        test_rows::row(algorithm, size, m.clone(), m)
    }

    #[test]
    fn a_drop_in_busbw_or_a_rise_in_p50_beyond_the_threshold_regresses() {
        let a = [
            row(Algorithm::Ring, 1024, 1.0, 100.0, 200.0),
            row(Algorithm::Ring, 4096, 1.0, 100.0, 200.0),
            row(Algorithm::Tree, 1024, 1.0, 100.0, 200.0),
        ];
        let b = [
            row(Algorithm::Ring, 1024, 0.9, 100.0, 200.0),
            row(Algorithm::Ring, 4096, 1.0, 100.0, 400.0),
            row(Algorithm::Rhd, 1024, 1.0, 100.0, 200.0),
        ];
        let c = compare(&a, &b, 0.05);
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.rows[0].change, Change::Regression, "busbw 0.9x");
        assert_eq!(c.rows[1].change, Change::Within, "p99 alone does not gate");
        assert!(c.rows[1].worse[2], "but it is marked");
        assert_eq!(c.regressions(), 1);
        assert_eq!(c.only_in_a.len(), 1);
        assert_eq!(c.only_in_a[0].algorithm, Algorithm::Tree);
        assert_eq!(c.only_in_b[0].algorithm, Algorithm::Rhd);
        let t = table(&c, ["a", "b"]);
        assert!(
            t.contains("REGRESSION") && t.contains("only in A: tree"),
            "{t}"
        );
        assert_eq!(compare(&a, &a, 0.05).regressions(), 0);
    }

    #[test]
    fn thresholds_are_percentages() {
        assert_eq!(parse_threshold("5%"), Ok(0.05));
        assert_eq!(parse_threshold(" 10 "), Ok(0.1));
        for bad in ["0", "100%", "-5", "five", ""] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// A row regresses exactly when its busbw ratio is below 1 - t or its p50 ratio above
        /// 1 + t; comparing a run with itself never regresses.
        #[test]
        fn the_gate_follows_the_ratios(
            busbw in 0.01f64..10.0, p50 in 1.0f64..1e6,
            fb in 0.5f64..1.5, fp in 0.5f64..1.5, t in 0.01f64..0.5,
        ) {
            let a = [row(Algorithm::Ring, 1024, busbw, p50, p50)];
            let b = [row(Algorithm::Ring, 1024, busbw * fb, p50 * fp, p50)];
            let c = compare(&a, &b, t);
            let r = &c.rows[0];
            let expect = r.busbw.ratio < 1.0 - t || r.p50_us.ratio > 1.0 + t;
            prop_assert_eq!(r.change == Change::Regression, expect);
            prop_assert_eq!(compare(&a, &a, t).regressions(), 0);
        }
    }
}
