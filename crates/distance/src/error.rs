use std::fmt;

/// Which of the two point sets (or weight vectors) an error refers to: `a` is the first argument, `b` the second,
/// matching POT's `ot.emd2(a, b, M)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "a",
            Side::B => "b",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DistanceError {
    #[error("set '{0}' is empty")]
    Empty(Side),
    #[error("set '{side}': dim must be > 0 and divide the data length, got dim {dim} for {len} values")]
    BadShape { side: Side, dim: usize, len: usize },
    #[error("dimension mismatch: set 'a' has dim {a}, set 'b' has dim {b}")]
    DimMismatch { a: usize, b: usize },
    #[error("set '{side}' row {row}: value at column {col} is {value} (NaN/inf not allowed)")]
    NonFinite {
        side: Side,
        row: usize,
        col: usize,
        value: f32,
    },
    #[error("set '{side}' row {row}: zero-norm vector has no cosine distance")]
    ZeroNorm { side: Side, row: usize },
    #[error("set '{side}': {got} weights for {expected} points")]
    WeightLength { side: Side, expected: usize, got: usize },
    #[error("set '{side}' row {row}: weight {value} is negative")]
    NegativeWeight { side: Side, row: usize, value: f64 },
    #[error("set '{side}' row {row}: weight is {value} (NaN/inf not allowed)")]
    NonFiniteWeight { side: Side, row: usize, value: f64 },
    #[error("set '{0}': all weights are zero")]
    AllZeroWeights(Side),
    #[error("weights carry different mass: sum(a) = {a}, sum(b) = {b} (normalise them, or use wasserstein())")]
    MassMismatch { a: f64, b: f64 },
    #[error("cost matrix has {got} entries, expected {n} x {m} = {}", n * m)]
    CostShape { n: usize, m: usize, got: usize },
    #[error("cost matrix entry ({row}, {col}) is {value} (NaN/inf not allowed)")]
    NonFiniteCost { row: usize, col: usize, value: f64 },
    #[error("invalid solver parameter: {0}")]
    BadParameter(String),
    #[error("Sinkhorn did not converge: marginal error {err:e} > tol {tol:e} after {iters} iterations")]
    NotConverged { iters: usize, err: f64, tol: f64 },
    #[error("network simplex failed: {0}")]
    Simplex(String),
}
