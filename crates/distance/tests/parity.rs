//! Parity with POT on fixtures/emd_cases.json (written by fixtures/make_fixtures.py): the exact distance must
//! match `ot.emd2(a, b, ot.dist(A, B, metric='cosine'))` to 1e-9 relative, the entropic one
//! `ot.sinkhorn2(..., method='sinkhorn_log')` to 1e-6 relative.

use inscl_distance::{PointSet, Solver, cosine_cost, emd, wasserstein};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    exact: Vec<Case>,
    sinkhorn: Vec<Case>,
}

/// Numbers are stored as decimal strings and parsed with Rust's correctly rounded parsers, so the points are
/// bit-for-bit the float32 values POT was given.
#[derive(Deserialize)]
struct Case {
    name: String,
    dim: usize,
    n: usize,
    m: usize,
    a: String,
    b: String,
    wa: Option<String>,
    wb: Option<String>,
    emd2: String,
    sinkhorn2: Option<String>,
    reg: Option<f64>,
    max_iter: Option<usize>,
    stop_thr: Option<f64>,
}

struct Parsed {
    a: Vec<f32>,
    b: Vec<f32>,
    wa: Option<Vec<f64>>,
    wb: Option<Vec<f64>>,
}

impl Case {
    fn parse(&self) -> Parsed {
        let f32s = |s: &str| s.split(' ').map(|t| t.parse::<f32>().unwrap()).collect::<Vec<_>>();
        let f64s = |s: &Option<String>| {
            s.as_ref()
                .map(|s| s.split(' ').map(|t| t.parse::<f64>().unwrap()).collect())
        };
        let p = Parsed {
            a: f32s(&self.a),
            b: f32s(&self.b),
            wa: f64s(&self.wa),
            wb: f64s(&self.wb),
        };
        assert_eq!(p.a.len(), self.n * self.dim, "{}", self.name);
        assert_eq!(p.b.len(), self.m * self.dim, "{}", self.name);
        p
    }

    fn sets<'a>(&self, p: &'a Parsed) -> (PointSet<'a>, PointSet<'a>) {
        (
            PointSet {
                data: &p.a,
                dim: self.dim,
                weights: p.wa.as_deref(),
            },
            PointSet {
                data: &p.b,
                dim: self.dim,
                weights: p.wb.as_deref(),
            },
        )
    }
}

/// `INSCL_DISTANCE_FIXTURES=path.json` points the tests at another file of the same format (e.g. a larger
/// randomised set); the committed fixtures are the default.
fn fixtures() -> Fixtures {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/emd_cases.json");
    let path = std::env::var("INSCL_DISTANCE_FIXTURES").unwrap_or_else(|_| default.to_string());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn custom_fixtures() -> bool {
    std::env::var_os("INSCL_DISTANCE_FIXTURES").is_some()
}

fn rel_err(ours: f64, pot: f64) -> f64 {
    (ours - pot).abs() / pot.abs().max(1.0)
}

#[test]
fn exact_matches_pot_emd2() {
    let fx = fixtures();
    assert!(
        custom_fixtures() || fx.exact.len() >= 30,
        "expected the full fixture set, got {}",
        fx.exact.len()
    );
    let mut worst = (0.0, String::new());
    let mut failures = Vec::new();
    for case in &fx.exact {
        let p = case.parse();
        let (a, b) = case.sets(&p);
        let pot: f64 = case.emd2.parse().unwrap();
        let ours = wasserstein(&a, &b, &Solver::Exact).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let err = rel_err(ours, pot);
        println!(
            "{:<40} {:>4}x{:<4} d={:<4} pot={pot:.15e} ours={ours:.15e} rel={err:.1e}",
            case.name, case.n, case.m, case.dim
        );
        if err > worst.0 {
            worst = (err, case.name.clone());
        }
        if err > 1e-9 {
            failures.push(format!("{}: ours {ours:e} vs POT {pot:e} (rel {err:e})", case.name));
        }
    }
    println!(
        "max relative error over {} exact cases: {:.2e} ({})",
        fx.exact.len(),
        worst.0,
        worst.1
    );
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn emd_on_cost_matrix_matches_pot_with_raw_weights() {
    // Raw (unnormalised) weights straight into emd(): ot.emd2 on normalised weights times the common mass.
    for case in fixtures()
        .exact
        .iter()
        .filter(|c| c.wa.is_some() && c.wb.is_some() && c.n * c.m <= 10_000)
    {
        let p = case.parse();
        let (a, b) = case.sets(&p);
        let (wa, wb) = (p.wa.clone().unwrap(), p.wb.clone().unwrap());
        let (sa, sb): (f64, f64) = (wa.iter().sum(), wb.iter().sum());
        let wb_scaled: Vec<f64> = wb.iter().map(|x| x * sa / sb).collect();
        let cost = cosine_cost(&a, &b).unwrap();
        let pot: f64 = case.emd2.parse().unwrap();
        let ours = emd(&wa, &wb_scaled, &cost).unwrap() / sa;
        assert!(rel_err(ours, pot) <= 1e-9, "{}: {ours:e} vs {pot:e}", case.name);
    }
}

#[test]
fn sinkhorn_matches_pot_sinkhorn_log() {
    let fx = fixtures();
    assert!(custom_fixtures() || fx.sinkhorn.len() >= 4);
    let mut worst: f64 = 0.0;
    for case in &fx.sinkhorn {
        let p = case.parse();
        let (a, b) = case.sets(&p);
        let solver = Solver::Sinkhorn {
            reg: case.reg.unwrap(),
            max_iter: case.max_iter.unwrap(),
            tol: case.stop_thr.unwrap(),
        };
        let pot: f64 = case.sinkhorn2.as_ref().unwrap().parse().unwrap();
        let ours = wasserstein(&a, &b, &solver).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let err = (ours - pot).abs() / pot.abs();
        println!(
            "{:<40} reg={} pot={pot:.15e} ours={ours:.15e} rel={err:.1e}",
            case.name,
            case.reg.unwrap()
        );
        worst = worst.max(err);
        assert!(err <= 1e-6, "{}: ours {ours:e} vs POT {pot:e} (rel {err:e})", case.name);
        // The entropic cost is an upper bound of the exact one on the same cost matrix.
        let exact_pot: f64 = case.emd2.parse().unwrap();
        let exact = wasserstein(&a, &b, &Solver::Exact).unwrap();
        assert!(
            rel_err(exact, exact_pot) <= 1e-9,
            "{}: exact {exact:e} vs {exact_pot:e}",
            case.name
        );
        assert!(ours >= exact - 1e-12, "{}", case.name);
    }
    println!(
        "max relative error over {} Sinkhorn cases: {worst:.2e}",
        fx.sinkhorn.len()
    );
}
