//! The dynamic replay budget: how many instances each earlier category gets at a stage.

/// Splits `total` over the earlier categories in proportion to their W, as the InsCL code does:
/// `n_j = floor(W_j / ΣW · total)`, then one more for each of the `total − Σn` categories with the
/// **largest shares** `W_j / ΣW` (not the largest fractional parts), ties going to the earlier one in
/// the order. The result always sums to `total` (for non-empty `w`).
///
/// When ΣW is zero (the current category is at distance 0 from every earlier one) or not finite,
/// the split is uniform: the paper's code would divide by zero there. `w` is expected finite and
/// non-negative ([`crate::sample_stage`] checks it).
pub fn dynamic_budget(w: &[f64], total: usize) -> Vec<usize> {
    if w.is_empty() {
        return Vec::new();
    }
    let sum: f64 = w.iter().sum();
    let shares: Vec<f64> = if sum > 0.0 && sum.is_finite() {
        w.iter().map(|x| x / sum).collect()
    } else {
        vec![1.0 / w.len() as f64; w.len()]
    };
    let mut n: Vec<usize> = shares
        .iter()
        .map(|s| (s * total as f64).floor().max(0.0) as usize)
        .collect();
    // Stable sort: equal shares keep their order, so ties favour the earlier category.
    let mut by_share: Vec<usize> = (0..w.len()).collect();
    by_share.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]));

    let mut assigned: usize = n.iter().sum();
    // The remainder is below the number of categories in exact arithmetic; cycling keeps the sum
    // exact whatever floating point rounding did.
    let mut k = 0;
    while assigned < total {
        n[by_share[k % by_share.len()]] += 1;
        assigned += 1;
        k += 1;
    }
    // A share rounded up onto an integer can make the floors overshoot by one: take it back from
    // the smallest shares.
    let mut k = 0;
    while assigned > total {
        let j = by_share[by_share.len() - 1 - k % by_share.len()];
        if n[j] > 0 {
            n[j] -= 1;
            assigned -= 1;
        }
        k += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::dynamic_budget;

    #[test]
    fn floors_when_exact() {
        assert_eq!(dynamic_budget(&[0.2, 0.3, 0.5], 400), vec![80, 120, 200]);
    }

    #[test]
    fn remainder_goes_to_largest_shares_not_largest_fractions() {
        // shares .2 .2 .6 of 7: 1.4 1.4 4.2 → floors 1 1 4, one left over. The largest fractional
        // part is the first category's, but the paper's code gives it to the largest share.
        assert_eq!(dynamic_budget(&[1.0, 1.0, 3.0], 7), vec![1, 1, 5]);
        // 1/7, 2/7, 4/7 of 400: 57.1 114.3 228.6 → 57 114 228 + 1 to the last.
        assert_eq!(dynamic_budget(&[1.0, 2.0, 4.0], 400), vec![57, 114, 229]);
    }

    #[test]
    fn ties_go_to_the_earlier_category() {
        assert_eq!(dynamic_budget(&[1.0, 1.0, 1.0], 400), vec![134, 133, 133]);
        assert_eq!(dynamic_budget(&[0.5, 2.0, 2.0, 0.5], 3), vec![0, 2, 1, 0]);
    }

    #[test]
    fn single_category_gets_everything() {
        assert_eq!(dynamic_budget(&[0.37], 200), vec![200]);
        assert_eq!(dynamic_budget(&[0.0], 200), vec![200]);
    }

    #[test]
    fn zero_total_w_splits_uniformly() {
        assert_eq!(dynamic_budget(&[0.0, 0.0, 0.0], 200), vec![67, 67, 66]);
    }

    #[test]
    fn empty_and_zero_total() {
        assert!(dynamic_budget(&[], 10).is_empty());
        assert_eq!(dynamic_budget(&[0.1, 0.9], 0), vec![0, 0]);
    }
}
