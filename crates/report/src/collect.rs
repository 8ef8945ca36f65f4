//! Regroups long-format metric rows into one record per (order, method) run, checking that every number the
//! report shows is present exactly once.

use std::collections::{BTreeMap, HashMap};

use crate::{MetricRow, ReportError};

/// One (order, method) run. Category indices follow the order's training sequence.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub method: String,
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
}

#[derive(Debug, Clone)]
pub(crate) struct OrderRuns {
    pub name: String,
    pub categories: Vec<String>,
    pub runs: Vec<Run>,
}

impl OrderRuns {
    pub fn run(&self, method: &str) -> Option<&Run> {
        self.runs.iter().find(|run| run.method == method)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Runs {
    pub orders: Vec<OrderRuns>,
    /// Expert score per category, in order of first appearance.
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
    order: String,
    method: String,
    cells: Cells,
}

pub(crate) fn collect(rows: &[MetricRow]) -> Result<Runs, ReportError> {
    if rows.is_empty() {
        return Err(ReportError::NoRows);
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut index_of: HashMap<(&str, &str), usize> = HashMap::new();
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
        let may_be_undefined = matches!(row.metric.as_str(), "RG" | "RG_avg" | "RG_std" | "RG_final" | "FG");
        if !row.value.is_finite() && !(row.value.is_nan() && may_be_undefined) {
            return Err(bad("the value is not finite"));
        }
        let g = *index_of.entry((row.order.as_str(), row.method.as_str())).or_insert_with(|| {
            groups.push(Group { order: row.order.clone(), method: row.method.clone(), cells: Cells::new() });
            groups.len() - 1
        });
        let key = (row.metric.clone(), row.stage, row.category.clone());
        if groups[g].cells.insert(key, row.value).is_some() {
            return Err(bad("the same stage and category appear twice"));
        }
    }

    let mut orders: Vec<OrderRuns> = Vec::new();
    let mut upbounds: Vec<(String, f64, String, String)> = Vec::new();
    for group in &groups {
        let categories = categories_of(group)?;
        let run = run_of(group, &categories)?;
        for category in &categories {
            let value = get(group, "upbound", None, Some(category))?;
            match upbounds.iter().find(|(c, ..)| c == category) {
                Some((_, first, ..)) if (first - value).abs() > 1e-9 => {
                    return Err(ReportError::InconsistentUpbound {
                        category: category.clone(),
                        first: *first,
                        second: value,
                        order: group.order.clone(),
                        method: group.method.clone(),
                    });
                }
                Some(_) => {}
                None => upbounds.push((category.clone(), value, group.order.clone(), group.method.clone())),
            }
        }
        match orders.iter_mut().find(|o| o.name == group.order) {
            Some(existing) if existing.categories != categories => {
                return Err(ReportError::InconsistentOrder {
                    order: group.order.clone(),
                    method: group.method.clone(),
                    found: categories,
                    first_method: existing.runs[0].method.clone(),
                    expected: existing.categories.clone(),
                });
            }
            Some(existing) => existing.runs.push(run),
            None => orders.push(OrderRuns { name: group.order.clone(), categories, runs: vec![run] }),
        }
    }
    Ok(Runs { orders, upbounds: upbounds.into_iter().map(|(c, v, ..)| (c, v)).collect() })
}

/// Which of stage and category a metric carries, as `metric_rows` writes them.
fn check_shape(row: &MetricRow) -> Result<(), &'static str> {
    let (stage, category) = match row.metric.as_str() {
        "R" => (true, true),
        "RG" => (true, false),
        "upbound" | "FG" => (false, true),
        "RG_avg" | "RG_std" | "RG_final" | "BWT" | "AP" => (false, false),
        _ => return Err("unknown metric (expected R, upbound, RG, RG_avg, RG_std, RG_final, FG, BWT or AP)"),
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
            ("RG", Some(s), None) => *s < 2 || *s > n || category.is_some(),
            ("FG", None, Some(j)) => j + 1 == n,
            ("upbound", None, Some(_)) => false,
            ("RG_avg" | "RG_std" | "RG_final" | "BWT" | "AP", None, None) => category.is_some(),
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
    Ok(Run {
        method: group.method.clone(),
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
