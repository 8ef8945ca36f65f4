//! The pipeline's report, in the InsCL paper's terms: for every training order and replay method, the final,
//! average and standard deviation of **Relative Gain** (the score after each stage on the categories learned
//! before it, relative to each category's expert, ×100), InsCL's gain over Random Replay and No Replay, the
//! per-category **forgetting rate**, BWT and AP — written as `report.md` plus PNG plots (RG per stage, the R
//! matrix as a heatmap, forgetting per category).
//!
//! Every number comes from the long-format metric rows of `inscl_evaluate::metrics` (the content of
//! `metrics.parquet`); the report computes nothing from raw scores, so each figure traces back to the artifact
//! keys it lists. [`render_report`] returns the files in memory; the caller writes them.

mod collect;
mod flags;
mod stats;
mod markdown;
mod plot;

pub use inscl_evaluate::metrics::MetricRow;

/// The method keys the paper's headline compares (pipeline `methods` names).
pub const INSCL: &str = "inscl";
pub const RANDOM_REPLAY: &str = "random";
pub const NO_REPLAY: &str = "none";

/// How the pipeline parameters are written, for the code fence that shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamsFormat {
    Toml,
    Json,
}

/// An input artifact the numbers come from, listed at the end of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    /// What it is to a reader, e.g. "metrics" or "evaluate curriculum/inscl stage 3".
    pub label: String,
    pub stage: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct ReportInput {
    pub pipeline: String,
    /// Shown verbatim.
    pub params: String,
    pub params_format: ParamsFormat,
    /// The only source of numbers; see [`inscl_evaluate::metrics::metric_rows`] for what one run needs.
    pub rows: Vec<MetricRow>,
    pub artifacts: Vec<ArtifactRef>,
}

/// `(path relative to the report folder, bytes)`: `report.md` first, then the PNGs it links.
pub type ReportFiles = Vec<(String, Vec<u8>)>;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no metric rows to report")]
    NoRows,
    #[error("metric row {index} (order {order}, method {method}, metric {metric}): {problem}")]
    BadRow { index: usize, order: String, method: String, metric: String, problem: String },
    #[error("order {order}, method {method}: {what} is missing from the metric rows")]
    Missing { order: String, method: String, what: String },
    #[error("order {order}, method {method}: {problem}")]
    BadRun { order: String, method: String, problem: String },
    #[error("order {order}: method {method} learns {found:?} but method {first_method} learns {expected:?}")]
    InconsistentOrder { order: String, method: String, found: Vec<String>, first_method: String, expected: Vec<String> },
    /// A score every run of a seed shares (the expert's, the base model's) differs between two runs.
    #[error("category {category}, seed {seed}: {what} {first} in one run but {second} in order {order}, method {method}")]
    InconsistentUpbound { category: String, seed: u64, what: &'static str, first: f64, second: f64, order: String, method: String },
    #[error("plot file name {file} would be written twice: rename an order or method ({names})")]
    FileNameClash { file: String, names: String },
    #[error("the embedded Noto Sans font could not be registered with plotters")]
    Font,
    #[error("drawing {file}: {message}")]
    Plot { file: String, message: String },
    #[error("encoding {file} as PNG: {source}")]
    Png { file: String, source: png::EncodingError },
}

/// Renders `report.md` and its PNGs from the metric rows.
pub fn render_report(input: &ReportInput) -> Result<ReportFiles, ReportError> {
    let runs = collect::collect(&input.rows)?;
    let plots = plot::plan(&runs)?;
    let mut files = vec![("report.md".to_string(), markdown::render(input, &runs, &plots).into_bytes())];
    for planned in &plots.files {
        files.push((planned.file.clone(), plot::draw(&runs, &plots, planned)?));
    }
    Ok(files)
}
