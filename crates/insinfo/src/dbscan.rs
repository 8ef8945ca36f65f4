//! DBSCAN with cosine distance, label-for-label equal to scikit-learn's
//! `DBSCAN(eps, min_samples, metric="cosine").fit(X).labels_` for a float32 `X` (checked against
//! scikit-learn 1.9.1 / NumPy 2.4.6 by `tests/dbscan_parity.rs`; `fixtures/make_dbscan_fixtures.py`
//! regenerates the fixtures).
//!
//! # What scikit-learn computes (read from its source)
//!
//! * **Neighbourhoods.** `DBSCAN.fit` calls `NearestNeighbors(radius=eps, metric="cosine")
//!   .radius_neighbors(X)`. Cosine has no tree and is not one of the Cython pairwise-reduction metrics,
//!   so this is the brute path: `pairwise_distances_chunked` → `cosine_distances`, in **float32** when
//!   `X` is float32: rows are scaled by `normalize` (`x / sqrt(Σx²)`, all float32), the dots come from
//!   one float32 GEMM, `d = clip(1 - dot, 0, 2)` in float32, and `j` is a neighbour of `i` iff
//!   `d <= eps` where NumPy casts the Python float `eps` to **float32** before comparing (NEP 50).
//!   The point itself is always in its own neighbourhood, and the lists are sorted by index.
//! * **Core points.** `|N(p)| >= min_samples`, counting `p` itself.
//! * **Labels** (`_dbscan_inner.pyx`). Scan `i = 0..n`; an unlabelled core point starts cluster
//!   `label_num` (numbered 0, 1, … in that order) and a depth-first search from it labels every point it
//!   pops, pushing the unlabelled neighbours of *core* points only. Each cluster is finished before the
//!   scan moves on, so the result does not depend on neighbour order: a cluster is a connected
//!   component of core points (numbered by its lowest core index), and a **border point reachable from
//!   several clusters takes the lowest-numbered one**, i.e. the cluster whose lowest core index is
//!   smallest. Points no core point reaches stay `-1`.
//!
//! # How this implementation reproduces it
//!
//! Rows are normalised as `normalize` does (float32 norm from the float32-rounded sum of squares,
//! float32 division), and a pair is a neighbour iff the float32 rounding of its exact dot `e` satisfies
//! `clip(1 - fl32(e), 0, 2) <= fl32(eps)` in float32 arithmetic. That test is monotone in the dot, so
//! it is precomputed as one float32 cut-off `t32` on the dot. Fast float32 tiles filter the pairs and
//! only those within a proven error band of `t32` are re-decided with the exact dot (see
//! `neighbours.rs`), so the answer is the one a correctly rounded float32 GEMM would give.
//!
//! **Residual difference.** BLAS does not round correctly: its float32 dot can sit a few ulps (around
//! 1e-7 in distance) from `fl32(e)`, and NumPy's float32 row norm can differ by an ulp from the
//! correctly rounded one. A pair whose distance lies within ~1e-7 of `eps` can therefore be a neighbour
//! in one implementation and not in the other; nothing short of replaying OpenBLAS's kernel for the
//! running CPU could remove that. (The fixtures hold such pairs down to 2e-6 from `eps` in d = 384
//! and exactly-computable pairs at 0, ±1, ±2 float32 steps from the cut-off; all agree.) scikit-learn
//! zeroes the self-distance only when `X` fits one chunk (n below ~11.5k); beyond that a point's own
//! distance is a float32 rounding residue, which only an `eps` under ~1e-6 could exclude, while here a
//! point always counts itself. Rows whose float32 norm scikit-learn would refuse to divide by
//! (below `10·f32::EPSILON`, which it leaves unnormalised) are rejected instead of imitated.

mod kernel;
mod neighbours;

use neighbours::{DotRule, Neighbourhoods, UnitRows};

/// The two DBSCAN knobs; InsInfo uses `eps = 0.1`, `min_samples = 5`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DbscanParams {
    /// Largest cosine distance (`1 - cos`) at which two points are neighbours, inclusive.
    pub eps: f64,
    /// Neighbourhood size (the point included) from which a point is a core point.
    pub min_samples: usize,
}

#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum DbscanError {
    #[error("row {row}, column {col} is not finite ({value})")]
    NonFinite { row: usize, col: usize, value: f32 },
    #[error("row {row} has norm {norm}, too close to zero for a cosine distance")]
    ZeroNorm { row: usize, norm: f32 },
    #[error("row {row} has a norm that overflows float32")]
    NormOverflow { row: usize },
    #[error("data of {len} floats cannot be split into rows of dimension {dim}")]
    DimMismatch { len: usize, dim: usize },
    #[error("eps must lie in (0, 2] for cosine distance, got {0}")]
    EpsOutOfRange(f64),
    #[error("min_samples must be at least 1")]
    ZeroMinSamples,
    #[error("{0} rows exceed the supported 2^32 - 1")]
    TooManyRows(usize),
}

/// Labels 0.. for clusters, -1 for noise, numbered like scikit-learn (clusters numbered in order of
/// the first core point found scanning rows 0..n).
///
/// `data` holds `n` rows of `dim` floats, row-major. Border points reachable from several clusters go
/// to the lowest-numbered of them (the module docs explain why that is scikit-learn's rule).
pub fn dbscan_cosine(
    data: &[f32],
    dim: usize,
    params: &DbscanParams,
) -> Result<Vec<i64>, DbscanError> {
    dbscan_cosine_threads(data, dim, params, default_threads())
}

/// [`dbscan_cosine`] with an explicit worker count; the labels never depend on it.
pub fn dbscan_cosine_threads(
    data: &[f32],
    dim: usize,
    params: &DbscanParams,
    threads: usize,
) -> Result<Vec<i64>, DbscanError> {
    let t32 = validate(data, dim, params)?;
    let rows = normalise(data, dim)?;
    if rows.n == 0 {
        return Ok(Vec::new());
    }
    let hoods = neighbours::neighbourhoods(&rows, DotRule::new(t32, rows.stride), threads);
    Ok(label(&hoods, params.min_samples))
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks everything but the rows and returns the float32 dot cut-off `t32`.
fn validate(data: &[f32], dim: usize, params: &DbscanParams) -> Result<f32, DbscanError> {
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(DbscanError::DimMismatch {
            len: data.len(),
            dim,
        });
    }
    if data.len() / dim > u32::MAX as usize {
        return Err(DbscanError::TooManyRows(data.len() / dim));
    }
    if !(params.eps > 0.0 && params.eps <= 2.0) {
        return Err(DbscanError::EpsOutOfRange(params.eps));
    }
    if params.min_samples == 0 {
        return Err(DbscanError::ZeroMinSamples);
    }
    Ok(dot_cutoff(params.eps as f32))
}

/// scikit-learn's neighbour test as a function of the float32 dot.
fn is_neighbour_dot(dot: f32, eps32: f32) -> bool {
    (1.0f32 - dot).clamp(0.0, 2.0) <= eps32
}

/// The smallest float32 dot that passes [`is_neighbour_dot`], found by bisection over the float32
/// values in order (the test is monotone in the dot); `-inf` when every dot passes.
fn dot_cutoff(eps32: f32) -> f32 {
    // Total order on finite floats: flip negatives so the integer order is the numeric order.
    let key = |f: f32| {
        let b = f.to_bits();
        if b >> 31 == 1 { !b } else { b | 1 << 31 }
    };
    let unkey = |k: u32| f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k });
    let (mut lo, mut hi) = (key(f32::MIN), key(f32::MAX));
    if is_neighbour_dot(f32::MIN, eps32) {
        return f32::NEG_INFINITY;
    }
    // Invariant: unkey(lo) fails, unkey(hi) passes.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if is_neighbour_dot(unkey(mid), eps32) {
            hi = mid
        } else {
            lo = mid
        }
    }
    unkey(hi)
}

/// Mirrors `sklearn.preprocessing.normalize` on float32 rows: the squared norm rounded once to float32
/// (NumPy's float32 `einsum` is within an ulp of that), a float32 square root, a float32 division.
fn normalise(data: &[f32], dim: usize) -> Result<UnitRows, DbscanError> {
    let n = data.len() / dim;
    let stride = dim;
    let mut out = vec![0f32; neighbours::padded_rows(n) * stride];
    for (row, (x, dst)) in data
        .chunks_exact(dim)
        .zip(out.chunks_exact_mut(stride))
        .enumerate()
    {
        if let Some(col) = x.iter().position(|v| !v.is_finite()) {
            return Err(DbscanError::NonFinite {
                row,
                col,
                value: x[col],
            });
        }
        let sq: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let norm = (sq as f32).sqrt();
        if norm.is_infinite() {
            return Err(DbscanError::NormOverflow { row });
        }
        // scikit-learn's `_handle_zeros_in_scale` divides such rows by 1 instead, which makes them
        // distance ~1 from everything: not a cosine any more, so refuse rather than imitate.
        if norm < 10.0 * f32::EPSILON {
            return Err(DbscanError::ZeroNorm { row, norm });
        }
        for (d, &v) in dst.iter_mut().zip(x) {
            *d = v / norm;
        }
    }
    Ok(UnitRows::new(out, stride, n))
}

/// `sklearn.cluster._dbscan_inner.dbscan_inner`, step for step.
fn label(hoods: &Neighbourhoods, min_samples: usize) -> Vec<i64> {
    let n = hoods.len();
    let is_core: Vec<bool> = (0..n).map(|i| hoods.row(i).len() >= min_samples).collect();
    let mut labels = vec![-1i64; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut label_num = 0i64;
    for seed in 0..n {
        if labels[seed] != -1 || !is_core[seed] {
            continue;
        }
        let mut i = seed;
        loop {
            if labels[i] == -1 {
                labels[i] = label_num;
                if is_core[i] {
                    stack.extend(hoods.row(i).iter().filter(|&&v| labels[v as usize] == -1));
                }
            }
            match stack.pop() {
                Some(v) => i = v as usize,
                None => break,
            }
        }
        label_num += 1;
    }
    labels
}

#[cfg(test)]
mod tests;
