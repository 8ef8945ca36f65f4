use crate::{DistanceError, sum, weights};

/// Entropic optimal transport in the log domain: the transport cost `<P, M>` of the plan
/// `P = exp(-M / reg + f 1^T + 1 g^T)` whose dual potentials `f`, `g` are found by alternating log-sum-exp
/// updates, i.e. POT's `ot.sinkhorn2(a_w, b_w, cost, reg, method='sinkhorn_log', numItermax=max_iter,
/// stopThr=tol)`.
///
/// The iteration schedule is POT's, so that a run stops at the same point: update `g` then `f`, and on every
/// 10th iteration (0, 10, 20, ...) stop once the L2 violation of the `b` marginal is below `tol`. Where POT
/// would only warn after `max_iter` iterations, this returns [`DistanceError::NotConverged`].
///
/// Weights follow [`crate::emd`]: equal mass to 1e-6 relative, zero-weight points dropped.
pub fn sinkhorn_log(
    a_w: &[f64],
    b_w: &[f64],
    cost: &[f64],
    reg: f64,
    max_iter: usize,
    tol: f64,
) -> Result<f64, DistanceError> {
    if !(reg.is_finite() && reg > 0.0) {
        return Err(DistanceError::BadParameter(format!(
            "Sinkhorn reg must be finite and > 0, got {reg}"
        )));
    }
    if max_iter == 0 {
        return Err(DistanceError::BadParameter("Sinkhorn max_iter must be > 0".into()));
    }
    if tol.is_nan() || tol < 0.0 {
        return Err(DistanceError::BadParameter(format!(
            "Sinkhorn tol must be >= 0, got {tol}"
        )));
    }
    let (a, b) = weights::balanced(a_w, b_w)?;
    weights::check_cost(a.len(), b.len(), cost)?;
    // A zero-mass point has potential -inf and an all-zero row or column in P: dropping it is exact and
    // keeps -inf out of the arithmetic.
    let rows = weights::support(&a).unwrap_or_else(|| (0..a.len()).collect());
    let cols = weights::support(&b).unwrap_or_else(|| (0..b.len()).collect());
    let m_full = b.len();
    let (n, m) = (rows.len(), cols.len());
    let sub: Vec<f64> = rows
        .iter()
        .flat_map(|&i| cols.iter().map(move |&j| cost[i * m_full + j]))
        .collect();
    let log_a: Vec<f64> = rows.iter().map(|&i| a[i].ln()).collect();
    let log_b: Vec<f64> = cols.iter().map(|&j| b[j].ln()).collect();
    let b_sub: Vec<f64> = cols.iter().map(|&j| b[j]).collect();
    let mr: Vec<f64> = sub.iter().map(|&c| -c / reg).collect();

    let mut f = vec![0.0; n];
    let mut g = vec![0.0; m];
    let mut col_max = vec![0.0; m];
    let mut col_sum = vec![0.0; m];
    let mut err = f64::INFINITY;
    let mut converged = false;
    let mut iters = 0;
    for it in 0..max_iter {
        iters = it + 1;
        // g_j = log b_j - LSE_i(Mr_ij + f_i), accumulated row by row to walk the matrix in memory order.
        col_max.fill(f64::NEG_INFINITY);
        for (row, &fi) in mr.chunks_exact(m).zip(&f) {
            for (mx, &x) in col_max.iter_mut().zip(row) {
                *mx = mx.max(x + fi);
            }
        }
        col_sum.fill(0.0);
        for (row, &fi) in mr.chunks_exact(m).zip(&f) {
            for ((s, &mx), &x) in col_sum.iter_mut().zip(&col_max).zip(row) {
                *s += (x + fi - mx).exp();
            }
        }
        for j in 0..m {
            g[j] = log_b[j] - (col_sum[j].ln() + col_max[j]);
        }
        // f_i = log a_i - LSE_j(Mr_ij + g_j).
        for (i, row) in mr.chunks_exact(m).enumerate() {
            let mx = row
                .iter()
                .zip(&g)
                .fold(f64::NEG_INFINITY, |acc, (&x, &gj)| acc.max(x + gj));
            let s: f64 = row.iter().zip(&g).map(|(&x, &gj)| (x + gj - mx).exp()).sum();
            f[i] = log_a[i] - (s.ln() + mx);
        }
        if it % 10 == 0 {
            col_sum.fill(0.0);
            for (row, &fi) in mr.chunks_exact(m).zip(&f) {
                for ((s, &x), &gj) in col_sum.iter_mut().zip(row).zip(&g) {
                    *s += (x + fi + gj).exp();
                }
            }
            err = col_sum
                .iter()
                .zip(&b_sub)
                .map(|(&s, &bj)| (s - bj) * (s - bj))
                .sum::<f64>()
                .sqrt();
            if err < tol {
                converged = true;
                break;
            }
        }
    }
    if !converged {
        return Err(DistanceError::NotConverged { iters, err, tol });
    }
    let terms = mr
        .chunks_exact(m)
        .zip(sub.chunks_exact(m))
        .zip(&f)
        .flat_map(|((row_mr, row_c), &fi)| {
            row_mr
                .iter()
                .zip(row_c)
                .zip(&g)
                .map(move |((&x, &c), &gj)| (x + fi + gj).exp() * c)
        });
    Ok(sum::compensated(terms))
}
