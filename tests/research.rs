//! The research-grade report end to end: a small synthetic pipeline with two seeds, `joint = true`, and the
//! `ewc` and `lwf` baselines beside none, random and inscl. Every number the report's CI, significance, joint,
//! zero-shot, flag and FWT sections print is recomputed here from `metrics.parquet` alone, with the closed
//! forms of two seeds (one degree of freedom): the 95 % half-width is `t · |a − b| / 2` with the table value
//! t(0.975, 1) = 12.7062, and the paired t-test's p-value is `1 − 2·atan(|t|)/π`.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const T_975_DF1: f64 = 12.706_204_736_174_707;
const ORDER: [&str; 3] = ["Classification", "Code", "Summarization"];
const METHODS: [&str; 5] = ["none", "random", "inscl", "ewc", "lwf"];

/// (seed, method, metric, stage, category) → value, from every metrics artifact of the store.
type Metrics = BTreeMap<(u64, String, String, Option<usize>, Option<String>), f64>;

fn read_metrics(store: &Path) -> Metrics {
    let mut out = Metrics::new();
    for dir in artifact_dirs(store, "metrics") {
        let file = std::fs::File::open(dir.join("metrics.parquet")).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        for batch in reader {
            let b = batch.unwrap();
            let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("metrics.parquet has no column {name}")).clone();
            let (seed, method, metric) = (col("seed"), col("method"), col("metric"));
            let (stage, category, value) = (col("stage"), col("category"), col("value"));
            let (seed, stage, value) = (seed.as_primitive::<Int64Type>(), stage.as_primitive::<Int64Type>(), value.as_primitive::<Float64Type>());
            let (method, metric, category) = (method.as_string::<i32>(), metric.as_string::<i32>(), category.as_string::<i32>());
            for i in 0..b.num_rows() {
                let key = (
                    seed.value(i) as u64,
                    method.value(i).to_string(),
                    metric.value(i).to_string(),
                    stage.is_valid(i).then(|| stage.value(i) as usize),
                    category.is_valid(i).then(|| category.value(i).to_string()),
                );
                assert!(out.insert(key.clone(), value.value(i)).is_none(), "{key:?} twice");
            }
        }
    }
    out
}

/// The rows of the Markdown tables under `heading` (up to the next heading of the same level), as trimmed cells.
fn table_rows(md: &str, heading: &str) -> Vec<Vec<String>> {
    let level = heading.split(' ').next().unwrap();
    let start = md.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no '{heading}' in the report:\n{md}"));
    let body = &md[start + heading.len() + 2..];
    let end = body.lines().position(|l| l.starts_with(&format!("{level} "))).unwrap_or(usize::MAX);
    body.lines()
        .take(end)
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], first: &[&str]) -> &'a [String] {
    rows.iter()
        .find(|r| r.len() >= first.len() && r.iter().zip(first).all(|(a, b)| a == b))
        .unwrap_or_else(|| panic!("no row starting {first:?} in {rows:#?}"))
}

/// "12.34 ± 0.56 †" → (12.34, Some(0.56)); "n/a" → NaN.
fn parse_ci(cell: &str) -> (f64, Option<f64>) {
    let cell = cell.trim_end_matches(['†', '‡', ' ']);
    if cell == "n/a" {
        return (f64::NAN, None);
    }
    match cell.split_once(" ± ") {
        Some((m, h)) => (m.parse().unwrap(), Some(h.parse().unwrap())),
        None => (cell.trim_start_matches('+').parse().unwrap_or_else(|_| panic!("'{cell}'")), None),
    }
}

/// The printed value agrees with `want` to its two decimals.
fn close(printed: f64, want: f64, what: &str) {
    assert!((printed.is_nan() && want.is_nan()) || (printed - want).abs() <= 0.0051, "{what}: report {printed}, metrics {want}");
}

/// Mean and two-seed 95 % half-width of `a`, `b`.
fn two_seed_ci(a: f64, b: f64) -> (f64, f64) {
    ((a + b) / 2.0, T_975_DF1 * (a - b).abs() / 2.0)
}

fn check_ci(cell: &str, a: f64, b: f64, what: &str) {
    let (mean, half) = parse_ci(cell);
    let (want_mean, want_half) = two_seed_ci(a, b);
    close(mean, want_mean, what);
    if want_mean.is_finite() {
        close(half.unwrap_or_else(|| panic!("{what}: '{cell}' has no interval")), want_half, what);
    }
}

#[test]
fn seeded_report_matches_metrics_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let cfg = tmp.path().join("synth.toml");
    std::fs::write(&cfg, "seed = 1\ninstances_per_task = 24\n").unwrap();
    assert!(run(&store, &["synth", "--config", cfg.to_str().unwrap(), "--out", tmp.path().join("data").to_str().unwrap()]).status.success());
    let body = tiny_pipeline_toml("research", &ORDER)
        .replacen("methods = [\"none\", \"random\", \"inscl\"]", "methods = [\"none\", \"random\", \"inscl\", \"ewc\", \"lwf\"]\nseeds = [1, 2]\njoint = true", 1)
        // A model that learns enough in a few seconds for the bounds and RG to be numbers, not all n/a.
        .replacen("epochs = 1\n", "epochs = 24\n", 1)
        .replacen("alpha = 4\n", "alpha = 12\n", 1)
        .replacen("hidden_size = 32\n", "hidden_size = 64\n", 1)
        .replacen("layers = 1\n", "layers = 2\n", 1)
        .replacen("intermediate_size = 64\n", "intermediate_size = 128\n", 1)
        + "[ewc]\nlambda = 1000.0\n[lwf]\ntemperature = 2.0\nweight = 1.0\n";
    let p = tmp.path().join("research.toml");
    std::fs::write(&p, body).unwrap();
    let p = p.to_str().unwrap();
    let out = run(&store, &["run", p]);
    assert!(out.status.success(), "{}", text(&out));
    let report_dir = tmp.path().join("report");
    assert!(run(&store, &["report", p, "--out", report_dir.to_str().unwrap()]).status.success());
    let md = std::fs::read_to_string(report_dir.join("research/report.md")).unwrap();

    if let Some(out) = std::env::var_os("INSCL_REPORT_OUT") {
        std::fs::write(Path::new(&out).join("research-report.md"), &md).unwrap();
    }
    let m = read_metrics(&store);
    let seeds: BTreeSet<u64> = m.keys().map(|k| k.0).collect();
    assert_eq!(seeds, BTreeSet::from([1, 2]), "metrics.parquet's seed column");
    let get = |seed: u64, method: &str, metric: &str, stage: Option<usize>, category: Option<&str>| -> f64 {
        let key = (seed, method.to_string(), metric.to_string(), stage, category.map(str::to_string));
        *m.get(&key).unwrap_or_else(|| panic!("metrics.parquet has no {key:?}"))
    };
    let both = |method: &str, metric: &str, stage: Option<usize>, category: Option<&str>| {
        (get(1, method, metric, stage, category), get(2, method, metric, stage, category))
    };

    // Flags, from the parquet alone: a bound under 1 point or below zero-shot in either seed.
    let flagged = |bound: &str, cat: &str| {
        [1, 2].iter().any(|&s| {
            let (b, z) = (get(s, "none", bound, None, Some(cat)), get(s, "none", "zeroshot", None, Some(cat)));
            b < 1.0 || b < z
        })
    };
    // Final and AVG RG divide by the bounds of the first two categories.
    let marked = ORDER[..2].iter().any(|c| flagged("upbound", c));

    // The run must exercise the statistics on numbers, not only on undefined values.
    let finite = METHODS.iter().filter(|&&me| [1, 2].iter().all(|&s| get(s, me, "RG_final", None, None).is_finite())).count();
    assert!(finite >= 3, "only {finite} methods have a final RG in both seeds:\n{md}");

    // CI section: the main table, every method, mean ± the two-seed half-width.
    let main = table_rows(&md, "## Relative Gain");
    assert!(md.contains("mean over the 2 seeds (1, 2) ± the half-width of its 95 % t-interval"), "{md}");
    for method in METHODS {
        let r = row(&main, &["c", method]);
        for (k, metric) in ["RG_final", "RG_avg", "RG_std", "BWT", "AP"].into_iter().enumerate() {
            let (a, b) = both(method, metric, None, None);
            check_ci(&r[2 + k], a, b, &format!("{method} {metric}"));
        }
        assert_eq!(r[2].ends_with('†'), marked, "{method}: the final RG mark follows the flags: {r:?}");
    }

    // Significance: InsCL minus each baseline, the paired t-test over the two seeds.
    assert!(md.contains("paired t-test over 2 seeds (df 1)"), "{md}");
    let sig = table_rows(&md, "## Significance");
    for base in METHODS.iter().filter(|&&b| b != "inscl") {
        let r = row(&sig, &["c", &format!("`{base}`")]);
        for (k, metric) in ["RG_final", "RG_avg"].into_iter().enumerate() {
            let d: Vec<f64> = [1, 2].iter().map(|&s| get(s, "inscl", metric, None, None) - get(s, base, metric, None, None)).collect();
            let (mean, half) = two_seed_ci(d[0], d[1]);
            let se = (d[0] - d[1]).abs() / 2.0;
            let p = if se == 0.0 { if mean == 0.0 { 1.0 } else { 0.0 } } else { 1.0 - 2.0 * (mean / se).abs().atan() / std::f64::consts::PI };
            let what = format!("inscl − {base} {metric}");
            close(parse_ci(&r[2 + 3 * k]).0, mean, &what);
            let (lo, hi) = r[3 + 3 * k].trim_matches(['[', ']']).split_once(", ").unwrap();
            close(lo.parse().unwrap(), mean - half, &what);
            close(hi.parse().unwrap(), mean + half, &what);
            let printed_p: f64 = r[4 + 3 * k].trim_start_matches("< ").parse().unwrap();
            assert!((printed_p - p).abs() <= 0.00006 || (p < 1e-4 && r[4 + 3 * k].starts_with('<')), "{what}: p {printed_p} vs {p}");
        }
    }

    // Zero-shot and flags: the experts' table.
    let ups = table_rows(&md, "## Expert upper bounds");
    for cat in ORDER {
        let r = row(&ups, &[cat]);
        let (u1, u2) = both("none", "upbound", None, Some(cat));
        close(parse_ci(&r[1]).0, (u1 + u2) / 2.0, &format!("{cat} upbound"));
        let (z1, z2) = both("none", "zeroshot", None, Some(cat));
        close(parse_ci(&r[2]).0, (z1 + z2) / 2.0, &format!("{cat} zero-shot"));
        assert_eq!(r[3].starts_with('⚠'), flagged("upbound", cat), "{cat}: {r:?}");
    }

    // Joint: the joint model's scores beside the experts', and RG against each side by side.
    let joint_section = &md[md.find("\n## Joint upper bound\n").expect("a joint section")..];
    let joint = table_rows(joint_section, "### Order c");
    for cat in ORDER {
        let r = row(&joint, &[cat]);
        let (j1, j2) = both("none", "joint", None, Some(cat));
        close(parse_ci(&r[1]).0, (j1 + j2) / 2.0, &format!("{cat} joint"));
        assert_eq!(r[4].starts_with('⚠'), flagged("joint", cat), "{cat}: {r:?}");
    }
    for method in METHODS {
        let r = row(&joint, &[method]);
        for (k, metric) in ["RG_final", "RG_joint_final", "RG_avg", "RG_joint_avg"].into_iter().enumerate() {
            let (a, b) = both(method, metric, None, None);
            check_ci(&r[1 + k], a, b, &format!("{method} {metric}"));
        }
    }

    // FWT: R[i−1][i] − R[0][i] per stage (means) and its mean over stages (± CI).
    let fwt_section = &md[md.find("\n## Forward transfer\n").expect("an FWT section")..];
    let fwt = table_rows(fwt_section, "### Order c");
    for method in METHODS {
        let r = row(&fwt, &[method]);
        let (a, b) = both(method, "FWT_avg", None, None);
        check_ci(&r[1], a, b, &format!("{method} FWT_avg"));
        for stage in 2..=3 {
            let (a, b) = both(method, "FWT", Some(stage), None);
            close(parse_ci(&r[stage]).0, (a + b) / 2.0, &format!("{method} FWT_{stage}"));
        }
        // FWT_2 is the shared stage-1 model on Code against the base model: the same for every method.
        let r_next = get(1, method, "FWT", Some(2), None) + get(1, method, "zeroshot", None, Some("Code"));
        assert!((r_next - (get(1, "none", "FWT", Some(2), None) + get(1, "none", "zeroshot", None, Some("Code")))).abs() < 1e-9);
    }

    // EWC and LwF trained weights of their own from stage 2 on, from the shared stage 1.
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join("runs/research.json")).unwrap()).unwrap();
    let content = |id: &str| record["entries"][id]["content"].as_str().unwrap_or_else(|| panic!("no entry {id}")).to_string();
    for seed in [1, 2] {
        let none = content(&format!("finetune/seed{seed}/c/none/2"));
        for method in ["ewc", "lwf"] {
            assert_ne!(content(&format!("finetune/seed{seed}/c/{method}/2")), none, "{method} seed {seed}");
        }
    }
    assert_ne!(content("finetune/seed1/single/Classification"), content("finetune/seed2/single/Classification"));
    assert_eq!(std::fs::read_dir(report_dir.join("research")).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "png")).count() >= 3, true);
}
