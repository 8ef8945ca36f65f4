use crate::{DistanceError, PointSet, Side};

/// Lanes per accumulator: rows are zero-padded to a multiple of this so the kernel has no scalar tail.
const LANES: usize = 4;
/// Rows of `b` per cache tile: 64 rows of 384 f64 (~200 KB) stay in L2 while every row of `a` passes over them.
const TILE_B: usize = 64;

type Chunk = [f64; LANES];

/// Checks a point set's shape and values; returns its number of rows.
pub(crate) fn check_points(p: &PointSet, side: Side) -> Result<usize, DistanceError> {
    if p.dim == 0 || !p.data.len().is_multiple_of(p.dim) {
        return Err(DistanceError::BadShape {
            side,
            dim: p.dim,
            len: p.data.len(),
        });
    }
    if p.data.is_empty() {
        return Err(DistanceError::Empty(side));
    }
    if let Some(k) = p.data.iter().position(|v| !v.is_finite()) {
        return Err(DistanceError::NonFinite {
            side,
            row: k / p.dim,
            col: k % p.dim,
            value: p.data[k],
        });
    }
    Ok(p.data.len() / p.dim)
}

/// Rows scaled to unit L2 norm in f64, each zero-padded to `chunks` lane groups, and zero rows appended up to
/// a multiple of `group` so the kernel only ever sees full blocks.
fn unit_rows(p: &PointSet, side: Side, chunks: usize, group: usize) -> Result<Vec<Chunk>, DistanceError> {
    let n = p.len();
    let mut out = vec![[0.0; LANES]; n.next_multiple_of(group) * chunks];
    for (row, (x, dst)) in p.data.chunks_exact(p.dim).zip(out.chunks_exact_mut(chunks)).enumerate() {
        let norm = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(DistanceError::ZeroNorm { side, row });
        }
        for (k, &v) in x.iter().enumerate() {
            dst[k / LANES][k % LANES] = f64::from(v) / norm;
        }
    }
    Ok(out)
}

/// The cosine ground cost `M[i, j] = 1 - cos(a_i, b_j)` as an `n x m` row-major matrix, computed in f64 from
/// unit-normalised rows and clipped to `[0, 2]` (SciPy clips the cosine to `[-1, 1]` the same way), i.e.
/// `ot.dist(A, B, metric='cosine')`.
pub fn cosine_cost(a: &PointSet, b: &PointSet) -> Result<Vec<f64>, DistanceError> {
    let n = check_points(a, Side::A)?;
    let m = check_points(b, Side::B)?;
    if a.dim != b.dim {
        return Err(DistanceError::DimMismatch { a: a.dim, b: b.dim });
    }
    let chunks = a.dim.div_ceil(LANES);
    let ua = unit_rows(a, Side::A, chunks, ROWS)?;
    let ub = unit_rows(b, Side::B, chunks, COLS)?;
    let mut cost = vec![0.0; n * m];
    fill_dots(&ua, &ub, chunks, n, m, &mut cost);
    for c in &mut cost {
        *c = (1.0 - *c).clamp(0.0, 2.0);
    }
    Ok(cost)
}

/// Register block: each kernel call computes ROWS x COLS dot products, so every loaded chunk of `a` feeds
/// COLS products and every chunk of `b` feeds ROWS.
const ROWS: usize = 4;
const COLS: usize = 2;

/// Dot products of `ROWS` consecutive rows of `a` with `COLS` consecutive rows of `b`, `chunks` lane groups each.
type Kernel = unsafe fn(&[Chunk], &[Chunk], usize) -> [[f64; COLS]; ROWS];

/// Writes `<a_i, b_j>` into `out[i * m + j]`, with AVX2 + FMA when the CPU has them.
fn fill_dots(a: &[Chunk], b: &[Chunk], chunks: usize, n: usize, m: usize, out: &mut [f64]) {
    let mut kernel: Kernel = kernel_portable;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        kernel = kernel_avx2;
    }
    // Tiled over `b` so a tile stays in cache while all of `a` streams past it. A kernel call does
    // ROWS * COLS * dim multiply-adds, so calling it through a pointer costs nothing measurable.
    fn rows(x: &[Chunk], first: usize, count: usize, chunks: usize) -> &[Chunk] {
        &x[first * chunks..(first + count) * chunks]
    }
    for j0 in (0..m).step_by(TILE_B) {
        let j1 = (j0 + TILE_B).min(m);
        for i in (0..n).step_by(ROWS) {
            for j in (j0..j1).step_by(COLS) {
                // SAFETY: `kernel` is the portable one or one whose CPU features were detected above; the
                // slices hold full blocks because unit_rows padded both matrices.
                let d = unsafe { kernel(rows(a, i, ROWS, chunks), rows(b, j, COLS, chunks), chunks) };
                for (r, dr) in d.iter().enumerate().take(n - i) {
                    for (c, &v) in dr.iter().enumerate().take(m - j) {
                        out[(i + r) * m + j + c] = v;
                    }
                }
            }
        }
    }
}

unsafe fn kernel_portable(a: &[Chunk], b: &[Chunk], chunks: usize) -> [[f64; COLS]; ROWS] {
    let mut acc = [[[0.0; LANES]; COLS]; ROWS];
    for k in 0..chunks {
        let bk: [Chunk; COLS] = std::array::from_fn(|c| b[c * chunks + k]);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let ak = a[r * chunks + k];
            for (acc_rc, bkc) in acc_r.iter_mut().zip(&bk) {
                for l in 0..LANES {
                    acc_rc[l] += ak[l] * bkc[l];
                }
            }
        }
    }
    acc.map(|ar| ar.map(|v| (v[0] + v[1]) + (v[2] + v[3])))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_avx2(a: &[Chunk], b: &[Chunk], chunks: usize) -> [[f64; COLS]; ROWS] {
    use std::arch::x86_64::*;
    assert!(a.len() >= ROWS * chunks && b.len() >= COLS * chunks);
    let (pa, pb) = (a.as_ptr() as *const f64, b.as_ptr() as *const f64);
    let stride = chunks * LANES;
    let mut acc = [[_mm256_setzero_pd(); COLS]; ROWS];
    for k in 0..chunks {
        // SAFETY: k < chunks and the assert above bound every row offset; loadu needs no alignment.
        unsafe {
            let bk: [__m256d; COLS] = std::array::from_fn(|c| _mm256_loadu_pd(pb.add(c * stride + k * LANES)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let ak = _mm256_loadu_pd(pa.add(r * stride + k * LANES));
                for (acc_rc, &bkc) in acc_r.iter_mut().zip(&bk) {
                    *acc_rc = _mm256_fmadd_pd(ak, bkc, *acc_rc);
                }
            }
        }
    }
    acc.map(|ar| {
        ar.map(|v| {
            let mut l = [0.0; LANES];
            // SAFETY: `l` has room for the four lanes.
            unsafe { _mm256_storeu_pd(l.as_mut_ptr(), v) };
            (l[0] + l[1]) + (l[2] + l[3])
        })
    })
}
