//! Regroups long-format metric rows into one record per (seed, order, method) run, checking that every number
//! the report shows is present exactly once, and averages each (order, method) over its seeds.

use std::collections::{BTreeMap, HashMap};

use crate::{MetricRow, ReportError};

/// One (seed, order, method) run, or (in [`OrderRuns::runs`]) the mean of its seeds. Category indices follow
/// the order's training sequence.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub method: String,
    /// The replicate's seed (the first seed for a mean).
    pub seed: u64,
    /// `r[i][j]`, 0-based stage and category, `j ≤ i`.
    pub r: Vec<Vec<f64>>,
    /// RG of stages `2..=n`, in stage order.
    pub rg: Vec<f64>,
    pub rg_avg: f64,
    pub rg_std: f64,
    pub rg_final: f64,
    /// FG of categories `0..n-1` (the last category is never revisited).
    pub fg: Vec<f64>,
    pub bwt: f64,
    pub ap: f64,
    /// The experts' scores of the order's categories.
    pub upbound: Vec<f64>,
    /// R[0][j], the base model, when the rows have it.
    pub zeroshot: Option<Vec<f64>>,
    /// FWT of stages `2..=n` and their mean.
    pub fwt: Option<(Vec<f64>, f64)>,
    /// The joint model's scores of the order's categories, when the pipeline trained one.
    pub joint: Option<Vec<f64>>,
    /// RG against the joint model per stage `2..=n`, and its (avg, std, final).
    pub rg_joint: Option<(Vec<f64>, [f64; 3])>,
}

#[derive(Debug, Clone)]
pub(crate) struct OrderRuns {
    pub name: String,
    pub categories: Vec<String>,
    /// Per method, the mean over its seeds.
    pub runs: Vec<Run>,
    /// Per method (as `runs`), each seed's run, in seed order.
    pub seeds: Vec<Vec<Run>>,
}

impl OrderRuns {
    pub fn run(&self, method: &str) -> Option<&Run> {
        self.runs.iter().find(|run| run.method == method)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Runs {
    pub orders: Vec<OrderRuns>,
    /// The seeds every run has, ascending.
    pub seeds: Vec<u64>,
    /// Expert score per category (mean over seeds), in order of first appearance.
    pub upbounds: Vec<(String, f64)>,
}

impl Runs {
    /// Methods in order of first appearance across all orders.
    pub fn methods(&self) -> Vec<String> {
        let mut methods: Vec<String> = Vec::new();
        for run in self.orders.iter().flat_map(|o| &o.runs) {
            if !methods.contains(&run.method) {
                methods.push(run.method.clone());
            }
        }
        methods
    }
}

/// The rows of one run, keyed by (metric, stage, category).
type Cells = BTreeMap<(String, Option<usize>, Option<String>), f64>;

struct Group {
    seed: u64,
    order: String,
    method: String,
    cells: Cells,
}

pub(crate) fn collect(rows: &[MetricRow]) -> Result<Runs, ReportError> {
    if rows.is_empty() {
        return Err(ReportError::NoRows);
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut index_of: HashMap<(u64, &str, &str), usize> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let bad = |problem: &str| ReportError::BadRow {
            index,
            order: row.order.clone(),
            method: row.method.clone(),
            metric: row.metric.clone(),
            problem: problem.to_string(),
        };
        check_shape(row).map_err(bad)?;
        // RG and FG are NaN where undefined (a zero upper bound or a zero score right after learning).
        let may_be_undefined = matches!(
            row.metric.as_str(),
            "RG" | "RG_avg" | "RG_std" | "RG_final" | "FG" | "RG_joint" | "RG_joint_avg" | "RG_joint_std" | "RG_joint_final"
        );
        if !row.value.is_finite() && !(row.value.is_nan() && may_be_undefined) {
            return Err(bad("the value is not finite"));
        }
        let g = *index_of.entry((row.seed, row.order.as_str(), row.method.as_str())).or_insert_with(|| {
            groups.push(Group { seed: row.seed, order: row.order.clone(), method: row.method.clone(), cells: Cells::new() });
            groups.len() - 1
        });
        let key = (row.metric.clone(), row.stage, row.category.clone());
        if groups[g].cells.insert(key, row.value).is_some() {
            return Err(bad("the same stage and category appear twice"));
        }
    }

    let mut seeds: Vec<u64> = groups.iter().map(|g| g.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    // Per order: its categories and, per method, the runs by seed.
    let mut orders: Vec<(String, Vec<String>, Vec<(String, Vec<Run>)>)> = Vec::new();
    // The experts and the base model are shared by every run of a seed: (seed, category) → (value, where).
    let mut shared: BTreeMap<(u64, &str, String), (f64, String, String)> = BTreeMap::new();
    for group in &groups {
        let categories = categories_of(group)?;
        let run = run_of(group, &categories)?;
        let mut check = |what: &'static str, values: &[f64]| -> Result<(), ReportError> {
            for (category, &value) in categories.iter().zip(values) {
                match shared.get(&(group.seed, what, category.clone())) {
                    Some((first, ..)) if (first - value).abs() > 1e-9 => {
                        return Err(ReportError::InconsistentUpbound {
                            category: category.clone(),
                            seed: group.seed,
                            what,
                            first: *first,
                            second: value,
                            order: group.order.clone(),
                            method: group.method.clone(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        shared.insert((group.seed, what, category.clone()), (value, group.order.clone(), group.method.clone()));
                    }
                }
            }
            Ok(())
        };
        check("upper bound", &run.upbound)?;
        if let Some(zs) = &run.zeroshot {
            check("zero-shot score", zs)?;
        }
        match orders.iter_mut().find(|o| o.0 == group.order) {
            Some(existing) if existing.1 != categories => {
                return Err(ReportError::InconsistentOrder {
                    order: group.order.clone(),
                    method: group.method.clone(),
                    found: categories,
                    first_method: existing.2[0].0.clone(),
                    expected: existing.1.clone(),
                });
            }
            Some(existing) => match existing.2.iter_mut().find(|(m, _)| *m == group.method) {
                Some((_, runs)) => runs.push(run),
                None => existing.2.push((group.method.clone(), vec![run])),
            },
            None => orders.push((group.order.clone(), categories, vec![(group.method.clone(), vec![run])])),
        }
    }
    let mut upbounds: Vec<(String, f64)> = Vec::new();
    let mut out = Vec::new();
    for (name, categories, methods) in orders {
        let (mut runs, mut by_seed) = (Vec::new(), Vec::new());
        for (method, mut per_seed) in methods {
            per_seed.sort_by_key(|r| r.seed);
            let have: Vec<u64> = per_seed.iter().map(|r| r.seed).collect();
            if have != seeds {
                let problem = format!("has seeds {have:?} but the rows have seeds {seeds:?}: every run needs every seed");
                return Err(ReportError::BadRun { order: name.clone(), method, problem });
            }
            let mean = mean_run(&per_seed);
            for (category, &v) in categories.iter().zip(&mean.upbound) {
                if !upbounds.iter().any(|(c, _)| c == category) {
                    upbounds.push((category.clone(), v));
                }
            }
            runs.push(mean);
            by_seed.push(per_seed);
        }
        out.push(OrderRuns { name, categories, runs, seeds: by_seed });
    }
    Ok(Runs { orders: out, seeds, upbounds })
}

/// The mean over seeds of every number of a run (NaN seeds left out; NaN if no seed has the number).
fn mean_run(runs: &[Run]) -> Run {
    let mean = |f: &dyn Fn(&Run) -> f64| {
        let v: Vec<f64> = runs.iter().map(f).filter(|x| x.is_finite()).collect();
        if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
    };
    let first = &runs[0];
    let vec_mean = |len: usize, f: &dyn Fn(&Run, usize) -> f64| (0..len).map(|k| mean(&|r| f(r, k))).collect::<Vec<f64>>();
    let n = first.r.len();
    Run {
        method: first.method.clone(),
        seed: first.seed,
        r: (0..n).map(|i| vec_mean(i + 1, &|r, j| r.r[i][j])).collect(),
        rg: vec_mean(first.rg.len(), &|r, k| r.rg[k]),
        rg_avg: mean(&|r| r.rg_avg),
        rg_std: mean(&|r| r.rg_std),
        rg_final: mean(&|r| r.rg_final),
        fg: vec_mean(first.fg.len(), &|r, k| r.fg[k]),
        bwt: mean(&|r| r.bwt),
        ap: mean(&|r| r.ap),
        upbound: vec_mean(n, &|r, j| r.upbound[j]),
        zeroshot: first.zeroshot.as_ref().map(|_| vec_mean(n, &|r, j| r.zeroshot.as_ref().map_or(f64::NAN, |z| z[j]))),
        fwt: first.fwt.as_ref().map(|(v, _)| {
            (vec_mean(v.len(), &|r, k| r.fwt.as_ref().map_or(f64::NAN, |f| f.0[k])), mean(&|r| r.fwt.as_ref().map_or(f64::NAN, |f| f.1)))
        }),
        joint: first.joint.as_ref().map(|_| vec_mean(n, &|r, j| r.joint.as_ref().map_or(f64::NAN, |z| z[j]))),
        rg_joint: first.rg_joint.as_ref().map(|(v, _)| {
            let g = |k: usize| mean(&|r| r.rg_joint.as_ref().map_or(f64::NAN, |x| x.1[k]));
            (vec_mean(v.len(), &|r, k| r.rg_joint.as_ref().map_or(f64::NAN, |x| x.0[k])), [g(0), g(1), g(2)])
        }),
    }
}

/// Which of stage and category a metric carries, as `metric_rows` writes them.
fn check_shape(row: &MetricRow) -> Result<(), &'static str> {
    let (stage, category) = match row.metric.as_str() {
        "R" => (true, true),
        "RG" | "FWT" | "RG_joint" => (true, false),
        "upbound" | "FG" | "zeroshot" | "joint" => (false, true),
        "RG_avg" | "RG_std" | "RG_final" | "BWT" | "AP" | "FWT_avg" | "RG_joint_avg" | "RG_joint_std" | "RG_joint_final" => {
            (false, false)
        }
        _ => {
            return Err("unknown metric (expected one of R, upbound, RG, RG_avg, RG_std, RG_final, FG, BWT, AP, \
                        zeroshot, FWT, FWT_avg, joint, RG_joint, RG_joint_avg, RG_joint_std, RG_joint_final)");
        }
    };
    match (row.stage, &row.category) {
        (Some(0), _) => Err("stages are 1-based; stage 0 does not exist"),
        (s, _) if s.is_some() != stage => {
            Err(if stage { "this metric needs a stage" } else { "this metric takes no stage" })
        }
        (_, c) if c.is_some() != category => {
            Err(if category { "this metric needs a category" } else { "this metric takes no category" })
        }
        _ => Ok(()),
    }
}

/// The order's categories: the one first scored at stage `s` is the one stage `s` learned.
fn categories_of(group: &Group) -> Result<Vec<String>, ReportError> {
    let bad =
        |problem: String| ReportError::BadRun { order: group.order.clone(), method: group.method.clone(), problem };
    let mut first_stage: BTreeMap<&str, usize> = BTreeMap::new();
    for (metric, stage, category) in group.cells.keys() {
        if let ("R", Some(stage), Some(category)) = (metric.as_str(), stage, category) {
            let first = first_stage.entry(category).or_insert(*stage);
            *first = (*first).min(*stage);
        }
    }
    if first_stage.is_empty() {
        return Err(ReportError::Missing {
            order: group.order.clone(),
            method: group.method.clone(),
            what: "R".into(),
        });
    }
    let mut by_stage: Vec<(usize, &str)> = first_stage.into_iter().map(|(c, s)| (s, c)).collect();
    by_stage.sort();
    for (expected, (stage, category)) in by_stage.iter().enumerate() {
        if *stage != expected + 1 {
            return Err(bad(format!(
                "category {category} is first scored at stage {stage}, but stage {} is the first stage no earlier \
                 category explains: each stage must add exactly one category",
                expected + 1
            )));
        }
    }
    Ok(by_stage.into_iter().map(|(_, c)| c.to_string()).collect())
}

fn get(group: &Group, metric: &str, stage: Option<usize>, category: Option<&String>) -> Result<f64, ReportError> {
    let key = (metric.to_string(), stage, category.cloned());
    group.cells.get(&key).copied().ok_or_else(|| {
        let mut what = metric.to_string();
        if let Some(stage) = stage {
            what += &format!(" at stage {stage}");
        }
        if let Some(category) = category {
            what += &format!(" for category {category}");
        }
        ReportError::Missing { order: group.order.clone(), method: group.method.clone(), what }
    })
}

fn run_of(group: &Group, categories: &[String]) -> Result<Run, ReportError> {
    let n = categories.len();
    if n < 2 {
        return Err(ReportError::BadRun {
            order: group.order.clone(),
            method: group.method.clone(),
            problem: "only one stage: Relative Gain needs at least two".into(),
        });
    }
    // metric_rows writes exactly the rows read below; anything else (a stage past n, a category outside the
    // order) is a sign the rows were mixed up, so it is named rather than ignored.
    let position = |c: &Option<String>| c.as_ref().and_then(|c| categories.iter().position(|k| k == c));
    let stray =
        group.cells.keys().find(|(metric, stage, category)| match (metric.as_str(), stage, position(category)) {
            ("R", Some(s), Some(j)) => *s > n || j >= *s,
            ("RG" | "FWT" | "RG_joint", Some(s), None) => *s < 2 || *s > n || category.is_some(),
            ("FG", None, Some(j)) => j + 1 == n,
            ("upbound" | "zeroshot" | "joint", None, Some(_)) => false,
            ("RG_avg" | "RG_std" | "RG_final" | "BWT" | "AP" | "FWT_avg" | "RG_joint_avg" | "RG_joint_std" | "RG_joint_final", None, None) => {
                category.is_some()
            }
            _ => true,
        });
    if let Some((metric, stage, category)) = stray {
        let problem = format!(
            "unexpected {metric} row (stage {}, category {}) for an order of {n} categories {categories:?}",
            stage.map_or("none".into(), |s| s.to_string()),
            category.as_deref().unwrap_or("none")
        );
        return Err(ReportError::BadRun { order: group.order.clone(), method: group.method.clone(), problem });
    }
    let r = (0..n)
        .map(|i| (0..=i).map(|j| get(group, "R", Some(i + 1), Some(&categories[j]))).collect())
        .collect::<Result<Vec<Vec<f64>>, _>>()?;
    // The optional metrics come whole or not at all: a partial set is a sign of mixed-up rows.
    let has = |metric: &str| group.cells.keys().any(|(m, ..)| m == metric);
    let per_category = |metric: &str| -> Result<Option<Vec<f64>>, ReportError> {
        if !has(metric) {
            return Ok(None);
        }
        categories.iter().map(|c| get(group, metric, None, Some(c))).collect::<Result<Vec<f64>, _>>().map(Some)
    };
    let per_stage = |metric: &str| (2..=n).map(|stage| get(group, metric, Some(stage), None)).collect::<Result<Vec<f64>, _>>();
    let fwt = if has("FWT") || has("FWT_avg") { Some((per_stage("FWT")?, get(group, "FWT_avg", None, None)?)) } else { None };
    let rg_joint = if has("RG_joint") || has("RG_joint_avg") {
        let s = |m: &str| get(group, m, None, None);
        Some((per_stage("RG_joint")?, [s("RG_joint_avg")?, s("RG_joint_std")?, s("RG_joint_final")?]))
    } else {
        None
    };
    Ok(Run {
        method: group.method.clone(),
        seed: group.seed,
        upbound: categories.iter().map(|c| get(group, "upbound", None, Some(c))).collect::<Result<_, _>>()?,
        zeroshot: per_category("zeroshot")?,
        fwt,
        joint: per_category("joint")?,
        rg_joint,
        r,
        rg: (2..=n).map(|stage| get(group, "RG", Some(stage), None)).collect::<Result<_, _>>()?,
        rg_avg: get(group, "RG_avg", None, None)?,
        rg_std: get(group, "RG_std", None, None)?,
        rg_final: get(group, "RG_final", None, None)?,
        fg: categories[..n - 1].iter().map(|c| get(group, "FG", None, Some(c))).collect::<Result<_, _>>()?,
        bwt: get(group, "BWT", None, None)?,
        ap: get(group, "AP", None, None)?,
    })
}
