//! The paper's continual-learning metrics, computed from the R matrix of one (order, method) run.
//!
//! `R[i][j]` is the Rouge-L F (×100) of the model after stage `i` on the test split of the `j`-th category of
//! the order, for `j ≤ i`. Stages are 1-based in these docs and in [`MetricRow::stage`]; the `Vec`s are 0-based.
//!
//! - **Relative Gain** (InsCL §4.2): `RG_i = mean_{j<i} R[i][j] / upbound[j] × 100` for `i ≥ 2`, where
//!   `upbound[j]` is the score of the expert trained on category `j` alone. Per run the paper tabulates the
//!   mean (`RG_avg`) and the **population** standard deviation (`RG_std`, divisor `n − 1` stages, not `n − 2`)
//!   of `RG_2..RG_n`, and the final `RG_n` (`RG_final`).
//! - **Forgetting rate** (our definition; the paper does not publish its formula):
//!   `FG_j = (R[j][j] − R[n][j]) / R[j][j] × 100` for `j < n`, the percentage of category `j`'s score right
//!   after learning it that is lost by the end. Negative means the category improved later (backward transfer).
//! - **Undefined values are NaN**, never an error: an expert that scored 0 gives no scale, so its category is
//!   left out of the RG mean (a stage with no measurable earlier category has RG = NaN, and NaN stages are left
//!   out of AVG/STD); FG of a category that scored 0 right after learning it is NaN. The report shows "n/a".
//! - **BWT** = `mean_{j<n} (R[n][j] − R[j][j])` and **AP** = `mean_{j≤n} R[n][j]`, as CITB and SAPT report them.
//! - **Zero-shot** `R[0][j]`: the base model's score on category `j` before any training.
//! - **FWT** (CITB/SAPT): `FWT_i = R[i−1][i] − R[0][i]` for `i ≥ 2`, the model after stage `i − 1` scored on
//!   the category it has not learned yet, against the base model; `FWT_avg` is their mean.
//! - **Joint upper bound**: one model trained on all categories of the order at once; `RG_joint_*` is Relative
//!   Gain with the joint model's per-category scores as the divisors instead of the experts'.

use std::collections::BTreeMap;
use std::fmt;

/// Scores of the model after each stage of one order, on every category learned so far.
#[derive(Debug, Clone, PartialEq)]
pub struct RMatrix {
    /// The order's categories; stage `i` (1-based) trains `categories[i - 1]`.
    pub categories: Vec<String>,
    /// `r[i][j]`: 0-based stage `i`, category `categories[j]`. Row `i` needs cells `0..=i`; longer rows are
    /// allowed (square matrices) and cells past the diagonal are ignored.
    pub r: Vec<Vec<Option<f64>>>,
}

/// One number in long format, the shape `metrics.parquet` stores.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The replicate: its seed drew the replay, the data order and (for the tiny model) the initial weights.
    pub seed: u64,
    pub order: String,
    pub method: String,
    /// 1-based stage for `R` and `RG`; `None` for per-category and per-run metrics.
    pub stage: Option<usize>,
    /// The category for `R`, `upbound` and `FG`; `None` otherwise.
    pub category: Option<String>,
    /// One of [`METRIC_NAMES`].
    pub metric: String,
    pub value: f64,
}

/// Every metric name [`metric_rows`] and [`extra_rows`] emit.
pub const METRIC_NAMES: [&str; 17] = [
    "R", "upbound", "RG", "RG_avg", "RG_std", "RG_final", "FG", "BWT", "AP", "zeroshot", "FWT", "FWT_avg", "joint",
    "RG_joint", "RG_joint_avg", "RG_joint_std", "RG_joint_final",
];

/// Mean and population standard deviation of `RG_2..RG_n`, and `RG_n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RgSummary {
    pub avg: f64,
    pub std: f64,
    pub last: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricsError {
    /// The metrics compare stages, so one stage is not enough.
    TooFewStages {
        stages: usize,
    },
    /// `r` has a different number of rows than there are categories.
    RowCount {
        rows: usize,
        categories: usize,
    },
    /// Row `stage` (1-based) has fewer than `stage` cells.
    ShortRow {
        stage: usize,
        len: usize,
    },
    MissingCell {
        stage: usize,
        category: String,
    },
    /// A score that is NaN, infinite or outside `[0, 100]`.
    BadScore {
        stage: usize,
        category: String,
        value: f64,
    },
    MissingUpbound {
        category: String,
    },
    /// An upper bound that is negative, NaN, infinite or above 100.
    BadUpbound {
        category: String,
        value: f64,
    },
    DuplicateCategory {
        category: String,
    },
    /// A list of per-category or per-stage scores (`what`) of the wrong length.
    ExtraLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// A zero-shot, next-category or joint score outside `[0, 100]`.
    BadExtra {
        what: &'static str,
        category: String,
        value: f64,
    },
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewStages { stages } => {
                write!(f, "the R matrix has {stages} stage(s); Relative Gain, FG and BWT need at least 2")
            }
            Self::RowCount { rows, categories } => {
                write!(f, "the R matrix has {rows} rows but the order has {categories} categories (one stage each)")
            }
            Self::ShortRow { stage, len } => {
                write!(f, "R row of stage {stage} has {len} cells; it needs one per category learned so far ({stage})")
            }
            Self::MissingCell { stage, category } => {
                write!(
                    f,
                    "R[stage {stage}][{category}] is missing: the model after stage {stage} was not scored on {category}"
                )
            }
            Self::BadScore { stage, category, value } => {
                write!(f, "R[stage {stage}][{category}] = {value} is not a Rouge-L score in [0, 100]")
            }
            Self::MissingUpbound { category } => write!(f, "no expert upper bound for category {category}"),
            Self::BadUpbound { category, value } => {
                write!(f, "upper bound of category {category} is {value}; Relative Gain needs a score in [0, 100]")
            }
            Self::DuplicateCategory { category } => write!(f, "category {category} appears twice in the order"),
            Self::ExtraLength { what, expected, got } => write!(f, "{got} {what} scores given; the order needs {expected}"),
            Self::BadExtra { what, category, value } => {
                write!(f, "{what} score of category {category} is {value}, not a Rouge-L score in [0, 100]")
            }
        }
    }
}

impl std::error::Error for MetricsError {}

impl RMatrix {
    /// Number of stages (= categories in the order).
    pub fn stages(&self) -> usize {
        self.categories.len()
    }

    /// `R[stage][category]`, both 0-based, checked to be present and a score.
    pub fn get(&self, stage: usize, category: usize) -> Result<f64, MetricsError> {
        let name = || self.categories.get(category).cloned().unwrap_or_else(|| format!("#{}", category + 1));
        let row = self.r.get(stage).ok_or(MetricsError::RowCount { rows: self.r.len(), categories: self.stages() })?;
        let value = row
            .get(category)
            .copied()
            .flatten()
            .ok_or_else(|| MetricsError::MissingCell { stage: stage + 1, category: name() })?;
        if !value.is_finite() || !(0.0..=100.0).contains(&value) {
            return Err(MetricsError::BadScore { stage: stage + 1, category: name(), value });
        }
        Ok(value)
    }

    /// Checks the shape and every cell on or below the diagonal, so later errors cannot be partial.
    pub fn validate(&self) -> Result<(), MetricsError> {
        if self.r.len() != self.stages() {
            return Err(MetricsError::RowCount { rows: self.r.len(), categories: self.stages() });
        }
        for (i, name) in self.categories.iter().enumerate() {
            if self.categories[..i].contains(name) {
                return Err(MetricsError::DuplicateCategory { category: name.clone() });
            }
        }
        for (i, row) in self.r.iter().enumerate() {
            if row.len() <= i {
                return Err(MetricsError::ShortRow { stage: i + 1, len: row.len() });
            }
            for j in 0..=i {
                self.get(i, j)?;
            }
        }
        Ok(())
    }

    fn validate_multi_stage(&self) -> Result<usize, MetricsError> {
        self.validate()?;
        match self.stages() {
            n if n < 2 => Err(MetricsError::TooFewStages { stages: n }),
            n => Ok(n),
        }
    }
}

/// The expert scores of the order's categories, in order, checked to be usable as divisors.
pub fn upbounds_in_order(rm: &RMatrix, upbounds: &BTreeMap<String, f64>) -> Result<Vec<f64>, MetricsError> {
    rm.categories
        .iter()
        .map(|category| {
            let value =
                *upbounds.get(category).ok_or_else(|| MetricsError::MissingUpbound { category: category.clone() })?;
            if !value.is_finite() || value < 0.0 || value > 100.0 {
                return Err(MetricsError::BadUpbound { category: category.clone(), value });
            }
            Ok(value)
        })
        .collect()
}

/// `(stage, RG_stage)` for stages `2..=n` (1-based).
pub fn relative_gain(rm: &RMatrix, upbounds: &BTreeMap<String, f64>) -> Result<Vec<(usize, f64)>, MetricsError> {
    let n = rm.validate_multi_stage()?;
    let up = upbounds_in_order(rm, upbounds)?;
    (1..n)
        .map(|i| {
            // An expert that scored 0 gives no scale to measure the category against; it is left out of the
            // mean, and a stage with no measurable earlier category has an undefined (NaN) RG.
            let (mut sum, mut count) = (0.0, 0usize);
            for (j, &bound) in up.iter().enumerate().take(i) {
                let r = rm.get(i, j)?;
                if bound > 0.0 {
                    sum += r / bound * 100.0;
                    count += 1;
                }
            }
            Ok((i + 1, if count == 0 { f64::NAN } else { sum / count as f64 }))
        })
        .collect()
}

/// Mean, population standard deviation (divisor = number of values) and last value of an RG series.
pub fn summarize_rg(rg: &[(usize, f64)]) -> Result<RgSummary, MetricsError> {
    let Some(&(_, last)) = rg.last() else {
        return Err(MetricsError::TooFewStages { stages: 1 });
    };
    // Undefined stages (NaN, see `relative_gain`) are left out; with none defined the summary is NaN too.
    let defined: Vec<f64> = rg.iter().map(|&(_, v)| v).filter(|v| v.is_finite()).collect();
    let count = defined.len() as f64;
    let avg = defined.iter().sum::<f64>() / count;
    let variance = defined.iter().map(|v| (v - avg).powi(2)).sum::<f64>() / count;
    Ok(RgSummary { avg, std: variance.sqrt(), last })
}

/// `(category index, FG_j)` for every category but the last, whose score is never revisited.
pub fn forgetting_rates(rm: &RMatrix) -> Result<Vec<(usize, f64)>, MetricsError> {
    let n = rm.validate_multi_stage()?;
    (0..n - 1)
        .map(|j| {
            let just_learned = rm.get(j, j)?;
            // Nothing learned, nothing to forget: the rate is undefined (NaN) rather than a division by zero.
            if just_learned == 0.0 {
                return Ok((j, f64::NAN));
            }
            Ok((j, (just_learned - rm.get(n - 1, j)?) / just_learned * 100.0))
        })
        .collect()
}

/// Backward transfer: mean over `j < n` of `R[n][j] − R[j][j]`; negative means forgetting.
pub fn backward_transfer(rm: &RMatrix) -> Result<f64, MetricsError> {
    let n = rm.validate_multi_stage()?;
    let mut sum = 0.0;
    for j in 0..n - 1 {
        sum += rm.get(n - 1, j)? - rm.get(j, j)?;
    }
    Ok(sum / (n - 1) as f64)
}

/// Average performance: mean of the final model's scores over every category of the order.
pub fn average_performance(rm: &RMatrix) -> Result<f64, MetricsError> {
    rm.validate()?;
    let n = rm.stages();
    if n == 0 {
        return Err(MetricsError::TooFewStages { stages: 0 });
    }
    let mut sum = 0.0;
    for j in 0..n {
        sum += rm.get(n - 1, j)?;
    }
    Ok(sum / n as f64)
}

/// Forward transfer of stages `2..=n`: `(stage, R[i−1][i] − R[0][i])`. `zeroshot[j]` is `R[0][j]` for every
/// category of the order; `next[k]` is the score of the model after (0-based) stage `k` on category `k + 1`.
pub fn forward_transfer(rm: &RMatrix, zeroshot: &[f64], next: &[f64]) -> Result<Vec<(usize, f64)>, MetricsError> {
    let n = rm.validate_multi_stage()?;
    check_scores(rm, "zero-shot", zeroshot, n, 0)?;
    check_scores(rm, "next-category", next, n - 1, 1)?;
    Ok((1..n).map(|i| (i + 1, next[i - 1] - zeroshot[i])).collect())
}

fn check_scores(rm: &RMatrix, what: &'static str, v: &[f64], expected: usize, offset: usize) -> Result<(), MetricsError> {
    if v.len() != expected {
        return Err(MetricsError::ExtraLength { what, expected, got: v.len() });
    }
    match v.iter().enumerate().find(|(_, x)| !(x.is_finite() && (0.0..=100.0).contains(*x))) {
        Some((j, &value)) => Err(MetricsError::BadExtra { what, category: rm.categories[j + offset].clone(), value }),
        None => Ok(()),
    }
}

/// The scores beyond the R matrix and the experts that one run may have.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtraScores {
    /// `R[0][j]` for every category of the order (the base model, untrained).
    pub zeroshot: Option<Vec<f64>>,
    /// The model after 0-based stage `k` on category `k + 1`, for `k < n − 1` (needs `zeroshot` for FWT).
    pub next: Option<Vec<f64>>,
    /// The joint multi-task model's score per category.
    pub joint: Option<BTreeMap<String, f64>>,
}

/// Makes the long-format rows of one (seed, order, method) run.
struct Rows<'a> {
    seed: u64,
    order: &'a str,
    method: &'a str,
    rm: &'a RMatrix,
    rows: Vec<MetricRow>,
}

impl<'a> Rows<'a> {
    fn new(seed: u64, order: &'a str, method: &'a str, rm: &'a RMatrix) -> Self {
        Rows { seed, order, method, rm, rows: Vec::new() }
    }

    /// `category` is an index into the order.
    fn push(&mut self, stage: Option<usize>, category: Option<usize>, metric: &str, value: f64) {
        self.rows.push(MetricRow {
            seed: self.seed,
            order: self.order.to_string(),
            method: self.method.to_string(),
            stage,
            category: category.map(|j| self.rm.categories[j].clone()),
            metric: metric.to_string(),
            value,
        });
    }

    /// Per-category values `bound`, then RG against them per stage and its `_avg`, `_std` and `_final`:
    /// `("upbound", "RG")` for the experts, `("joint", "RG_joint")` for the joint model.
    fn relative_gain(&mut self, bounds: &BTreeMap<String, f64>, bound: &str, rg_name: &str) -> Result<(), MetricsError> {
        let up = upbounds_in_order(self.rm, bounds)?;
        let rg = relative_gain(self.rm, bounds)?;
        let summary = summarize_rg(&rg)?;
        up.iter().enumerate().for_each(|(j, &v)| self.push(None, Some(j), bound, v));
        rg.iter().for_each(|&(stage, v)| self.push(Some(stage), None, rg_name, v));
        self.push(None, None, &format!("{rg_name}_avg"), summary.avg);
        self.push(None, None, &format!("{rg_name}_std"), summary.std);
        self.push(None, None, &format!("{rg_name}_final"), summary.last);
        Ok(())
    }
}

/// The rows of the zero-shot scores, FWT per stage and its mean, and the joint bound with RG against it.
pub fn extra_rows(
    seed: u64,
    order: &str,
    method: &str,
    rm: &RMatrix,
    extra: &ExtraScores,
) -> Result<Vec<MetricRow>, MetricsError> {
    let mut rows = Rows::new(seed, order, method, rm);
    if let Some(zs) = &extra.zeroshot {
        check_scores(rm, "zero-shot", zs, rm.stages(), 0)?;
        zs.iter().enumerate().for_each(|(j, &v)| rows.push(None, Some(j), "zeroshot", v));
        if let Some(next) = &extra.next {
            let fwt = forward_transfer(rm, zs, next)?;
            let avg = fwt.iter().map(|&(_, v)| v).sum::<f64>() / fwt.len() as f64;
            fwt.iter().for_each(|&(stage, v)| rows.push(Some(stage), None, "FWT", v));
            rows.push(None, None, "FWT_avg", avg);
        }
    }
    if let Some(joint) = &extra.joint {
        rows.relative_gain(joint, "joint", "RG_joint")?;
    }
    Ok(rows.rows)
}

/// Every metric of one (order, method) run in long format: the R cells, the upper bounds, RG per stage and its
/// summary, FG per category, BWT and AP.
pub fn metric_rows(
    seed: u64,
    order: &str,
    method: &str,
    rm: &RMatrix,
    upbounds: &BTreeMap<String, f64>,
) -> Result<Vec<MetricRow>, MetricsError> {
    let n = rm.validate_multi_stage()?;
    let mut rows = Rows::new(seed, order, method, rm);
    for i in 0..n {
        for j in 0..=i {
            rows.push(Some(i + 1), Some(j), "R", rm.get(i, j)?);
        }
    }
    rows.relative_gain(upbounds, "upbound", "RG")?;
    forgetting_rates(rm)?.into_iter().for_each(|(j, v)| rows.push(None, Some(j), "FG", v));
    rows.push(None, None, "BWT", backward_transfer(rm)?);
    rows.push(None, None, "AP", average_performance(rm)?);
    Ok(rows.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// Three categories; hand-picked so every quotient is exact.
    ///   stage 1: A=40
    ///   stage 2: A=30 B=50
    ///   stage 3: A=20 B=45 C=60       upbounds A=50 B=60 C=80
    fn three_stage() -> (RMatrix, BTreeMap<String, f64>) {
        let rm = RMatrix {
            categories: vec!["A".into(), "B".into(), "C".into()],
            r: vec![vec![Some(40.0)], vec![Some(30.0), Some(50.0)], vec![Some(20.0), Some(45.0), Some(60.0)]],
        };
        let up = [("A", 50.0), ("B", 60.0), ("C", 80.0)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        (rm, up)
    }

    #[test]
    fn relative_gain_by_hand() {
        let (rm, up) = three_stage();
        let rg = relative_gain(&rm, &up).unwrap();
        // RG_2 = 30/50*100 = 60; RG_3 = (20/50*100 + 45/60*100) / 2 = (40 + 75) / 2 = 57.5
        assert_eq!(rg.len(), 2);
        assert_eq!(rg[0].0, 2);
        close(rg[0].1, 60.0);
        assert_eq!(rg[1].0, 3);
        close(rg[1].1, 57.5);
        let s = summarize_rg(&rg).unwrap();
        // mean 58.75; population std = |60 − 57.5| / 2 = 1.25 (the sample std would be 1.7678)
        close(s.avg, 58.75);
        close(s.std, 1.25);
        close(s.last, 57.5);
    }

    #[test]
    fn forgetting_bwt_ap_by_hand() {
        let (rm, _) = three_stage();
        let fg = forgetting_rates(&rm).unwrap();
        // FG_A = (40 − 20)/40 = 50 %; FG_B = (50 − 45)/50 = 10 %
        assert_eq!(fg.len(), 2);
        close(fg[0].1, 50.0);
        close(fg[1].1, 10.0);
        // BWT = ((20 − 40) + (45 − 50)) / 2 = −12.5; AP = (20 + 45 + 60) / 3 = 41.666…
        close(backward_transfer(&rm).unwrap(), -12.5);
        close(average_performance(&rm).unwrap(), 125.0 / 3.0);
    }

    #[test]
    fn negative_forgetting_when_a_category_improves() {
        let rm = RMatrix {
            categories: vec!["A".into(), "B".into()],
            r: vec![vec![Some(20.0), None], vec![Some(25.0), Some(10.0)]],
        };
        close(forgetting_rates(&rm).unwrap()[0].1, -25.0);
        close(backward_transfer(&rm).unwrap(), 5.0);
    }

    #[test]
    fn square_matrix_ignores_cells_past_the_diagonal() {
        let (mut rm, up) = three_stage();
        for row in &mut rm.r {
            row.resize(3, Some(99.0));
        }
        close(relative_gain(&rm, &up).unwrap()[1].1, 57.5);
        close(average_performance(&rm).unwrap(), 125.0 / 3.0);
    }

    #[test]
    fn long_rows_cover_every_metric() {
        let (rm, up) = three_stage();
        let rows = metric_rows(1, "curriculum", "inscl", &rm, &up).unwrap();
        let count = |m: &str| rows.iter().filter(|r| r.metric == m).count();
        assert_eq!(count("R"), 6);
        assert_eq!(count("upbound"), 3);
        assert_eq!(count("RG"), 2);
        assert_eq!(count("FG"), 2);
        for single in ["RG_avg", "RG_std", "RG_final", "BWT", "AP"] {
            assert_eq!(count(single), 1, "{single}");
        }
        assert!(rows.iter().all(|r| METRIC_NAMES.contains(&r.metric.as_str())));
        assert!(rows.iter().all(|r| r.order == "curriculum" && r.method == "inscl"));
        let find = |m: &str, stage: Option<usize>, cat: Option<&str>| {
            rows.iter().find(|r| r.metric == m && r.stage == stage && r.category.as_deref() == cat).unwrap().value
        };
        close(find("R", Some(3), Some("B")), 45.0);
        close(find("upbound", None, Some("C")), 80.0);
        close(find("RG", Some(3), None), 57.5);
        close(find("RG_final", None, None), 57.5);
        close(find("RG_std", None, None), 1.25);
        close(find("FG", None, Some("A")), 50.0);
        close(find("BWT", None, None), -12.5);
    }

    #[test]
    fn errors_name_the_cell() {
        let (mut rm, up) = three_stage();
        rm.r[2][1] = None;
        let err = relative_gain(&rm, &up).unwrap_err();
        assert_eq!(err, MetricsError::MissingCell { stage: 3, category: "B".into() });
        assert!(err.to_string().contains("R[stage 3][B]"), "{err}");

        let (mut rm, up) = three_stage();
        rm.r[1][0] = Some(f64::NAN);
        assert!(matches!(metric_rows(1, "o", "m", &rm, &up), Err(MetricsError::BadScore { stage: 2, .. })));

        let (mut rm, _) = three_stage();
        rm.r[1] = vec![Some(1.0)];
        assert_eq!(backward_transfer(&rm).unwrap_err(), MetricsError::ShortRow { stage: 2, len: 1 });

        let (mut rm, up) = three_stage();
        rm.r[0][0] = Some(0.0);
        let fg = forgetting_rates(&rm).unwrap();
        assert!(fg[0].1.is_nan() && fg[1].1.is_finite(), "nothing learned, FG undefined: {fg:?}");
        assert!(relative_gain(&rm, &up).is_ok(), "a zero score is fine where it is not a divisor");
    }

    #[test]
    fn errors_name_the_upbound_or_shape() {
        let (rm, mut up) = three_stage();
        up.insert("B".into(), -1.0);
        let err = relative_gain(&rm, &up).unwrap_err();
        assert_eq!(err, MetricsError::BadUpbound { category: "B".into(), value: -1.0 });
        assert!(err.to_string().contains("category B"), "{err}");
        // A zero upper bound leaves its category out of the mean: stage 3 averages over A only, and stage 2
        // (whose one earlier category is A) is unchanged.
        up.insert("B".into(), 0.0);
        let (rg_with, rg_without) = (relative_gain(&rm, &three_stage().1).unwrap(), relative_gain(&rm, &up).unwrap());
        assert_eq!(rg_with[0], rg_without[0]);
        let a_only = rm.get(2, 0).unwrap() / three_stage().1["A"] * 100.0;
        assert!((rg_without[1].1 - a_only).abs() < 1e-12, "{rg_without:?}");
        up.insert("A".into(), 0.0);
        let rg = relative_gain(&rm, &up).unwrap();
        assert!(rg.iter().all(|(_, v)| v.is_nan()), "{rg:?}");
        assert!(summarize_rg(&rg).unwrap().avg.is_nan());
        up.remove("B");
        assert_eq!(relative_gain(&rm, &up).unwrap_err(), MetricsError::MissingUpbound { category: "B".into() });

        let (mut rm, up) = three_stage();
        rm.r.pop();
        assert_eq!(relative_gain(&rm, &up).unwrap_err(), MetricsError::RowCount { rows: 2, categories: 3 });

        let one = RMatrix { categories: vec!["A".into()], r: vec![vec![Some(10.0)]] };
        assert_eq!(metric_rows(1, "o", "m", &one, &up).unwrap_err(), MetricsError::TooFewStages { stages: 1 });
        close(average_performance(&one).unwrap(), 10.0);

        let dup =
            RMatrix { categories: vec!["A".into(), "A".into()], r: vec![vec![Some(1.0)], vec![Some(1.0), Some(1.0)]] };
        assert_eq!(backward_transfer(&dup).unwrap_err(), MetricsError::DuplicateCategory { category: "A".into() });
    }

    #[test]
    fn forward_transfer_and_joint_by_hand() {
        let (rm, up) = three_stage();
        // zero-shot A=5 B=10 C=20; after stage 1 on B: 12, after stage 2 on C: 18.
        // FWT_2 = 12 − 10 = 2; FWT_3 = 18 − 20 = −2; mean 0.
        let zs = vec![5.0, 10.0, 20.0];
        let fwt = forward_transfer(&rm, &zs, &[12.0, 18.0]).unwrap();
        assert_eq!(fwt, vec![(2, 2.0), (3, -2.0)]);
        // Joint A=60 B=50 C=80: RG_joint_2 = 30/60·100 = 50; RG_joint_3 = (20/60 + 45/50)/2·100 = 61.666…
        let joint: BTreeMap<String, f64> = [("A", 60.0), ("B", 50.0), ("C", 80.0)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let extra = ExtraScores { zeroshot: Some(zs), next: Some(vec![12.0, 18.0]), joint: Some(joint) };
        let rows = extra_rows(2, "o", "m", &rm, &extra).unwrap();
        let find = |m: &str, stage: Option<usize>| rows.iter().find(|r| r.metric == m && r.stage == stage).unwrap().value;
        close(find("FWT_avg", None), 0.0);
        close(find("RG_joint", Some(2)), 50.0);
        close(find("RG_joint", Some(3)), (20.0 / 60.0 + 45.0 / 50.0) / 2.0 * 100.0);
        close(find("RG_joint_final", None), (20.0 / 60.0 + 45.0 / 50.0) / 2.0 * 100.0);
        assert_eq!(rows.iter().filter(|r| r.metric == "zeroshot").count(), 3);
        assert!(rows.iter().all(|r| r.seed == 2 && METRIC_NAMES.contains(&r.metric.as_str())));
        assert_eq!(
            forward_transfer(&rm, &[1.0, 2.0], &[1.0, 1.0]).unwrap_err(),
            MetricsError::ExtraLength { what: "zero-shot", expected: 3, got: 2 }
        );
        let e = forward_transfer(&rm, &[1.0, 2.0, 3.0], &[1.0, 101.0]).unwrap_err();
        assert!(e.to_string().contains("next-category score of category C is 101"), "{e}");
        let _ = up;
    }
}
