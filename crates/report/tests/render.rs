//! Renders a hand-made metric set (2 orders × 3 methods × 4 categories) and checks the report's numbers
//! against values worked out by hand, and that every PNG decodes at its planned size.
//!
//! Set `INSCL_REPORT_OUT=/some/dir` to also write the files there for viewing.

use std::collections::BTreeMap;

use inscl_evaluate::metrics::{MetricRow, RMatrix, metric_rows};
use inscl_report::{ArtifactRef, ParamsFormat, ReportError, ReportInput, render_report};

/// Expert scores: A=50, B=40, C=80, D=60, chosen so every R / upbound below is a round percentage.
fn upbounds() -> BTreeMap<String, f64> {
    [("A", 50.0), ("B", 40.0), ("C", 80.0), ("D", 60.0)].into_iter().map(|(c, v)| (c.to_string(), v)).collect()
}

fn matrix(categories: &[&str], rows: &[&[f64]]) -> RMatrix {
    RMatrix {
        categories: categories.iter().map(|c| c.to_string()).collect(),
        r: rows.iter().map(|row| row.iter().map(|&v| Some(v)).collect()).collect(),
    }
}

/// Per order, the R matrices of none, random and inscl. RG per stage, worked by hand:
/// forward  (A B C D): none 50, 45, 33.33 · random 80, 75, 70 · inscl 90, 85, 80
/// backward (D C B A): none 50, 35, 20    · random 80, 72.5, 63.33 · inscl 90, 80, 71.67
fn hand_made_rows() -> Vec<MetricRow> {
    let forward = ["A", "B", "C", "D"];
    let backward = ["D", "C", "B", "A"];
    type Run<'a> = (&'a str, &'a [&'a str], &'a str, &'a [&'a [f64]]);
    let runs: [Run; 6] = [
        ("forward", &forward, "none", &[&[50.0], &[25.0, 40.0], &[20.0, 20.0, 80.0], &[10.0, 12.0, 40.0, 60.0]]),
        ("forward", &forward, "random", &[&[50.0], &[40.0, 40.0], &[35.0, 32.0, 80.0], &[30.0, 28.0, 64.0, 60.0]]),
        ("forward", &forward, "inscl", &[&[50.0], &[45.0, 40.0], &[40.0, 36.0, 80.0], &[35.0, 32.0, 72.0, 60.0]]),
        ("backward", &backward, "none", &[&[60.0], &[30.0, 80.0], &[18.0, 32.0, 40.0], &[12.0, 16.0, 8.0, 50.0]]),
        ("backward", &backward, "random", &[&[60.0], &[48.0, 80.0], &[42.0, 60.0, 40.0], &[36.0, 48.0, 28.0, 50.0]]),
        ("backward", &backward, "inscl", &[&[60.0], &[54.0, 80.0], &[48.0, 64.0, 40.0], &[42.0, 56.0, 30.0, 50.0]]),
    ];
    let up = upbounds();
    runs.iter()
        .flat_map(|(order, categories, method, r)| metric_rows(1, order, method, &matrix(categories, r), &up).unwrap())
        .collect()
}

fn input(rows: Vec<MetricRow>) -> ReportInput {
    ReportInput {
        pipeline: "hand-made".into(),
        params: "name = \"hand-made\"\nmethods = [\"none\", \"random\", \"inscl\"]\n".into(),
        params_format: ParamsFormat::Toml,
        rows,
        artifacts: vec![ArtifactRef { label: "metrics".into(), stage: "metrics".into(), key: "0123abcd".into() }],
    }
}

#[test]
fn report_md_shows_the_hand_computed_values() {
    let files = render_report(&input(hand_made_rows())).unwrap();
    assert_eq!(files[0].0, "report.md");
    let md = String::from_utf8(files[0].1.clone()).unwrap();
    if let Some(dir) = std::env::var_os("INSCL_REPORT_OUT") {
        std::fs::create_dir_all(&dir).unwrap();
        for (path, bytes) in &files {
            std::fs::write(std::path::Path::new(&dir).join(path), bytes).unwrap();
        }
    }
    let expected = [
        // Final RG, AVG RG, population STD RG, BWT, AP. E.g. inscl forward: RG = 90, 85, 80 → avg 85,
        // std √((25+0+25)/3) = 4.08; BWT = ((35−50)+(32−40)+(72−80))/3 = −10.33; AP = (35+32+72+60)/4 = 49.75.
        "| forward | none | 33.33 | 42.78 | 6.98 | -36.00 | 30.50 |",
        "| forward | random | 70.00 | 75.00 | 4.08 | -16.00 | 45.50 |",
        "| forward | inscl | 80.00 | 85.00 | 4.08 | -10.33 | 49.75 |",
        // none backward: RG 50, 35, 20 → avg 35, std √((225+0+225)/3) = 12.25.
        "| backward | none | 20.00 | 35.00 | 12.25 | -48.00 | 21.50 |",
        "| backward | random | 63.33 | 71.94 | 6.82 | -22.67 | 40.50 |",
        "| backward | inscl | 71.67 | 80.56 | 7.49 | -17.33 | 44.50 |",
        // Gains: forward 80 − 70 and 85 − 75; backward 71.67 − 63.33 and 80.56 − 71.94; means of the two.
        "| forward | Random Replay (`random`) | +10.00 | +10.00 |",
        "| backward | Random Replay (`random`) | +8.33 | +8.61 |",
        "| mean of 2 orders | Random Replay (`random`) | +9.17 | +9.31 |",
        "| forward | No Replay (`none`) | +46.67 | +42.22 |",
        "| backward | No Replay (`none`) | +51.67 | +45.56 |",
        "| mean of 2 orders | No Replay (`none`) | +49.17 | +43.89 |",
        // Mean over orders of inscl: final (80 + 71.67)/2, AVG (85 + 80.56)/2.
        "| inscl | 75.83 | 82.78 |",
        // RG per stage, headed by the stage and the category it learned.
        "| Method | 2. B | 3. C | 4. D |",
        "| inscl | 90.00 | 85.00 | 80.00 |",
        "| Method | 2. C | 3. B | 4. A |",
        "| random | 80.00 | 72.50 | 63.33 |",
        // FG forward: none A (50−10)/50 = 80, random (50−30)/50 = 40, inscl (50−35)/50 = 30.
        "| Category | none | random | inscl |",
        "| 1. A | 80.00 | 40.00 | 30.00 |",
        "| 3. C | 50.00 | 20.00 | 10.00 |",
        "| **mean** (over categories with an FG) | **66.67** | **30.00** | **20.00** |",
        // FG backward: D (60−12)/60 = 80, (60−36)/60 = 40, (60−42)/60 = 30.
        "| 1. D | 80.00 | 40.00 | 30.00 |",
        "| 2. C | 80.00 | 40.00 | 30.00 |",
        "| 3. B | 80.00 | 30.00 | 25.00 |",
        "| A | 50.00 |",
        "| C | 80.00 |",
        "| metrics | metrics | `0123abcd` |",
        "```toml\nname = \"hand-made\"",
        "![Relative Gain per stage, order forward](rg_forward.png)",
        "![Forgetting rate per category, order backward](forgetting_backward.png)",
        "![R matrix, order backward, method inscl](r_matrix_backward_inscl.png)",
        "+3.0",
        "+27.96",
    ];
    for line in expected {
        assert!(md.contains(line), "report.md lacks {line:?}:\n{md}");
    }
    assert!(!md.contains("NaN") && !md.contains("inf"), "{md}");
}

#[test]
fn every_png_decodes_at_its_size() {
    let files = render_report(&input(hand_made_rows())).unwrap();
    let mut sizes: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for order in ["forward", "backward"] {
        sizes.insert(if order == "forward" { "rg_forward.png" } else { "rg_backward.png" }, (1000, 560));
    }
    // Forgetting: 3 groups of 3 bars would be 90 + 3·60 + 30 + 230 = 530 px wide, below the 800 minimum.
    sizes.insert("forgetting_forward.png", (800, 640));
    sizes.insert("forgetting_backward.png", (800, 640));
    let heatmaps: Vec<String> = ["forward", "backward"]
        .iter()
        .flat_map(|o| ["none", "random", "inscl"].iter().map(move |m| format!("r_matrix_{o}_{m}.png")))
        .collect();
    for file in &heatmaps {
        // 250 label column + 4 × 56 grid + 134 scale; 64 title + 30 column numbers + 4 × 56 + 40.
        sizes.insert(file, (608, 358));
    }
    let pngs: Vec<&(String, Vec<u8>)> = files.iter().skip(1).collect();
    assert_eq!(pngs.len(), sizes.len(), "{:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    for (path, bytes) in pngs {
        let expected = sizes.get(path.as_str()).unwrap_or_else(|| panic!("unexpected file {path}"));
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), *expected, "{path}");
        assert_eq!(info.color_type, png::ColorType::Rgb, "{path}");
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        // Something was drawn: not a blank white canvas, and text pixels (anti-aliased greys) exist.
        let dark = pixels.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count();
        assert!(dark > 500, "{path}: only {dark} dark pixels");
    }
}

#[test]
fn bad_rows_are_named() {
    let mut rows = hand_made_rows();
    rows.retain(|r| !(r.order == "backward" && r.method == "random" && r.metric == "RG_final"));
    let err = render_report(&input(rows)).unwrap_err();
    assert!(
        matches!(&err, ReportError::Missing { order, method, what }
        if order == "backward" && method == "random" && what == "RG_final"),
        "{err}"
    );

    let mut rows = hand_made_rows();
    rows.retain(|r| {
        !(r.order == "forward"
            && r.method == "inscl"
            && r.metric == "R"
            && r.stage == Some(3)
            && r.category.as_deref() == Some("B"))
    });
    let err = render_report(&input(rows)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "order forward, method inscl: R at stage 3 for category B is missing from the metric rows"
    );

    let mut rows = hand_made_rows();
    let duplicate_at = rows.len();
    rows.push(rows[0].clone());
    let err = render_report(&input(rows)).unwrap_err();
    assert!(matches!(err, ReportError::BadRow { index, .. } if index == duplicate_at), "{err}");

    let mut rows = hand_made_rows();
    rows[5].metric = "RG_mean".into();
    let err = render_report(&input(rows)).unwrap_err().to_string();
    assert!(err.starts_with("metric row 5 (order forward, method none, metric RG_mean): unknown metric"), "{err}");

    let mut rows = hand_made_rows();
    for r in rows.iter_mut().filter(|r| r.order == "backward" && r.method == "none" && r.metric == "upbound") {
        r.value += 1.0;
    }
    assert!(matches!(render_report(&input(rows)), Err(ReportError::InconsistentUpbound { .. })));

    let mut rows = hand_made_rows();
    let mut stray = rows.iter().find(|r| r.metric == "RG").unwrap().clone();
    stray.stage = Some(5);
    rows.push(stray);
    let err = render_report(&input(rows)).unwrap_err().to_string();
    assert!(err.starts_with("order forward, method none: unexpected RG row (stage 5, category none)"), "{err}");

    assert!(matches!(render_report(&input(Vec::new())), Err(ReportError::NoRows)));
}

#[test]
fn gains_are_explained_when_baselines_are_missing() {
    let rows: Vec<MetricRow> = hand_made_rows().into_iter().filter(|r| r.method == "inscl").collect();
    let files = render_report(&input(rows)).unwrap();
    let md = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(md.contains("Not shown: these need method `inscl`"), "{md}");
    assert_eq!(files.len(), 1 + 2 * 3, "report.md, then per order RG, forgetting and one heatmap");
}

/// The paper's scale: 16 categories with long names and 9 methods in one order. R falls off with the number of
/// stages since a category was learned, faster for lower-numbered methods, so every value is distinct.
#[test]
fn paper_scale_report_renders() {
    let categories = [
        "Classification",
        "Text_Quality_Evaluation",
        "Code",
        "Detection",
        "Sentiment_Analysis",
        "Comprehension",
        "Closed_QA",
        "Extraction",
        "Dialogue",
        "Program_Execution",
        "Rewriting",
        "Open_QA",
        "Misc",
        "Generation",
        "Summarization",
        "Mathematics",
    ];
    let methods = [
        "none",
        "random",
        "inscl",
        "dynamic",
        "insinfo",
        "inscl-uniform",
        "prototype-data",
        "prototype-instruction",
        "diverse-instruction",
    ];
    let up: BTreeMap<String, f64> =
        categories.iter().enumerate().map(|(j, c)| (c.to_string(), 40.0 + j as f64)).collect();
    let mut rows = Vec::new();
    for (m, method) in methods.iter().enumerate() {
        let r: Vec<Vec<Option<f64>>> = (0..16)
            .map(|i| {
                (0..=i).map(|j| Some((38.0 + j as f64) * (1.0 - (i - j) as f64 * (0.05 - 0.004 * m as f64)))).collect()
            })
            .collect();
        let rm = RMatrix { categories: categories.iter().map(|c| c.to_string()).collect(), r };
        rows.extend(metric_rows(1, "curriculum", method, &rm, &up).unwrap());
    }
    let started = std::time::Instant::now();
    let files = render_report(&input(rows)).unwrap();
    eprintln!("rendered {} files in {:?}", files.len(), started.elapsed());
    if let Some(dir) = std::env::var_os("INSCL_REPORT_OUT") {
        let dir = std::path::Path::new(&dir).join("paper_scale");
        std::fs::create_dir_all(&dir).unwrap();
        for (path, bytes) in &files {
            std::fs::write(dir.join(path), bytes).unwrap();
        }
    }
    assert_eq!(files.len(), 1 + 2 + 9);
    let size = |name: &str| {
        let bytes = &files.iter().find(|f| f.0 == name).unwrap().1;
        let info = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap().info().clone();
        (info.width, info.height)
    };
    // 250 + 16·56 + 134 by 64 + 30 + 16·56 + 40.
    assert_eq!(size("r_matrix_curriculum_prototype-instruction.png"), (1280, 1030));
    // 15 groups of 9 bars: 90 + 15·(9·10 + 20) + 30 + 230.
    assert_eq!(size("forgetting_curriculum.png"), (2000, 640));
    assert_eq!(size("rg_curriculum.png"), (1000, 560));
}

#[test]
fn forgetting_mean_skips_categories_without_an_fg() {
    // A scores 0 right after it is learned, so FG_A is undefined; the mean is FG_B = (40 − 10)/40 = 75 alone.
    let r: &[&[f64]] = &[&[0.0], &[0.0, 40.0], &[5.0, 10.0, 80.0]];
    let up = upbounds();
    let rows = metric_rows(1, "forward", "none", &matrix(&["A", "B", "C"], r), &up).unwrap();
    let files = render_report(&input(rows)).unwrap();
    let md = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(md.contains("| 1. A | n/a |"), "{md}");
    assert!(md.contains("| 2. B | 75.00 |"), "{md}");
    assert!(md.contains("| **mean** (over categories with an FG) | **75.00** (1 of 2) |"), "{md}");
}

/// One seed, zero-shot scores above one expert: the bound is flagged, the RG that divides by it is marked, and
/// the significance section falls back to the paired bootstrap over categories and says so.
#[test]
fn one_seed_flags_a_weak_bound_and_uses_the_bootstrap() {
    use inscl_evaluate::metrics::{ExtraScores, extra_rows};
    // Forward order A B C D; A's expert (50) is below A's zero-shot score (55), the others are above theirs.
    let forward = ["A", "B", "C", "D"];
    let zeroshot = vec![55.0, 1.0, 2.0, 3.0];
    let mut rows = Vec::new();
    for (method, r) in [
        ("none", &[&[50.0][..], &[25.0, 40.0], &[20.0, 20.0, 80.0], &[10.0, 12.0, 40.0, 60.0]]),
        ("inscl", &[&[50.0][..], &[45.0, 40.0], &[40.0, 36.0, 80.0], &[35.0, 32.0, 72.0, 60.0]]),
    ] {
        let rm = matrix(&forward, r);
        rows.extend(metric_rows(1, "forward", method, &rm, &upbounds()).unwrap());
        let extra = ExtraScores { zeroshot: Some(zeroshot.clone()), next: Some(vec![5.0, 6.0, 7.0]), joint: None };
        rows.extend(extra_rows(1, "forward", method, &rm, &extra).unwrap());
    }
    let md = String::from_utf8(render_report(&input(rows)).unwrap()[0].1.clone()).unwrap();
    assert!(md.contains("| A | 50.00 | 55.00 | ⚠ 50.00 below zero-shot 55.00 (seed 1) |"), "{md}");
    assert!(md.contains("| B | 40.00 | 1.00 |  |"), "{md}");
    // Every stage's RG divides by A's bound, so every RG is marked; with one seed there is no interval.
    assert!(md.contains("| forward | inscl | 80.00 † | 85.00 † | 4.08 † | -10.33 | 49.75 |"), "{md}");
    assert!(md.contains("| inscl | 90.00 † | 85.00 † | 80.00 † |"), "{md}");
    assert!(md.contains("paired bootstrap over 3 categories (10000 resamples, 1 seed)"), "{md}");
    // Per category, InsCL keeps more at every stage, so every resample favours it: p is 0 and the interval
    // lies above 0. Observed: final 80 − 33.33 = +46.67, AVG 85 − 42.78 = +42.22 (see hand_made_rows).
    let line = md.lines().find(|l| l.starts_with("| forward | `none` |")).unwrap_or_else(|| panic!("{md}"));
    let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
    assert_eq!((cells[2], cells[4], cells[5], cells[7]), ("+46.67", "< 0.0001", "+42.22", "< 0.0001"), "{line}");
    let low: f64 = cells[3].trim_matches(['[', ']']).split_once(", ").unwrap().0.parse().unwrap();
    assert!(low > 0.0, "{line}");
    // FWT_2 = 5 − 1, FWT_3 = 6 − 2, FWT_4 = 7 − 3: 4 each, mean 4.
    assert!(md.contains("| inscl | 4.00 | 4.00 | 4.00 | 4.00 |"), "{md}");
}
