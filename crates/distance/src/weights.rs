use crate::{DistanceError, Side};

/// Checks one weight vector (finite, non-negative, not all zero) and returns its sum.
pub(crate) fn checked_sum(w: &[f64], side: Side) -> Result<f64, DistanceError> {
    if w.is_empty() {
        return Err(DistanceError::Empty(side));
    }
    let mut sum = 0.0;
    for (row, &value) in w.iter().enumerate() {
        if !value.is_finite() {
            return Err(DistanceError::NonFiniteWeight { side, row, value });
        }
        if value < 0.0 {
            return Err(DistanceError::NegativeWeight { side, row, value });
        }
        sum += value;
    }
    if sum <= 0.0 {
        return Err(DistanceError::AllZeroWeights(side));
    }
    if !sum.is_finite() {
        // Finite entries near f64::MAX can still overflow the sum.
        return Err(DistanceError::NonFiniteWeight {
            side,
            row: w.len() - 1,
            value: sum,
        });
    }
    Ok(sum)
}

/// The per-point masses of a set with `n` points, summing to 1.
pub(crate) fn normalised(w: Option<&[f64]>, n: usize, side: Side) -> Result<Vec<f64>, DistanceError> {
    match w {
        None => Ok(vec![1.0 / n as f64; n]),
        Some(w) => {
            if w.len() != n {
                return Err(DistanceError::WeightLength {
                    side,
                    expected: n,
                    got: w.len(),
                });
            }
            let sum = checked_sum(w, side)?;
            Ok(w.iter().map(|&x| x / sum).collect())
        }
    }
}

/// Validates raw weights given to [`crate::emd`] / [`crate::sinkhorn_log`] and returns them with `b` rescaled to
/// the mass of `a`. Like POT, sums that agree to 1e-6 are accepted and the rounding gap is removed, so the
/// solver sees exactly balanced supplies.
pub(crate) fn balanced(a: &[f64], b: &[f64]) -> Result<(Vec<f64>, Vec<f64>), DistanceError> {
    let sa = checked_sum(a, Side::A)?;
    let sb = checked_sum(b, Side::B)?;
    if (sa - sb).abs() > 1e-6 * sa.max(sb) {
        return Err(DistanceError::MassMismatch { a: sa, b: sb });
    }
    let scale = sa / sb;
    Ok((a.to_vec(), b.iter().map(|&x| x * scale).collect()))
}

/// Checks that `cost` is an `n x m` matrix of finite values.
pub(crate) fn check_cost(n: usize, m: usize, cost: &[f64]) -> Result<(), DistanceError> {
    if cost.len() != n * m {
        return Err(DistanceError::CostShape { n, m, got: cost.len() });
    }
    if let Some(k) = cost.iter().position(|c| !c.is_finite()) {
        return Err(DistanceError::NonFiniteCost {
            row: k / m,
            col: k % m,
            value: cost[k],
        });
    }
    Ok(())
}

/// Indices of the strictly positive entries, or `None` when all are positive (the common case, no copy).
pub(crate) fn support(w: &[f64]) -> Option<Vec<usize>> {
    if w.iter().all(|&x| x > 0.0) {
        None
    } else {
        Some((0..w.len()).filter(|&i| w[i] > 0.0).collect())
    }
}
