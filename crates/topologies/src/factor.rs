//! Factorisations used to pick default shapes for the two-level algorithms.

/// The largest divisor d of `n` with d x d <= n (1 for a prime; 0 for 0): the shorter side of
/// the most nearly square d x (n/d) factorisation.
pub fn square_divisor(n: usize) -> usize {
    (1..=n)
        .take_while(|d| d.saturating_mul(*d) <= n)
        .filter(|d| n.is_multiple_of(*d))
        .last()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_square_factors() {
        let cases = [
            (0, 0),
            (1, 1),
            (2, 1),
            (4, 2),
            (6, 2),
            (12, 3),
            (16, 4),
            (17, 1),
            (64, 8),
            (96, 8),
            (131_072, 256),
        ];
        for (n, d) in cases {
            assert_eq!(square_divisor(n), d, "n={n}");
        }
    }
}
