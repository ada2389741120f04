//! Non-negative least squares for a handful of unknowns.
//!
//! With at most a few columns the exact NNLS optimum is found by trying every set of free
//! (positive) parameters: the optimum is the unconstrained least-squares solution on its free
//! set, and that solution is feasible, so the feasible subset solution with the smallest residual
//! is the optimum. Columns are scaled to unit norm first; a subset whose normal matrix is
//! numerically singular (collinear columns) is skipped, which is how an unidentifiable parameter
//! is left at zero rather than given an arbitrary value.

/// Relative pivot below which a (unit-scaled) normal matrix counts as singular.
const SINGULAR: f64 = 1e-9;

/// Most columns this solver takes (2^k subsets are tried).
pub const MAX_COLUMNS: usize = 6;

#[derive(Clone, Debug, PartialEq)]
pub struct NnlsSolution {
    /// One coefficient per column; zero for a column not in the free set.
    pub coef: Vec<f64>,
    /// Whether each column is in the free set.
    pub free: Vec<bool>,
    /// Whether a column outside the free set is collinear with the free set (so it cannot be
    /// told apart from them with these data), as opposed to held at zero by the bound.
    pub collinear: Vec<bool>,
    /// Residual sum of squares.
    pub rss: f64,
    /// (X_S^T X_S)^-1 over all columns, zero outside the free set: multiplied by the residual
    /// variance it is the coefficients' covariance.
    pub inv_normal: Vec<Vec<f64>>,
}

/// The best free set found so far.
struct Candidate {
    rss: f64,
    mask: u32,
    coef: Vec<f64>,
    inv: Vec<Vec<f64>>,
}

/// Solves min |X b - y|^2 subject to b >= 0. `x` holds rows; every row has the same length,
/// at most [`MAX_COLUMNS`]. Returns `None` for empty or ragged input or non-finite values.
pub fn nnls(x: &[Vec<f64>], y: &[f64]) -> Option<NnlsSolution> {
    let n = x.len();
    if n == 0 || y.len() != n {
        return None;
    }
    let k = x[0].len();
    if k == 0 || k > MAX_COLUMNS || x.iter().any(|r| r.len() != k) {
        return None;
    }
    if x.iter().flatten().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let scale: Vec<f64> = (0..k)
        .map(|j| x.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt())
        .collect();
    let col = |i: usize, j: usize| {
        if scale[j] > 0.0 {
            x[i][j] / scale[j]
        } else {
            0.0
        }
    };

    let mut masks: Vec<u32> = (1..(1u32 << k)).collect();
    masks.sort_by_key(|m| (std::cmp::Reverse(m.count_ones()), *m));

    let yy: f64 = y.iter().map(|v| v * v).sum();
    let mut best: Option<Candidate> = None;
    for mask in masks {
        let cols: Vec<usize> = (0..k).filter(|j| mask & (1 << j) != 0).collect();
        if cols.iter().any(|&j| scale[j] == 0.0) {
            continue;
        }
        let m = cols.len();
        let mut a = vec![vec![0.0; m]; m];
        let mut b = vec![0.0; m];
        for (i, yi) in y.iter().enumerate() {
            for (p, &jp) in cols.iter().enumerate() {
                let xp = col(i, jp);
                b[p] += xp * yi;
                for (q, &jq) in cols.iter().enumerate() {
                    a[p][q] += xp * col(i, jq);
                }
            }
        }
        let Some(l) = cholesky(&a) else { continue };
        let c = solve_cholesky(&l, &b);
        if c.iter().any(|v| *v < 0.0 || !v.is_finite()) {
            continue;
        }
        let rss: f64 = (0..n)
            .map(|i| {
                let fit: f64 = cols.iter().zip(&c).map(|(&j, cj)| col(i, j) * cj).sum();
                (y[i] - fit).powi(2)
            })
            .sum();
        let better = match &best {
            None => true,
            Some(c) => rss < c.rss * (1.0 - 1e-9) - 1e-300,
        };
        if better {
            let inv = invert_cholesky(&l);
            best = Some(Candidate {
                rss,
                mask,
                coef: c,
                inv,
            });
        }
    }

    let mut coef = vec![0.0; k];
    let mut free = vec![false; k];
    let mut inv_normal = vec![vec![0.0; k]; k];
    let rss = match best {
        Some(Candidate {
            rss,
            mask,
            coef: c,
            inv,
        }) if rss <= yy => {
            let cols: Vec<usize> = (0..k).filter(|j| mask & (1 << j) != 0).collect();
            for (p, &jp) in cols.iter().enumerate() {
                coef[jp] = c[p] / scale[jp];
                free[jp] = true;
                for (q, &jq) in cols.iter().enumerate() {
                    inv_normal[jp][jq] = inv[p][q] / (scale[jp] * scale[jq]);
                }
            }
            rss
        }
        _ => yy,
    };
    let collinear = (0..k)
        .map(|j| {
            if free[j] {
                return false;
            }
            if scale[j] == 0.0 {
                return true;
            }
            let cols: Vec<usize> = (0..k).filter(|&c| free[c] || c == j).collect();
            let a: Vec<Vec<f64>> = cols
                .iter()
                .map(|&p| {
                    cols.iter()
                        .map(|&q| (0..n).map(|i| col(i, p) * col(i, q)).sum())
                        .collect()
                })
                .collect();
            cholesky(&a).is_none()
        })
        .collect();
    Some(NnlsSolution {
        coef,
        free,
        collinear,
        rss,
        inv_normal,
    })
}

/// Lower-triangular L with L L^T = a, or `None` when a pivot falls below [`SINGULAR`] relative
/// to the matrix's diagonal.
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let m = a.len();
    let mut l = vec![vec![0.0; m]; m];
    for i in 0..m {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|t| l[i][t] * l[j][t]).sum::<f64>();
            if i == j {
                if s <= SINGULAR * a[i][i].abs().max(f64::MIN_POSITIVE) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

fn solve_cholesky(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let m = l.len();
    let mut z = vec![0.0; m];
    for i in 0..m {
        z[i] = (b[i] - (0..i).map(|t| l[i][t] * z[t]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; m];
    for i in (0..m).rev() {
        x[i] = (z[i] - (i + 1..m).map(|t| l[t][i] * x[t]).sum::<f64>()) / l[i][i];
    }
    x
}

fn invert_cholesky(l: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let m = l.len();
    let mut inv = vec![vec![0.0; m]; m];
    for j in 0..m {
        let mut e = vec![0.0; m];
        e[j] = 1.0;
        let colj = solve_cholesky(l, &e);
        for i in 0..m {
            inv[i][j] = colj[i];
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_exact_nonnegative_solution() {
        let x: Vec<Vec<f64>> = (1..=6).map(|i| vec![1.0, i as f64]).collect();
        let y: Vec<f64> = x.iter().map(|r| 2.0 * r[0] + 0.5 * r[1]).collect();
        let s = nnls(&x, &y).unwrap();
        assert!((s.coef[0] - 2.0).abs() < 1e-9);
        assert!((s.coef[1] - 0.5).abs() < 1e-9);
        assert!(s.rss < 1e-18);
        assert_eq!(s.free, vec![true, true]);
    }

    #[test]
    fn negative_unconstrained_coefficient_is_held_at_zero() {
        // y = 3 - x: the unconstrained slope is negative; NNLS keeps it at 0.
        let x: Vec<Vec<f64>> = (0..5).map(|i| vec![1.0, i as f64]).collect();
        let y: Vec<f64> = (0..5).map(|i| 3.0 - i as f64).collect();
        let s = nnls(&x, &y).unwrap();
        assert_eq!(s.coef[1], 0.0);
        assert!(!s.free[1]);
        assert!(!s.collinear[1]);
        assert!((s.coef[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn collinear_column_is_reported_and_left_at_zero() {
        let x: Vec<Vec<f64>> = (1..=5)
            .map(|i| vec![1.0, 2.0 * i as f64, i as f64])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| 1.0 + r[1]).collect();
        let s = nnls(&x, &y).unwrap();
        assert!(s.free[1]);
        assert!(!s.free[2]);
        assert!(s.collinear[2]);
        assert!(s.rss < 1e-18);
    }

    #[test]
    fn rejects_ragged_and_non_finite_input() {
        assert!(nnls(&[vec![1.0], vec![1.0, 2.0]], &[1.0, 2.0]).is_none());
        assert!(nnls(&[vec![f64::NAN]], &[1.0]).is_none());
        assert!(nnls(&[], &[]).is_none());
    }
}
