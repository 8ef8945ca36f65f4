//! Wasserstein distance between two tasks' instruction sets, as InsCL (NAACL 2024) uses it to decide how
//! much replay a previous task needs: W(i, j) is the optimal-transport cost between the weighted point set of
//! task i's instruction embeddings and that of task j, with ground cost `1 - cos(x, y)` (p = 1).
//!
//! The paper computes it with POT as `ot.emd2(a, b, ot.dist(A, B, metric='cosine'))`; this crate reproduces
//! that value (to ~1e-9 relative, see `tests/parity.rs`) without Python:
//!
//! * [`cosine_cost`] is `ot.dist(A, B, metric='cosine')`: rows are unit-normalised in f64 and the cost
//!   `1 - <x, y>` is clipped to `[0, 2]`, as SciPy clips the cosine.
//! * [`emd`] is `ot.emd2(a, b, M)`: an exact network simplex on the transportation problem (block-search
//!   pivots, strongly feasible spanning trees), no approximation.
//! * [`sinkhorn_log`] is `ot.sinkhorn2(a, b, M, reg, method='sinkhorn_log')`: the transport cost `<P, M>` of
//!   the entropic plan, for when a smoothed distance is wanted.
//! * [`wasserstein`] chains them for two [`PointSet`]s and validates the inputs, naming the offending set
//!   (`a` or `b`) and row in every error.
//!
//! Weights are the per-instruction masses (uniform when absent); they are normalised to sum 1 on each side,
//! so the two sets always carry equal mass.

mod cost;
mod error;
mod simplex;
mod sinkhorn;
mod sum;
mod weights;

pub use cost::cosine_cost;
pub use error::{DistanceError, Side};
pub use simplex::emd;
pub use sinkhorn::sinkhorn_log;

/// How to solve the transport problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Solver {
    /// Exact optimal transport (network simplex), the paper's `ot.emd2`.
    Exact,
    /// Entropic OT in the log domain, POT's `ot.sinkhorn2(..., method='sinkhorn_log')`: stops when the L2
    /// violation of the `b` marginal drops below `tol` (checked every 10 iterations, as POT does).
    Sinkhorn { reg: f64, max_iter: usize, tol: f64 },
}

/// A weighted point set: `n` embeddings of dimension `dim`, stored row-major in `data` (`n * dim` values, the
/// pipeline's `fixed_size_list<float32>` column flattened).
#[derive(Debug, Clone, Copy)]
pub struct PointSet<'a> {
    pub data: &'a [f32],
    pub dim: usize,
    /// One non-negative mass per row, normalised to sum 1 here; `None` means uniform `1 / n`.
    pub weights: Option<&'a [f64]>,
}

impl<'a> PointSet<'a> {
    /// Uniformly weighted points.
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        PointSet {
            data,
            dim,
            weights: None,
        }
    }

    pub fn with_weights(data: &'a [f32], dim: usize, weights: &'a [f64]) -> Self {
        PointSet {
            data,
            dim,
            weights: Some(weights),
        }
    }

    /// Number of points (rows); 0 when `dim` is 0.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// W(a, b): the optimal-transport cost between two weighted embedding sets under the cosine ground cost.
///
/// Both sets are fully validated first (shape, finite values, non-zero norms, weights), so an error always
/// names the set and row at fault, whatever the solver.
pub fn wasserstein(a: &PointSet, b: &PointSet, solver: &Solver) -> Result<f64, DistanceError> {
    let wa = weights::normalised(a.weights, cost::check_points(a, Side::A)?, Side::A)?;
    let wb = weights::normalised(b.weights, cost::check_points(b, Side::B)?, Side::B)?;
    let m = cosine_cost(a, b)?;
    match *solver {
        Solver::Exact => emd(&wa, &wb, &m),
        Solver::Sinkhorn { reg, max_iter, tol } => sinkhorn_log(&wa, &wb, &m, reg, max_iter, tol),
    }
}
