use inscl_distance::{DistanceError, PointSet, Side, Solver, cosine_cost, emd, sinkhorn_log, wasserstein};

/// Small deterministic generator so the tests need no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn f32(&mut self) -> f32 {
        (self.next() % 20_001) as f32 / 10_000.0 - 1.0
    }
    fn points(&mut self, n: usize, d: usize) -> Vec<f32> {
        (0..n * d).map(|_| self.f32()).collect()
    }
    fn weights(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| 0.1 + (self.next() % 1000) as f64 / 1000.0).collect()
    }
}

const SINKHORN: Solver = Solver::Sinkhorn {
    reg: 0.1,
    max_iter: 10_000,
    tol: 1e-9,
};

#[test]
fn distance_of_a_set_to_itself_is_zero() {
    let mut rng = Lcg(1);
    for &(n, d) in &[(1, 2), (7, 3), (50, 16), (200, 384)] {
        let x = rng.points(n, d);
        let w = rng.weights(n);
        for set in [PointSet::new(&x, d), PointSet::with_weights(&x, d, &w)] {
            let v = wasserstein(&set, &set, &Solver::Exact).unwrap();
            assert!(v.abs() <= 1e-12, "n={n} d={d}: W(A, A) = {v:e}");
        }
    }
}

#[test]
fn distance_is_symmetric() {
    let mut rng = Lcg(2);
    for &(n, m, d) in &[(1, 9, 4), (12, 5, 8), (40, 60, 32), (150, 120, 8)] {
        let (x, y) = (rng.points(n, d), rng.points(m, d));
        let (wx, wy) = (rng.weights(n), rng.weights(m));
        let (a, b) = (PointSet::with_weights(&x, d, &wx), PointSet::with_weights(&y, d, &wy));
        for solver in [Solver::Exact, SINKHORN] {
            let (ab, ba) = (
                wasserstein(&a, &b, &solver).unwrap(),
                wasserstein(&b, &a, &solver).unwrap(),
            );
            assert!(
                (ab - ba).abs() <= 1e-9 * ab.max(1.0),
                "{n}x{m} {solver:?}: {ab} vs {ba}"
            );
        }
    }
}

#[test]
fn cosine_cost_values() {
    let a = [1.0f32, 0.0, 3.0, 4.0];
    let b = [0.0f32, 2.0, -1.0, 0.0, 6.0, 8.0];
    let c = cosine_cost(&PointSet::new(&a, 2), &PointSet::new(&b, 2)).unwrap();
    let want = [1.0, 2.0, 0.4, 0.2, 1.6, 0.0];
    for (got, want) in c.iter().zip(want) {
        assert!((got - want).abs() < 1e-15, "{c:?}");
    }
}

/// With equal uniform weights on k points each, some permutation is optimal (Birkhoff), so the exact value is
/// the cheapest assignment; small integer costs make many of them tie.
#[test]
fn emd_equals_best_assignment_on_tied_integer_costs() {
    fn best(cost: &[f64], k: usize, row: usize, used: &mut [bool]) -> f64 {
        if row == k {
            return 0.0;
        }
        let mut b = f64::INFINITY;
        for j in 0..k {
            if !used[j] {
                used[j] = true;
                b = b.min(cost[row * k + j] + best(cost, k, row + 1, used));
                used[j] = false;
            }
        }
        b
    }
    let mut rng = Lcg(3);
    for trial in 0..300 {
        let k = 1 + trial % 7;
        let cost: Vec<f64> = (0..k * k).map(|_| (rng.next() % 4) as f64).collect();
        let w = vec![1.0 / k as f64; k];
        let want = best(&cost, k, 0, &mut vec![false; k]) / k as f64;
        let got = emd(&w, &w, &cost).unwrap();
        assert!((got - want).abs() <= 1e-12, "k={k} cost={cost:?}: {got} vs {want}");
    }
}

#[test]
fn single_point_side_has_closed_form() {
    let cost = [0.5, 1.0, 2.0, 0.0];
    let b = [0.1, 0.2, 0.3, 0.4];
    let want: f64 = cost.iter().zip(&b).map(|(c, w)| c * w).sum();
    assert!((emd(&[1.0], &b, &cost).unwrap() - want).abs() < 1e-15);
    assert!((emd(&b, &[1.0], &cost).unwrap() - want).abs() < 1e-15);
}

#[test]
fn emd_scales_with_mass_and_drops_zero_weights() {
    let mut rng = Lcg(4);
    let (x, y) = (rng.points(20, 6), rng.points(15, 6));
    let cost = cosine_cost(&PointSet::new(&x, 6), &PointSet::new(&y, 6)).unwrap();
    let (a, b) = (vec![1.0 / 20.0; 20], vec![1.0 / 15.0; 15]);
    let base = emd(&a, &b, &cost).unwrap();
    let (a3, b3): (Vec<f64>, Vec<f64>) = (a.iter().map(|v| 3.0 * v).collect(), b.iter().map(|v| 3.0 * v).collect());
    assert!((emd(&a3, &b3, &cost).unwrap() - 3.0 * base).abs() < 1e-12);

    // A zero-weight point, however far, changes nothing: same as removing its row.
    let mut wa = vec![1.0; 20];
    wa[7] = 0.0;
    let with_zero = wasserstein(
        &PointSet::with_weights(&x, 6, &wa),
        &PointSet::new(&y, 6),
        &Solver::Exact,
    )
    .unwrap();
    let mut x_wo = x.clone();
    x_wo.drain(7 * 6..8 * 6);
    let without = wasserstein(&PointSet::new(&x_wo, 6), &PointSet::new(&y, 6), &Solver::Exact).unwrap();
    assert!((with_zero - without).abs() < 1e-12, "{with_zero} vs {without}");
}

#[test]
fn extreme_weight_ratios() {
    let mut rng = Lcg(5);
    let (x, y) = (rng.points(30, 5), rng.points(25, 5));
    let wa: Vec<f64> = (0..30).map(|i| if i % 3 == 0 { 1.0 } else { 1e-9 }).collect();
    let wb: Vec<f64> = (0..25).map(|j| if j % 4 == 0 { 1e-9 } else { 1.0 }).collect();
    let v = wasserstein(
        &PointSet::with_weights(&x, 5, &wa),
        &PointSet::with_weights(&y, 5, &wb),
        &Solver::Exact,
    )
    .unwrap();
    assert!(v.is_finite() && (0.0..=2.0).contains(&v));
}

#[test]
fn sinkhorn_is_an_upper_bound_that_tightens_as_reg_shrinks() {
    let mut rng = Lcg(6);
    let (x, y) = (rng.points(30, 8), rng.points(40, 8));
    let (a, b) = (PointSet::new(&x, 8), PointSet::new(&y, 8));
    let exact = wasserstein(&a, &b, &Solver::Exact).unwrap();
    let mut prev = f64::INFINITY;
    for reg in [0.5, 0.1, 0.02] {
        let s = wasserstein(
            &a,
            &b,
            &Solver::Sinkhorn {
                reg,
                max_iter: 100_000,
                tol: 1e-9,
            },
        )
        .unwrap();
        assert!(
            s >= exact - 1e-12 && s <= prev + 1e-12,
            "reg={reg}: {s} (exact {exact}, previous {prev})"
        );
        prev = s;
    }
    assert!(prev - exact < 0.02 * exact, "{prev} vs {exact}");
}

fn err_of(a: &PointSet, b: &PointSet) -> DistanceError {
    wasserstein(a, b, &Solver::Exact).expect_err("invalid input must be rejected")
}

#[test]
fn input_errors_name_the_set_and_row() {
    let good = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
    let g = PointSet::new(&good, 2);

    let e = err_of(&PointSet::new(&[], 2), &g);
    assert!(matches!(e, DistanceError::Empty(Side::A)), "{e:?}");
    assert_eq!(e.to_string(), "set 'a' is empty");

    let e = err_of(&g, &PointSet::new(&[1.0, 2.0, 3.0], 2));
    assert!(matches!(e, DistanceError::BadShape { side: Side::B, .. }), "{e:?}");
    let e = err_of(&g, &PointSet::new(&good, 0));
    assert!(
        matches!(
            e,
            DistanceError::BadShape {
                side: Side::B,
                dim: 0,
                ..
            }
        ),
        "{e:?}"
    );

    let e = err_of(&g, &PointSet::new(&good, 3));
    assert!(matches!(e, DistanceError::DimMismatch { a: 2, b: 3 }), "{e:?}");

    let nan = [1.0f32, 0.0, 0.5, f32::NAN];
    let e = err_of(&g, &PointSet::new(&nan, 2));
    assert!(
        matches!(
            e,
            DistanceError::NonFinite {
                side: Side::B,
                row: 1,
                col: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("set 'b' row 1: value at column 1 is NaN"),
        "{e}"
    );
    let inf = [f32::INFINITY, 0.0];
    let e = err_of(&PointSet::new(&inf, 2), &g);
    assert!(
        e.to_string().contains("set 'a' row 0") && e.to_string().contains("inf"),
        "{e}"
    );

    let zero = [1.0f32, 1.0, 2.0, 0.0, 0.0, 0.0];
    let e = err_of(&g, &PointSet::new(&zero, 2));
    assert!(matches!(e, DistanceError::ZeroNorm { side: Side::B, row: 2 }), "{e:?}");
    assert_eq!(e.to_string(), "set 'b' row 2: zero-norm vector has no cosine distance");

    let e = err_of(&PointSet::with_weights(&good, 2, &[1.0, -0.5, 1.0]), &g);
    assert!(
        matches!(
            e,
            DistanceError::NegativeWeight {
                side: Side::A,
                row: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "set 'a' row 1: weight -0.5 is negative");

    let e = err_of(&g, &PointSet::with_weights(&good, 2, &[0.0, 0.0, 0.0]));
    assert!(matches!(e, DistanceError::AllZeroWeights(Side::B)), "{e:?}");
    assert_eq!(e.to_string(), "set 'b': all weights are zero");

    let e = err_of(&g, &PointSet::with_weights(&good, 2, &[1.0, f64::NAN, 1.0]));
    assert!(
        matches!(
            e,
            DistanceError::NonFiniteWeight {
                side: Side::B,
                row: 1,
                ..
            }
        ),
        "{e:?}"
    );

    let e = err_of(&PointSet::with_weights(&good, 2, &[1.0, 1.0]), &g);
    assert!(
        matches!(
            e,
            DistanceError::WeightLength {
                side: Side::A,
                expected: 3,
                got: 2
            }
        ),
        "{e:?}"
    );
}

#[test]
fn solver_errors() {
    let cost = [0.0, 1.0, 1.0, 0.0];
    let w = [0.5, 0.5];
    assert!(matches!(
        emd(&w, &[0.5, 0.6], &cost),
        Err(DistanceError::MassMismatch { .. })
    ));
    assert!(matches!(
        emd(&w, &w, &cost[..3]),
        Err(DistanceError::CostShape { n: 2, m: 2, got: 3 })
    ));
    let bad = [0.0, f64::NAN, 1.0, 0.0];
    assert!(matches!(
        emd(&w, &w, &bad),
        Err(DistanceError::NonFiniteCost { row: 0, col: 1, .. })
    ));
    assert!(matches!(emd(&[], &w, &[]), Err(DistanceError::Empty(Side::A))));
    assert!(matches!(
        sinkhorn_log(&w, &w, &cost, 0.0, 100, 1e-9),
        Err(DistanceError::BadParameter(_))
    ));
    assert!(matches!(
        sinkhorn_log(&w, &w, &cost, f64::NAN, 100, 1e-9),
        Err(DistanceError::BadParameter(_))
    ));

    let mut rng = Lcg(7);
    let (x, y) = (rng.points(20, 4), rng.points(20, 4));
    let c = cosine_cost(&PointSet::new(&x, 4), &PointSet::new(&y, 4)).unwrap();
    let u = vec![0.05; 20];
    let e = sinkhorn_log(&u, &u, &c, 0.01, 3, 1e-12).unwrap_err();
    assert!(matches!(e, DistanceError::NotConverged { iters: 3, .. }), "{e:?}");
    assert!(e.to_string().starts_with("Sinkhorn did not converge"), "{e}");
}
