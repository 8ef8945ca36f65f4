//! Times `dbscan_cosine` on tag-like embeddings (n = 5k and 20k, d = 384, eps 0.1, min_samples 5) and,
//! when `SKLEARN_PYTHON` names a Python with scikit-learn, times scikit-learn on the very same float32
//! matrix and compares the labels.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-insinfo SKLEARN_PYTHON=/tmp/skl-venv/bin/python \
//!     cargo run --release --example dbscan_bench [-- 5000 20000]
//! ```

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use inscl_insinfo::{DbscanParams, dbscan_cosine};

const DIM: usize = 384;

/// Loads `<dir>/x_<n>.f32` (n, dim as u64 LE, then float32 LE), times sklearn, writes int64 labels.
const SKLEARN: &str = r#"
import sys, time, numpy as np
from sklearn.cluster import DBSCAN
path, out = sys.argv[1], sys.argv[2]
n, d = np.fromfile(path, dtype="<u8", count=2)
X = np.fromfile(path, dtype="<f4", offset=16).reshape(int(n), int(d))
best = None
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    labels = DBSCAN(eps=0.1, min_samples=5, metric="cosine").fit(X).labels_
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
labels.astype("<i8").tofile(out)
print(best)
"#;

/// SplitMix64 plus Box–Muller: reproducible data without an RNG dependency.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// Half the rows are paraphrase-like variants of n/10 "intentions" (noise sized so that in-cluster
/// cosine distances straddle 0.1), half are unrelated tags.
fn tag_like(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f64>> = (0..n / 10)
        .map(|_| (0..DIM).map(|_| rng.normal()).collect())
        .collect();
    let mut x = Vec::with_capacity(n * DIM);
    for i in 0..n {
        if i % 2 == 0 {
            let c = &centres[rng.next_u64() as usize % centres.len()];
            let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
            let sigma = 0.008 + 0.008 * rng.unit();
            x.extend(c.iter().map(|v| (v / norm + sigma * rng.normal()) as f32));
        } else {
            x.extend((0..DIM).map(|_| rng.normal() as f32));
        }
    }
    x
}

fn write_matrix(path: &Path, x: &[f32]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&((x.len() / DIM) as u64).to_le_bytes())?;
    f.write_all(&(DIM as u64).to_le_bytes())?;
    for v in x {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = match std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<Vec<_>, _>>()?
    {
        s if s.is_empty() => vec![5000, 20000],
        s => s,
    };
    let python = std::env::var("SKLEARN_PYTHON").ok();
    let dir = std::env::temp_dir().join("inscl-dbscan-bench");
    std::fs::create_dir_all(&dir)?;
    let params = DbscanParams {
        eps: 0.1,
        min_samples: 5,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("threads: {threads}");
    for n in sizes {
        let x = tag_like(n, 42 + n as u64);
        let repeats = if n <= 5000 { 5 } else { 3 };
        let mut best = f64::INFINITY;
        let mut labels = Vec::new();
        for _ in 0..repeats {
            let t = Instant::now();
            labels = dbscan_cosine(&x, DIM, &params)?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let clusters = labels.iter().max().map_or(0, |m| m + 1);
        let noise = labels.iter().filter(|&&l| l == -1).count();
        print!(
            "n={n:6} d={DIM}: ours {best:7.3}s (best of {repeats}), {clusters} clusters, {noise} noise"
        );
        let Some(py) = &python else {
            println!("  (set SKLEARN_PYTHON to time scikit-learn)");
            continue;
        };
        let (xpath, lpath) = (
            dir.join(format!("x_{n}.f32")),
            dir.join(format!("labels_{n}.i64")),
        );
        write_matrix(&xpath, &x)?;
        let out = Command::new(py)
            .args(["-c", SKLEARN])
            .arg(&xpath)
            .arg(&lpath)
            .arg(if n <= 5000 { "3" } else { "1" })
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "scikit-learn run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let skl: f64 = String::from_utf8(out.stdout)?.trim().parse()?;
        let theirs: Vec<i64> = std::fs::read(&lpath)?
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        let differ = labels.iter().zip(&theirs).filter(|(a, b)| a != b).count();
        println!(
            "; scikit-learn {skl:7.3}s -> {:.1}x faster; labels {}",
            skl / best,
            if differ == 0 && theirs.len() == labels.len() {
                "identical".to_string()
            } else {
                format!("differ at {differ} rows")
            }
        );
    }
    Ok(())
}
