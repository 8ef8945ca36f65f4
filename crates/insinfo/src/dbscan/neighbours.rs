//! Radius neighbourhoods of unit rows, computed block by block so that the n×n distance matrix never
//! exists: each worker takes a block of rows, scans the columns at or after the block's first row (the
//! relation is symmetric, so the lower triangle is skipped), and keeps only the pairs that are
//! neighbours. Memory is O(n·mean neighbours) for the pairs plus one tile of operands per worker.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::kernel::{self, PANEL, TILE_ROWS, TileFn};

/// Rows padded to a multiple of this, so blocks split into whole tiles and whole panels.
const ROW_QUANTUM: usize = 96;
/// Rows per work item (a multiple of [`ROW_QUANTUM`]); small enough that the triangle's uneven blocks
/// still balance across workers.
const BLOCK_ROWS: usize = 96;
/// Columns per pass over a block: 4 panels of 32 × 384 floats (192 KiB) plus the block's 96 rows (144 KiB)
/// stay in a 1–2 MiB L2 while every row sextet of the block sweeps them.
const COL_TILE: usize = 128;

/// Rows scaled to unit norm the way scikit-learn's `normalize` does it in float32, zero-padded to a
/// row count that is a multiple of [`ROW_QUANTUM`]; `panels` holds the same rows again, 32 at a time
/// and k-major, in the layout the tile kernels stream.
pub(crate) struct UnitRows {
    pub(crate) data: Vec<f32>,
    pub(crate) stride: usize,
    pub(crate) n: usize,
    panels: Vec<f32>,
    /// Where the panels start in `panels`: the first 64-byte boundary, so that no vector load splits
    /// a cache line.
    panel_start: usize,
}

impl UnitRows {
    /// Takes row-major `data` of `padded_rows(n)` rows and packs the panels.
    pub(crate) fn new(data: Vec<f32>, stride: usize, n: usize) -> UnitRows {
        let mut panels = vec![0f32; data.len() + 16];
        let panel_start = panels.as_ptr().align_offset(64).min(16);
        for (p, rows) in data.chunks_exact(PANEL * stride).enumerate() {
            let dst = &mut panels[panel_start + p * PANEL * stride..][..PANEL * stride];
            for (c, row) in rows.chunks_exact(stride).enumerate() {
                for (k, &v) in row.iter().enumerate() {
                    dst[k * PANEL + c] = v;
                }
            }
        }
        UnitRows {
            data,
            stride,
            n,
            panels,
            panel_start,
        }
    }
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.stride..(i + 1) * self.stride]
    }
    /// The panel holding columns `j0..j0 + PANEL`, `j0` a multiple of [`PANEL`].
    fn panel(&self, j0: usize) -> &[f32] {
        &self.panels[self.panel_start + j0 * self.stride..][..PANEL * self.stride]
    }
    fn padded_rows(&self) -> usize {
        self.data.len() / self.stride
    }
}

/// The neighbour test on dots, as three cut-offs on the float32 dot value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DotRule {
    /// Neighbours are exactly the pairs whose float32-rounded dot is `>= t32`.
    pub(crate) t32: f32,
    /// A float32 tile dot below `lo` proves "not a neighbour", at or above `hi` proves "neighbour";
    /// anything in between is re-decided from the exact dot.
    pub(crate) lo: f32,
    pub(crate) hi: f32,
}

impl DotRule {
    /// `t32` comes from the distance rule; the band is wide enough for any float32 summation order of
    /// `len` products of unit-ish rows (|error| <= γ_len · Σ|a_k b_k| <= γ_len · (1 + 6u)), plus one ulp
    /// of `t32` for the final rounding of the exact dot to float32.
    pub(crate) fn new(t32: f32, len: usize) -> DotRule {
        let u = f64::from(f32::EPSILON) / 2.0;
        let gamma = (len as f64 + 2.0) * u / (1.0 - (len as f64 + 2.0) * u);
        let margin = gamma * 1.01 + ulp(t32);
        let lo = round_down_f32(f64::from(t32) - margin);
        let hi = round_up_f32(f64::from(t32) + margin);
        DotRule { t32, lo, hi }
    }

    pub(crate) fn exact(&self, a: &[f32], b: &[f32]) -> bool {
        // Products of two float32 are exact in float64, so this is the true dot up to ~len·2^-53, far
        // inside the float32 rounding step that follows.
        let e: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        (e as f32) >= self.t32
    }
}

fn ulp(x: f32) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let a = x.abs();
    f64::from(a.next_up()) - f64::from(a)
}

fn round_down_f32(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) > x { f.next_down() } else { f }
}

fn round_up_f32(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x { f.next_up() } else { f }
}

/// Compressed neighbour lists; row `i` includes `i` itself and is sorted ascending, exactly as
/// scikit-learn's brute `radius_neighbors` returns it.
pub(crate) struct Neighbourhoods {
    offsets: Vec<usize>,
    indices: Vec<u32>,
}

impl Neighbourhoods {
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    pub(crate) fn row(&self, i: usize) -> &[u32] {
        &self.indices[self.offsets[i]..self.offsets[i + 1]]
    }
    #[cfg(test)]
    pub(crate) fn from_parts(offsets: Vec<usize>, indices: Vec<u32>) -> Neighbourhoods {
        Neighbourhoods { offsets, indices }
    }
}

/// All neighbourhoods of `x` under `rule`, using up to `threads` workers.
pub(crate) fn neighbourhoods(x: &UnitRows, rule: DotRule, threads: usize) -> Neighbourhoods {
    let tile = kernel::select();
    let n_blocks = x.n.div_ceil(BLOCK_ROWS);
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, n_blocks.max(1));
    let per_worker: Vec<Vec<(u32, u32)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut pairs = Vec::new();
                    // Blocks are handed out first-come in index order: the earliest blocks scan the most
                    // columns, so the heavy work is claimed first and the light tail evens out the end.
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= n_blocks {
                            break pairs;
                        }
                        scan_block(x, rule, tile, b * BLOCK_ROWS, &mut pairs);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("neighbour worker panicked"))
            .collect()
    });
    assemble(x.n, &per_worker)
}

/// Appends every neighbour pair `(i, j)`, `i < j`, with `i` in the block starting at `r0`.
fn scan_block(x: &UnitRows, rule: DotRule, tile: TileFn, r0: usize, pairs: &mut Vec<(u32, u32)>) {
    let rows_end = (r0 + BLOCK_ROWS).min(x.padded_rows());
    let cols_end = x.padded_rows();
    let len = x.stride;
    for c0 in (r0..cols_end).step_by(COL_TILE) {
        let c1 = (c0 + COL_TILE).min(cols_end);
        for i0 in (r0..rows_end).step_by(TILE_ROWS) {
            if i0 >= x.n {
                break;
            }
            let a: [&[f32]; TILE_ROWS] = std::array::from_fn(|r| x.row(i0 + r));
            // Panels wholly left of the diagonal hold only pairs the triangle skips.
            let first = c0.max(i0 - i0 % PANEL);
            for j0 in (first..c1).step_by(PANEL) {
                if j0 >= x.n {
                    break;
                }
                let dots = tile(&a, x.panel(j0), len);
                for (r, dr) in dots.iter().enumerate() {
                    for (c, &d) in dr.iter().enumerate() {
                        if d < rule.lo {
                            continue;
                        }
                        let (i, j) = (i0 + r, j0 + c);
                        if j <= i || j >= x.n || i >= x.n {
                            continue;
                        }
                        if d >= rule.hi || rule.exact(a[r], x.row(j)) {
                            pairs.push((i as u32, j as u32));
                        }
                    }
                }
            }
        }
    }
}

fn assemble(n: usize, per_worker: &[Vec<(u32, u32)>]) -> Neighbourhoods {
    let mut offsets = vec![0usize; n + 1];
    for pairs in per_worker {
        for &(i, j) in pairs {
            offsets[i as usize + 1] += 1;
            offsets[j as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i] + 1; // +1: every point is its own neighbour
    }
    let mut fill = offsets[..n].to_vec();
    let mut indices = vec![0u32; offsets[n]];
    for (i, slot) in fill.iter_mut().enumerate() {
        indices[*slot] = i as u32;
        *slot += 1;
    }
    for pairs in per_worker {
        for &(i, j) in pairs {
            indices[fill[i as usize]] = j;
            fill[i as usize] += 1;
            indices[fill[j as usize]] = i;
            fill[j as usize] += 1;
        }
    }
    // Labels do not depend on neighbour order (see `label`), but sklearn's order costs little and keeps
    // the neighbourhoods themselves comparable with `radius_neighbors`.
    for i in 0..n {
        indices[offsets[i]..offsets[i + 1]].sort_unstable();
    }
    Neighbourhoods { offsets, indices }
}

pub(crate) fn padded_rows(n: usize) -> usize {
    n.div_ceil(ROW_QUANTUM) * ROW_QUANTUM
}
