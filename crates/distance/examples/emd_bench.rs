//! Timing of the exact distance on random Gaussian embeddings (uniform weights, d = 384):
//!
//!     cargo run --release --example emd_bench [-- --sizes 100,300,1000,3000 --dim 384 --reps 3 --dump DIR]
//!
//! `--sinkhorn REG` times the log-domain Sinkhorn solver at that regularisation instead of the exact one
//! (`--max-iter`, default 10000, and `--tol`, default 1e-9 as POT's `stopThr`), the counterpart of
//! `ot.sinkhorn2(a, b, M, REG, method='sinkhorn_log')`.
//!
//! `--dump DIR` also writes each size's points as raw little-endian float32 (`DIR/a_<n>.f32`, `DIR/b_<n>.f32`)
//! so that `fixtures/bench_pot.py DIR` can time POT on exactly the same data and compare the values.

use std::time::Instant;

use inscl_distance::{PointSet, cosine_cost, emd, sinkhorn_log};

/// SplitMix64: a few lines, no dependency, and the same stream on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    fn gaussians(&mut self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| {
                let (u, v) = (self.unit(), self.unit());
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
            })
            .collect()
    }
}

fn arg<T: std::str::FromStr>(args: &[String], flag: &str) -> Option<T> {
    let i = args.iter().position(|a| a == flag)?;
    let v = args.get(i + 1).unwrap_or_else(|| panic!("{flag} needs a value"));
    Some(v.parse().unwrap_or_else(|_| panic!("bad value for {flag}: {v}")))
}

fn dump(dir: &str, name: &str, data: &[f32]) {
    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::create_dir_all(dir).expect("create dump dir");
    std::fs::write(format!("{dir}/{name}"), bytes).expect("write dump");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = arg::<String>(&args, "--sizes")
        .map(|s| s.split(',').map(|x| x.trim().parse().expect("size")).collect())
        .unwrap_or_else(|| vec![100, 300, 1000, 3000]);
    let dim: usize = arg(&args, "--dim").unwrap_or(384);
    let reps: usize = arg(&args, "--reps").unwrap_or(3);
    let dump_dir: Option<String> = arg(&args, "--dump");
    let sinkhorn_reg: Option<f64> = arg(&args, "--sinkhorn");
    let max_iter: usize = arg(&args, "--max-iter").unwrap_or(10_000);
    let tol: f64 = arg(&args, "--tol").unwrap_or(1e-9);

    println!(
        "{:>6} {:>5} {:>12} {:>12} {:>12} {:>20}",
        "n=m",
        "d",
        "cost_s",
        if sinkhorn_reg.is_some() { "sinkhorn_s" } else { "emd_s" },
        "total_s",
        "W"
    );
    for &n in &sizes {
        let mut rng = Rng(0x1d57_a11c_e000 + n as u64);
        let a = rng.gaussians(n * dim);
        let b = rng.gaussians(n * dim);
        if let Some(dir) = &dump_dir {
            dump(dir, &format!("a_{n}.f32"), &a);
            dump(dir, &format!("b_{n}.f32"), &b);
        }
        let (pa, pb) = (PointSet::new(&a, dim), PointSet::new(&b, dim));
        let w = vec![1.0 / n as f64; n];
        // Best of `reps`: the machine is shared, the minimum is the least disturbed run.
        let (mut t_cost, mut t_emd, mut value) = (f64::INFINITY, f64::INFINITY, 0.0);
        for _ in 0..reps.max(1) {
            let t0 = Instant::now();
            let cost = cosine_cost(&pa, &pb).expect("cost");
            let t1 = Instant::now();
            value = match sinkhorn_reg {
                Some(reg) => sinkhorn_log(&w, &w, &cost, reg, max_iter, tol).expect("sinkhorn"),
                None => emd(&w, &w, &cost).expect("emd"),
            };
            let t2 = Instant::now();
            t_cost = t_cost.min((t1 - t0).as_secs_f64());
            t_emd = t_emd.min((t2 - t1).as_secs_f64());
        }
        println!(
            "{n:>6} {dim:>5} {t_cost:>12.4} {t_emd:>12.4} {:>12.4} {value:>20.15}",
            t_cost + t_emd
        );
    }
}
