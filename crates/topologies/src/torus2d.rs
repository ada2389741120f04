//! 2D torus all-reduce on an X x Y grid, rank = y X + x.
//!
//! Reduce-scatter along each row (a ring of X), all-reduce each shard along its column (a ring
//! of Y over n/X), all-gather along each row: ASTRA-sim's multi-dimensional all-reduce. The rows
//! are groups of X consecutive ranks, so the schedule is the [two-level](crate::two_level) one
//! with rings at both levels; what this algorithm adds is the grid's shape and a cost form per
//! dimension, so rows and columns can be given their own link parameters.
//!
//! Default grid: the most nearly square factorisation with X >= Y ([`default_grid`]); a prime p
//! gets p x 1, a single ring. A grid whose sides do not multiply to p, or has a zero side, is
//! rejected.

use crate::algorithm::{Algorithm, AlgorithmError, BuildOptions};
use crate::cost::CostTerms;
use crate::factor::square_divisor;
use crate::ring;
use crate::schedule::Schedule;
use crate::two_level::compose;

/// (X, Y) with X >= Y, X Y = p and Y as large as possible.
pub fn default_grid(nranks: usize) -> (usize, usize) {
    let y = square_divisor(nranks).max(1);
    (nranks / y, y)
}

/// The grid to use for `nranks` ranks, checked.
pub fn grid(nranks: usize, opts: &BuildOptions) -> Result<(usize, usize), AlgorithmError> {
    let (x, y) = opts.grid.unwrap_or_else(|| default_grid(nranks));
    if x.checked_mul(y) != Some(nranks) || x == 0 {
        return Err(AlgorithmError::Shape {
            algorithm: Algorithm::Torus2d,
            nranks,
            reason: format!(
                "a {x} x {y} grid does not hold {nranks} ranks; X x Y must equal {nranks}"
            ),
        });
    }
    Ok((x, y))
}

pub fn schedule(
    nranks: usize,
    count: usize,
    opts: &BuildOptions,
) -> Result<Schedule, AlgorithmError> {
    let (x, _) = grid(nranks, opts)?;
    compose(
        nranks,
        count,
        x,
        &ring::scatter_gather(x, count),
        |k, len| Ok(ring::schedule(k, len, 0)),
    )
}

/// The cost along rows (ring of X on n bytes) and along columns (ring of Y on n/X bytes), kept
/// apart so each can be given its own alpha, beta and gamma:
/// rows 2(X-1) alpha_x + 2((X-1)/X) n beta_x + ((X-1)/X) n gamma,
/// columns 2(Y-1) alpha_y + 2((Y-1)/Y)(n/X) beta_y + ((Y-1)/Y)(n/X) gamma.
pub fn cost_by_dimension(x: usize, y: usize, bytes: f64) -> (CostTerms, CostTerms) {
    let rows = ring::cost(x, bytes);
    let columns = ring::cost(y, bytes / x.max(1) as f64);
    (rows, columns)
}

/// Both dimensions with the same link parameters.
pub fn cost(nranks: usize, bytes: f64, opts: &BuildOptions) -> Result<CostTerms, AlgorithmError> {
    let (x, y) = grid(nranks, opts)?;
    let (rows, columns) = cost_by_dimension(x, y, bytes);
    Ok(rows.plus(columns))
}
