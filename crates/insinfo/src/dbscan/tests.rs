use super::*;

fn params(eps: f64, min_samples: usize) -> DbscanParams {
    DbscanParams { eps, min_samples }
}

/// Unit vector at `deg` degrees in the plane.
fn at(deg: f64) -> [f32; 2] {
    let r = deg.to_radians();
    [r.cos() as f32, r.sin() as f32]
}

fn plane(points: &[[f32; 2]]) -> Vec<f32> {
    points.iter().flatten().copied().collect()
}

/// SplitMix64, so the tests need no RNG crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Tight clusters around random centres plus scattered points, with some pairs near eps.
fn clustered(rng: &mut Rng, n: usize, dim: usize, spread: f64) -> Vec<f32> {
    let centres: Vec<Vec<f64>> = (0..n / 8 + 1)
        .map(|_| (0..dim).map(|_| rng.uniform()).collect())
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = &centres[rng.next() as usize % centres.len()];
        let s = if i % 3 == 0 {
            1.0
        } else {
            spread * (1.0 + rng.uniform())
        };
        out.extend(c.iter().map(|v| (v + s * rng.uniform()) as f32));
    }
    out
}

/// The same semantics without tiles, bands or threads: every pair decided from its exact dot.
fn reference(data: &[f32], dim: usize, p: &DbscanParams) -> Vec<i64> {
    let t32 = validate(data, dim, p).unwrap();
    let rows = normalise(data, dim).unwrap();
    let rule = DotRule::new(t32, rows.stride);
    let n = rows.n;
    let mut offsets = vec![0];
    let mut indices = Vec::new();
    for i in 0..n {
        indices.extend(
            (0..n as u32)
                .filter(|&j| j as usize == i || rule.exact(rows.row(i), rows.row(j as usize))),
        );
        offsets.push(indices.len());
    }
    label(&Neighbourhoods::from_parts(offsets, indices), p.min_samples)
}

#[test]
fn rejects_bad_input() {
    let p = params(0.1, 5);
    assert_eq!(
        dbscan_cosine(&[1.0; 5], 2, &p),
        Err(DbscanError::DimMismatch { len: 5, dim: 2 })
    );
    assert_eq!(
        dbscan_cosine(&[], 0, &p),
        Err(DbscanError::DimMismatch { len: 0, dim: 0 })
    );
    let nan = dbscan_cosine(&[1.0, 0.0, 0.5, f32::NAN], 2, &p);
    assert!(
        matches!(nan, Err(DbscanError::NonFinite { row: 1, col: 1, .. })),
        "{nan:?}"
    );
    let inf = dbscan_cosine(&[f32::INFINITY, 0.0], 2, &p);
    assert!(matches!(
        inf,
        Err(DbscanError::NonFinite { row: 0, col: 0, .. })
    ));
    assert!(matches!(
        dbscan_cosine(&[1.0, 0.0, 0.0, 0.0], 2, &p),
        Err(DbscanError::ZeroNorm { row: 1, .. })
    ));
    assert!(matches!(
        dbscan_cosine(&[1e-7, 1e-7], 2, &p),
        Err(DbscanError::ZeroNorm { row: 0, .. })
    ));
    assert_eq!(
        dbscan_cosine(&[3e38, 3e38], 2, &p),
        Err(DbscanError::NormOverflow { row: 0 })
    );
    for eps in [0.0, -0.1, 2.0001, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            dbscan_cosine(&[1.0, 0.0], 2, &params(eps, 5)),
            Err(DbscanError::EpsOutOfRange(_))
        ));
    }
    assert_eq!(
        dbscan_cosine(&[1.0, 0.0], 2, &params(0.1, 0)),
        Err(DbscanError::ZeroMinSamples)
    );
}

#[test]
fn empty_input_has_no_labels() {
    assert_eq!(
        dbscan_cosine(&[], 384, &params(0.1, 5)).unwrap(),
        Vec::<i64>::new()
    );
}

#[test]
fn cutoff_is_the_first_float32_dot_that_passes() {
    // 1 - eps is not a float32: the cut-off is the float32 just above 0.9, so eps = 0.1 behaves as
    // "dot >= 0.90000004".
    let t = dot_cutoff(0.1);
    assert_eq!(t, 0.900_000_04_f32);
    assert!(is_neighbour_dot(t, 0.1) && !is_neighbour_dot(t.next_down(), 0.1));
    for eps in [1e-9f32, 0.05, 0.3, 1.0, 1.5, 1.999_999] {
        let t = dot_cutoff(eps);
        assert!(
            is_neighbour_dot(t, eps) && !is_neighbour_dot(t.next_down(), eps),
            "eps {eps}"
        );
    }
    assert_eq!(dot_cutoff(2.0), f32::NEG_INFINITY);
}

#[test]
fn two_clusters_and_noise_in_the_plane() {
    let x = plane(&[
        at(0.0),
        at(90.0),
        at(1.0),
        at(45.0),
        at(91.0),
        at(2.0),
        at(92.0),
    ]);
    let labels = dbscan_cosine(&x, 2, &params(0.01, 2)).unwrap();
    assert_eq!(labels, vec![0, 1, 0, -1, 1, 0, 1]);
    // Scale does not matter for a cosine.
    let scaled: Vec<f32> = x.iter().map(|v| v * 1000.0).collect();
    assert_eq!(dbscan_cosine(&scaled, 2, &params(0.01, 2)).unwrap(), labels);
}

#[test]
fn border_point_goes_to_the_cluster_numbered_first() {
    // eps ≈ 20.03°: P (21.5°) reaches the cores 2° and 41° but has only three neighbours itself.
    let a = [at(2.0), at(1.0), at(0.0), at(-1.0)];
    let b = [at(41.0), at(42.0), at(43.0), at(44.0)];
    let p = at(21.5);
    let prm = params(0.0605, 4);
    let ab = plane(&[a[0], a[1], a[2], a[3], p, b[0], b[1], b[2], b[3]]);
    assert_eq!(
        dbscan_cosine(&ab, 2, &prm).unwrap(),
        vec![0, 0, 0, 0, 0, 1, 1, 1, 1]
    );
    // Putting B's rows first makes B cluster 0, and P follows it even though A is listed next.
    let ba = plane(&[b[0], b[1], b[2], b[3], a[0], a[1], a[2], a[3], p]);
    assert_eq!(
        dbscan_cosine(&ba, 2, &prm).unwrap(),
        vec![0, 0, 0, 0, 1, 1, 1, 1, 0]
    );
}

#[test]
fn chains_duplicates_and_min_samples_one() {
    // A chain of 5° steps with eps just over 5°: every point is core, so it is one cluster.
    let chain: Vec<[f32; 2]> = (0..10).map(|k| at(5.0 * k as f64)).collect();
    let eps = 1.0 - 5.2f64.to_radians().cos();
    assert_eq!(
        dbscan_cosine(&plane(&chain), 2, &params(eps, 3)).unwrap(),
        vec![0; 10]
    );
    // With min_samples 4 only... nobody is core (each has 3 neighbours) and all are noise.
    assert_eq!(
        dbscan_cosine(&plane(&chain), 2, &params(eps, 4)).unwrap(),
        vec![-1; 10]
    );
    // min_samples 1: every point is core, isolated points become singleton clusters.
    let x = plane(&[at(0.0), at(100.0), at(0.0), at(200.0)]);
    assert_eq!(
        dbscan_cosine(&x, 2, &params(0.01, 1)).unwrap(),
        vec![0, 1, 0, 2]
    );
    // Exact duplicates reach min_samples on their own.
    let dup = plane(&[at(10.0), at(10.0), at(10.0), at(50.0)]);
    assert_eq!(
        dbscan_cosine(&dup, 2, &params(0.001, 3)).unwrap(),
        vec![0, 0, 0, -1]
    );
}

#[test]
fn eps_two_joins_everything_even_opposite_points() {
    let x = plane(&[at(0.0), at(180.0)]);
    assert_eq!(dbscan_cosine(&x, 2, &params(2.0, 2)).unwrap(), vec![0, 0]);
    assert_eq!(
        dbscan_cosine(&x, 2, &params(1.99, 2)).unwrap(),
        vec![-1, -1]
    );
    // The orthogonal point is the only core at eps 1.5 and carries both ends as border points.
    let x = plane(&[at(0.0), at(180.0), at(90.0)]);
    assert_eq!(
        dbscan_cosine(&x, 2, &params(1.5, 3)).unwrap(),
        vec![0, 0, 0]
    );
}

#[test]
fn blocked_search_matches_the_pairwise_reference() {
    let mut rng = Rng(7);
    for (n, dim, spread, eps, ms) in [
        (300, 384, 0.02, 0.1, 5),
        (250, 33, 0.1, 0.1, 3),
        (199, 7, 0.2, 0.05, 2),
        (150, 3, 0.3, 0.3, 5),
        (97, 16, 0.15, 0.1, 1),
    ] {
        let x = clustered(&mut rng, n, dim, spread);
        let p = params(eps, ms);
        let want = reference(&x, dim, &p);
        assert!(
            want.iter().any(|&l| l >= 0),
            "case n={n} dim={dim} has no cluster"
        );
        for threads in [1, 2, 3] {
            assert_eq!(
                dbscan_cosine_threads(&x, dim, &p, threads).unwrap(),
                want,
                "n={n} dim={dim} t={threads}"
            );
        }
    }
}

#[test]
fn near_boundary_pairs_are_decided_exactly() {
    // Pairs straddling the cut-off by a few float32 steps: the tile dot alone cannot tell them apart,
    // the exact re-check must.
    let t = dot_cutoff(0.1);
    let dim = 14;
    let mut x = Vec::new();
    for (pair, k) in (-3i32..=3).enumerate() {
        let mut dot = t;
        for _ in 0..k.unsigned_abs() {
            dot = if k > 0 {
                dot.next_up()
            } else {
                dot.next_down()
            };
        }
        // Each pair lives in its own coordinate plane, so pairs never reach each other; inside it,
        // e_a and (dot, sqrt(1 - dot²)) have a normalised dot within an ulp or so of `dot`.
        let y = (1.0 - f64::from(dot).powi(2)).sqrt() as f32;
        let (mut a, mut b) = (vec![0f32; dim], vec![0f32; dim]);
        a[2 * pair] = 1.0;
        b[2 * pair] = dot;
        b[2 * pair + 1] = y;
        x.extend(a.into_iter().chain(b));
    }
    let p = params(0.1, 2);
    let got = dbscan_cosine(&x, dim, &p).unwrap();
    assert_eq!(got, reference(&x, dim, &p));
    assert!(got.contains(&-1) && got.contains(&0), "{got:?}");
}
