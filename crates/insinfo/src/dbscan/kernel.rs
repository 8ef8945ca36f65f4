//! The 6×32 dot-product tile: the only hot loop of the neighbourhood search.
//!
//! Tiles compute float32 dots whose only job is to *filter* pairs (see `neighbours.rs`): every pair
//! whose approximate dot lands near the threshold is re-decided from an exact float64 dot, so which
//! kernel runs (and its summation order) never changes a label, only the speed.
//!
//! The tile is a GEMM-style outer product: 6 rows of A, read one float at a time and broadcast, times a
//! *panel* of 32 columns stored k-major, so the accumulators hold finished dots and no horizontal sums
//! are needed. On the 2-core AVX-512 Xeon this was tuned on, a dot-per-register 3×4 tile (12 horizontal
//! sums per tile) reached ~60% of the AVX2 outer product, and the AVX-512 outer product is ~1.35×
//! faster again at n = 20k.

/// Rows of A per tile.
pub(crate) const TILE_ROWS: usize = 6;
/// Columns per panel: two 16-float AVX-512 registers per row (AVX2 takes the panel in two halves).
pub(crate) const PANEL: usize = 32;

pub(crate) type Tile = [[f32; PANEL]; TILE_ROWS];

/// Signature shared by the kernels: `a` rows have at least `len` floats, `panel` holds `len × PANEL`
/// floats with column `c` of step `k` at `k * PANEL + c`.
pub(crate) type TileFn = fn(&[&[f32]; TILE_ROWS], &[f32], usize) -> Tile;

/// Picks the fastest kernel this CPU supports, once per call of the clustering.
pub(crate) fn select() -> TileFn {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return tile_avx512_entry;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return tile_avx2_entry;
    }
    tile_portable
}

/// Plain Rust; LLVM vectorises the 16-column loop with whatever SIMD the build target has.
pub(crate) fn tile_portable(a: &[&[f32]; TILE_ROWS], panel: &[f32], len: usize) -> Tile {
    let mut acc = [[0f32; PANEL]; TILE_ROWS];
    for (k, p) in panel[..len * PANEL].chunks_exact(PANEL).enumerate() {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let ar = a[r][k];
            for (s, &b) in acc_r.iter_mut().zip(p) {
                *s += ar * b;
            }
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
fn tile_avx2_entry(a: &[&[f32]; TILE_ROWS], panel: &[f32], len: usize) -> Tile {
    assert!(
        a.iter().all(|r| r.len() >= len) && panel.len() >= len * PANEL,
        "tile operands shorter than len"
    );
    // SAFETY: `select` hands out this entry only after detecting avx2 and fma at run time, and the
    // assertion above keeps every read inside its slice.
    unsafe { tile_avx2(a, panel, len) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(a: &[&[f32]; TILE_ROWS], panel: &[f32], len: usize) -> Tile {
    use std::arch::x86_64::*;
    let mut out = [[0f32; PANEL]; TILE_ROWS];
    let ap = a.map(|r| r.as_ptr());
    // 6 rows × 32 columns would need 24 accumulators; 16 ymm registers hold one 16-column half at a time.
    for half in [0, 16] {
        let mut acc = [[_mm256_setzero_ps(); 2]; TILE_ROWS];
        let pp = panel.as_ptr().wrapping_add(half);
        for k in 0..len {
            // SAFETY (all reads): the caller checked `k < len <= a[r].len()` and `(k + 1) * 32 <= panel.len()`.
            let (b0, b1) = unsafe {
                (
                    _mm256_loadu_ps(pp.add(k * PANEL)),
                    _mm256_loadu_ps(pp.add(k * PANEL + 8)),
                )
            };
            for r in 0..TILE_ROWS {
                let ar = _mm256_set1_ps(unsafe { *ap[r].add(k) });
                acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
            }
        }
        for r in 0..TILE_ROWS {
            // SAFETY: `half + 16 <= 32`, the length of each row of `out`.
            unsafe {
                _mm256_storeu_ps(out[r].as_mut_ptr().add(half), acc[r][0]);
                _mm256_storeu_ps(out[r].as_mut_ptr().add(half + 8), acc[r][1]);
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
fn tile_avx512_entry(a: &[&[f32]; TILE_ROWS], panel: &[f32], len: usize) -> Tile {
    assert!(
        a.iter().all(|r| r.len() >= len) && panel.len() >= len * PANEL,
        "tile operands shorter than len"
    );
    // SAFETY: handed out only after detecting avx512f; the assertion keeps every read in bounds.
    unsafe { tile_avx512(a, panel, len) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(a: &[&[f32]; TILE_ROWS], panel: &[f32], len: usize) -> Tile {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; TILE_ROWS];
    let ap = a.map(|r| r.as_ptr());
    let pp = panel.as_ptr();
    for k in 0..len {
        // SAFETY (all reads): the caller checked `k < len <= a[r].len()` and `(k + 1) * 32 <= panel.len()`.
        let (b0, b1) = unsafe {
            (
                _mm512_loadu_ps(pp.add(k * PANEL)),
                _mm512_loadu_ps(pp.add(k * PANEL + 16)),
            )
        };
        for r in 0..TILE_ROWS {
            let ar = _mm512_set1_ps(unsafe { *ap[r].add(k) });
            acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    let mut out = [[0f32; PANEL]; TILE_ROWS];
    for r in 0..TILE_ROWS {
        // SAFETY: each row of `out` has exactly 32 floats.
        unsafe {
            _mm512_storeu_ps(out[r].as_mut_ptr(), acc[r][0]);
            _mm512_storeu_ps(out[r].as_mut_ptr().add(16), acc[r][1]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_agree_with_a_float64_dot() {
        let len = 37;
        let val = |r: usize, k: usize| ((r * 31 + k * 17) % 23) as f32 / 23.0 - 0.4;
        let rows: Vec<Vec<f32>> = (0..TILE_ROWS)
            .map(|r| (0..len).map(|k| val(r, k)).collect())
            .collect();
        let a: [&[f32]; TILE_ROWS] = std::array::from_fn(|r| &rows[r][..]);
        let panel: Vec<f32> = (0..len)
            .flat_map(|k| (0..PANEL).map(move |c| val(c + 50, k)))
            .collect();
        #[cfg(target_arch = "x86_64")]
        let simd: Vec<TileFn> = {
            let mut v: Vec<TileFn> = Vec::new();
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(tile_avx2_entry);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(tile_avx512_entry);
            }
            v
        };
        #[cfg(not(target_arch = "x86_64"))]
        let simd: Vec<TileFn> = Vec::new();
        for tile in std::iter::once(tile_portable as TileFn).chain(simd) {
            let got = tile(&a, &panel, len);
            for (r, got_r) in got.iter().enumerate() {
                for (c, &g) in got_r.iter().enumerate() {
                    let want: f64 = (0..len)
                        .map(|k| val(r, k) as f64 * val(c + 50, k) as f64)
                        .sum();
                    assert!((g as f64 - want).abs() < 1e-5, "r{r} c{c}: {g} vs {want}");
                }
            }
        }
    }
}
