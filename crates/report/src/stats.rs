//! The report's statistics: 95 % t-intervals over seeds, the paired t-test over seeds, and with one seed the
//! paired bootstrap over categories. Each returns what the report prints and names the test it used.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The two-sided level of every interval and test.
pub(crate) const CONFIDENCE: f64 = 0.95;

/// Resamples of the paired bootstrap; with its fixed seed the report is the same bytes on every run.
pub(crate) const BOOTSTRAP_RESAMPLES: usize = 10_000;
const BOOTSTRAP_SEED: u64 = 2024;

/// `t_{1 − (1 − CONFIDENCE)/2, df}`.
pub(crate) fn t_quantile(df: usize) -> f64 {
    let t = StudentsT::new(0.0, 1.0, df as f64).expect("df ≥ 1 is a valid Student's t");
    t.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0)
}

/// Mean and 95 % t-interval half-width of the finite values; the half-width is `None` below two values.
pub(crate) fn t_interval(values: &[f64]) -> (f64, Option<f64>) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, None);
    }
    let k = v.len() as f64;
    let mean = v.iter().sum::<f64>() / k;
    if v.len() < 2 {
        return (mean, None);
    }
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    (mean, Some(t_quantile(v.len() - 1) * sd / k.sqrt()))
}

/// Which test produced a [`Comparison`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Test {
    /// Paired t-test over seeds, `k − 1` degrees of freedom.
    PairedT { seeds: usize },
    /// Paired bootstrap over categories, one seed.
    Bootstrap { categories: usize },
}

impl Test {
    pub fn name(self) -> String {
        match self {
            Test::PairedT { seeds } => format!("paired t-test over {seeds} seeds (df {})", seeds - 1),
            Test::Bootstrap { categories } => {
                format!("paired bootstrap over {categories} categories ({BOOTSTRAP_RESAMPLES} resamples, 1 seed)")
            }
        }
    }
}

/// A paired difference (method − baseline): its estimate, 95 % interval and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Comparison {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub p: f64,
    pub test: Test,
}

/// The paired t-test of per-seed differences: `t = mean / (s / √k)`, `p = 2 · (1 − F_t(|t|; k − 1))`, and
/// the t-interval. `None` below two finite differences. Differences that are all equal give `s = 0`: the
/// interval is that value and `p` is 0 (1 if the value is 0), as the limit of the test.
pub(crate) fn paired_t(diffs: &[f64]) -> Option<Comparison> {
    let v: Vec<f64> = diffs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return None;
    }
    let k = v.len() as f64;
    let mean = v.iter().sum::<f64>() / k;
    let se = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt() / k.sqrt();
    let half = t_quantile(v.len() - 1) * se;
    let p = if se == 0.0 {
        if mean == 0.0 { 1.0 } else { 0.0 }
    } else {
        let t = StudentsT::new(0.0, 1.0, k - 1.0).expect("df ≥ 1");
        2.0 * (1.0 - t.cdf((mean / se).abs()))
    };
    Some(Comparison { mean, low: mean - half, high: mean + half, p, test: Test::PairedT { seeds: v.len() } })
}

/// One run's scores as the bootstrap reweights them: `ratio[i][j] = R[i][j] / upbound[j] × 100` for the
/// categories `j < i` learned before 0-based stage `i ≥ 1` (`NaN` where the bound is 0, which RG leaves out).
pub(crate) struct Ratios {
    pub ratio: Vec<Vec<f64>>,
}

impl Ratios {
    pub fn of(r: &[Vec<f64>], upbound: &[f64]) -> Ratios {
        let ratio = (0..r.len())
            .map(|i| (0..i).map(|j| if upbound[j] > 0.0 { r[i][j] / upbound[j] * 100.0 } else { f64::NAN }).collect())
            .collect();
        Ratios { ratio }
    }

    /// (final RG, AVG RG) with category `j` counted `weight[j]` times: RG of stage `i` is the weighted mean
    /// of its defined ratios; AVG is the mean of the defined stages. All weights 1 give the run's own values.
    pub fn rg(&self, weight: &[f64]) -> (f64, f64) {
        let rg: Vec<f64> = self.ratio[1..]
            .iter()
            .map(|row| {
                let (s, w) = row.iter().zip(weight).filter(|(x, _)| x.is_finite()).fold((0.0, 0.0), |(s, w), (x, k)| (s + x * k, w + k));
                if w > 0.0 { s / w } else { f64::NAN }
            })
            .collect();
        let defined: Vec<f64> = rg.iter().copied().filter(|v| v.is_finite()).collect();
        let avg = if defined.is_empty() { f64::NAN } else { defined.iter().sum::<f64>() / defined.len() as f64 };
        (*rg.last().unwrap_or(&f64::NAN), avg)
    }
}

/// The paired bootstrap over categories of (final RG, AVG RG) differences `ours − base` for one seed: the
/// categories that RG averages over (all but the last) are resampled with replacement, both runs are
/// recomputed on the same resample, and the interval is the 2.5th–97.5th percentile of the differences. The
/// p-value is two-sided, `2 · min(P*(Δ ≤ 0), P*(Δ ≥ 0))`, capped at 1. Resamples where a difference is
/// undefined are left out.
pub(crate) fn paired_bootstrap(ours: &Ratios, base: &Ratios) -> [Option<Comparison>; 2] {
    let m = ours.ratio.len().saturating_sub(1);
    if m == 0 {
        return [None, None];
    }
    let observed = {
        let ones = vec![1.0; m];
        let (a, b) = (ours.rg(&ones), base.rg(&ones));
        [a.0 - b.0, a.1 - b.1]
    };
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut draws: [Vec<f64>; 2] = [Vec::with_capacity(BOOTSTRAP_RESAMPLES), Vec::with_capacity(BOOTSTRAP_RESAMPLES)];
    let mut weight = vec![0.0; m];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        weight.iter_mut().for_each(|w| *w = 0.0);
        for _ in 0..m {
            weight[rng.random_range(0..m)] += 1.0;
        }
        let (a, b) = (ours.rg(&weight), base.rg(&weight));
        for (k, d) in [a.0 - b.0, a.1 - b.1].into_iter().enumerate() {
            if d.is_finite() {
                draws[k].push(d);
            }
        }
    }
    let test = Test::Bootstrap { categories: m };
    let mut out = [None, None];
    for k in 0..2 {
        let d = &mut draws[k];
        if d.is_empty() || !observed[k].is_finite() {
            continue;
        }
        d.sort_by(f64::total_cmp);
        let q = |f: f64| d[((f * (d.len() - 1) as f64).round() as usize).min(d.len() - 1)];
        let n = d.len() as f64;
        let below = d.iter().filter(|&&x| x <= 0.0).count() as f64 / n;
        let above = d.iter().filter(|&&x| x >= 0.0).count() as f64 / n;
        let tail = (1.0 - CONFIDENCE) / 2.0;
        out[k] = Some(Comparison { mean: observed[k], low: q(tail), high: q(1.0 - tail), p: (2.0 * below.min(above)).min(1.0), test });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_are_the_table_values() {
        // Student's t table, two-sided 95 %: df 1 → 12.706, df 2 → 4.303, df 4 → 2.776, df 30 → 2.042.
        for (df, want) in [(1, 12.706), (2, 4.303), (4, 2.776), (30, 2.042)] {
            assert!((t_quantile(df) - want).abs() < 5e-4, "df {df}: {}", t_quantile(df));
        }
    }

    #[test]
    fn interval_and_paired_t_by_hand() {
        // 1, 2, 3: mean 2, s = 1, half = 4.303 · 1/√3 = 2.4843.
        let (mean, half) = t_interval(&[1.0, 2.0, 3.0]);
        assert_eq!(mean, 2.0);
        assert!((half.unwrap() - 4.302_652_7 / 3f64.sqrt()).abs() < 1e-6);
        assert_eq!(t_interval(&[5.0]), (5.0, None));
        // d = 1, 3: mean 2, s = √2, se = 1, t = 2, df 1: p = 2·(1 − (1/2 + atan(2)/π)) = 1 − 2·atan(2)/π.
        let c = paired_t(&[1.0, 3.0]).unwrap();
        let want = 1.0 - 2.0 * 2f64.atan() / std::f64::consts::PI;
        assert!((c.p - want).abs() < 1e-9, "{} vs {want}", c.p);
        assert!((c.high - c.mean - 12.706_204_7).abs() < 1e-6);
        assert_eq!(c.test, Test::PairedT { seeds: 2 });
        assert_eq!(paired_t(&[2.0, 2.0]).unwrap().p, 0.0);
        assert!(paired_t(&[1.0]).is_none());
    }

    #[test]
    fn bootstrap_reproduces_the_observed_rg_and_brackets_it() {
        // Stage rows of R (0-based); bounds 50, 40, 80. Ours keeps more of A and B than the baseline.
        let r_ours = vec![vec![50.0], vec![45.0, 40.0], vec![40.0, 36.0, 80.0]];
        let r_base = vec![vec![50.0], vec![30.0, 40.0], vec![20.0, 20.0, 80.0]];
        let up = [50.0, 40.0, 80.0];
        let (a, b) = (Ratios::of(&r_ours, &up), Ratios::of(&r_base, &up));
        // Final: ours (80 + 90)/2 = 85, base (40 + 50)/2 = 45; AVG: ours (90 + 85)/2 = 87.5, base (60 + 45)/2 = 52.5.
        assert_eq!(a.rg(&[1.0, 1.0]), (85.0, 87.5));
        assert_eq!(b.rg(&[1.0, 1.0]), (45.0, 52.5));
        let [fin, avg] = paired_bootstrap(&a, &b);
        let (fin, avg) = (fin.unwrap(), avg.unwrap());
        assert_eq!((fin.mean, avg.mean), (40.0, 35.0));
        // Every resample favours ours (per-category differences 40/40 at stage 3), so p = 0 and the interval
        // lies within the per-category extremes: final Δ in [40, 40], AVG Δ in [30, 40].
        assert_eq!((fin.low, fin.high, fin.p), (40.0, 40.0, 0.0));
        assert!(avg.low >= 30.0 - 1e-9 && avg.high <= 40.0 + 1e-9 && avg.p == 0.0, "{avg:?}");
        assert_eq!(fin.test, Test::Bootstrap { categories: 2 });
        // The same run against itself: every difference is 0, p = 1.
        let [same, _] = paired_bootstrap(&a, &Ratios::of(&r_ours, &up));
        assert_eq!(same.unwrap().p, 1.0);
    }
}
