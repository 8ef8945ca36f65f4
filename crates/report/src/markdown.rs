//! `report.md`: the parameters, the paper's Relative Gain table, InsCL's gains, forgetting, the plots and the
//! artifact keys. Numbers are printed with two decimals, exactly as read from the metric rows.

use std::fmt::Write;

use crate::collect::{OrderRuns, Run, Runs};
use crate::flags::Flags;
use crate::stats::{Comparison, Ratios, paired_bootstrap, paired_t, t_interval};
use crate::plot::{PlotKind, PlotPlan};
use crate::{INSCL, NO_REPLAY, ParamsFormat, RANDOM_REPLAY, ReportInput};

pub(crate) fn render(input: &ReportInput, runs: &Runs, plots: &PlotPlan) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail, so the fmt::Results are dropped throughout.
    let _ = writeln!(md, "# InsCL report: {}\n", input.pipeline);
    md += "Every number below is read from the pipeline's metric rows (`metrics.parquet`); the artifacts they \
           come from are listed at the end. Scores are Rouge-L F ×100.\n\n";
    let flags = Flags::of(runs);
    params(&mut md, input);
    relative_gain_table(&mut md, runs, &flags);
    gains(&mut md, runs);
    significance(&mut md, runs);
    rg_per_stage(&mut md, runs, plots, &flags);
    forgetting(&mut md, runs, plots);
    r_matrices(&mut md, runs, plots);
    upbounds(&mut md, runs, &flags);
    joint_bound(&mut md, runs, &flags);
    forward_transfer(&mut md, runs);
    artifacts(&mut md, input);
    md
}

fn params(md: &mut String, input: &ReportInput) {
    let language = match input.params_format {
        ParamsFormat::Toml => "toml",
        ParamsFormat::Json => "json",
    };
    // A fence longer than any backtick run inside, so the parameters show verbatim.
    let longest = input.params.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(md, "## Parameters\n\n{fence}{language}\n{}\n{fence}\n", input.params.trim_end());
}

/// How the report's numbers are aggregated over seeds, said once above the main table.
fn seeds_note(runs: &Runs) -> String {
    let list = runs.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    match runs.seeds.len() {
        1 => format!(
            "One seed ({list}): the values are that run's, with no interval. Give `seeds = [1, 2, 3]` for 95 % \
             intervals and a paired test over seeds.\n\n"
        ),
        k => format!(
            "Each value is the mean over the {k} seeds ({list}) ± the half-width of its 95 % t-interval, \
             `t(0.975, {}) · s / √{k}` with `s` the sample standard deviation over seeds. Every table below this \
             one shows means over seeds.\n\n",
            k - 1
        ),
    }
}

/// `mean ± half` over the seeds' values, or the mean alone with one seed.
fn ci(values: &[f64]) -> String {
    match t_interval(values) {
        (mean, Some(half)) => format!("{} ± {}", num(mean), num(half)),
        (mean, None) => num(mean),
    }
}

fn relative_gain_table(md: &mut String, runs: &Runs, flags: &Flags) {
    md.push_str(
        "## Relative Gain\n\n\
         `RG_i` = mean over the categories `j` learned before stage `i` of `R[i][j] / upbound[j] × 100`, where \
         `R[i][j]` is the score after stage `i` on category `j` and `upbound[j]` the score of the expert trained \
         on `j` alone (InsCL §4.2). *Final* is `RG_n`; *AVG* and *STD* are the mean and the **population** \
         standard deviation of `RG_2 … RG_n`, as in the paper's tables. BWT = mean over `j < n` of \
         `R[n][j] − R[j][j]`; AP = mean over all `j` of `R[n][j]` (as CITB and SAPT report them).\n\n",
    );
    md.push_str(&seeds_note(runs));
    if flags.any_expert() {
        md.push_str("Values marked † divide by a flagged upper bound (see *Expert upper bounds*).\n\n");
    }
    md.push_str("| Order | Method | Final RG | AVG RG | STD RG | BWT | AP |\n|---|---|---:|---:|---:|---:|---:|\n");
    for (o, order) in runs.orders.iter().enumerate() {
        // Final and AVG RG both divide by the bounds of every category but the last.
        let mark = if flags.stage_marked(runs, o, order.categories.len()) { " †" } else { "" };
        for seeds in &order.seeds {
            let of = |f: fn(&Run) -> f64| ci(&seeds.iter().map(f).collect::<Vec<f64>>());
            let _ = writeln!(
                md,
                "| {} | {} | {}{mark} | {}{mark} | {}{mark} | {} | {} |",
                cell(&order.name),
                cell(&seeds[0].method),
                of(|r| r.rg_final),
                of(|r| r.rg_avg),
                of(|r| r.rg_std),
                of(|r| r.bwt),
                of(|r| r.ap)
            );
        }
    }
    if runs.orders.len() > 1 {
        let _ = writeln!(
            md,
            "\nMean over the {} orders, for methods run on every order:\n\n\
             | Method | Final RG | AVG RG | STD RG | BWT | AP |\n|---|---:|---:|---:|---:|---:|",
            runs.orders.len()
        );
        for method in runs.methods() {
            let Some(all) = runs.orders.iter().map(|o| o.run(&method)).collect::<Option<Vec<&Run>>>() else {
                continue;
            };
            let mean = |f: fn(&Run) -> f64| num(all.iter().map(|r| f(r)).sum::<f64>() / all.len() as f64);
            let (last, avg, std) = (mean(|r| r.rg_final), mean(|r| r.rg_avg), mean(|r| r.rg_std));
            let _ = writeln!(
                md,
                "| {} | {last} | {avg} | {std} | {} | {} |",
                cell(&method),
                mean(|r| r.bwt),
                mean(|r| r.ap)
            );
        }
    }
    md.push('\n');
}

fn gains(md: &mut String, runs: &Runs) {
    md.push_str(
        "## InsCL against the baselines\n\n\
         The paper's headline (LLaMA-7B): InsCL improves Relative Gain by **+3.0** over Random Replay and by \
         **+27.96** over No Replay. Here, in RG points (InsCL − baseline):\n\n",
    );
    let baselines = [(RANDOM_REPLAY, "Random Replay"), (NO_REPLAY, "No Replay")];
    let mut table = String::from("| Order | Baseline | Δ Final RG | Δ AVG RG |\n|---|---|---:|---:|\n");
    let mut rows = 0;
    for (key, name) in baselines {
        let mut deltas = Vec::new();
        for order in &runs.orders {
            let (Some(ours), Some(base)) = (order.run(INSCL), order.run(key)) else { continue };
            let delta = (ours.rg_final - base.rg_final, ours.rg_avg - base.rg_avg);
            let _ = writeln!(
                table,
                "| {} | {name} (`{key}`) | {} | {} |",
                cell(&order.name),
                signed(delta.0),
                signed(delta.1)
            );
            deltas.push(delta);
            rows += 1;
        }
        if deltas.len() > 1 {
            let count = deltas.len() as f64;
            let (last, avg) = deltas.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
            let _ = writeln!(
                table,
                "| mean of {} orders | {name} (`{key}`) | {} | {} |",
                deltas.len(),
                signed(last / count),
                signed(avg / count)
            );
        }
    }
    if rows == 0 {
        let _ = writeln!(
            md,
            "Not shown: these need method `{INSCL}` and at least one of `{RANDOM_REPLAY}` (Random Replay) or \
             `{NO_REPLAY}` (No Replay) in the same order.\n"
        );
    } else {
        md.push_str(&table);
        md.push('\n');
    }
}

/// InsCL against every other method of each order: the paired difference of final and AVG RG, its 95 %
/// interval and p-value, over seeds when there are several, else over categories.
fn significance(md: &mut String, runs: &Runs) {
    md.push_str("## Significance\n\n");
    let k = runs.seeds.len();
    let mut table = String::from(
        "| Order | Baseline | Δ Final RG | 95 % CI | p | Δ AVG RG | 95 % CI | p |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let (mut tests, mut rows) = (Vec::new(), 0);
    for order in &runs.orders {
        let Some(ours) = order.seeds.iter().position(|s| s[0].method == INSCL) else { continue };
        for (b, base) in order.seeds.iter().enumerate() {
            if b == ours {
                continue;
            }
            let [fin, avg] = if k >= 2 {
                let diff = |f: fn(&Run) -> f64| order.seeds[ours].iter().zip(base).map(|(a, b)| f(a) - f(b)).collect::<Vec<f64>>();
                [paired_t(&diff(|r| r.rg_final)), paired_t(&diff(|r| r.rg_avg))]
            } else {
                let ratios = |r: &Run| Ratios::of(&r.r, &r.upbound);
                paired_bootstrap(&ratios(&order.seeds[ours][0]), &ratios(&base[0]))
            };
            let show = |c: Option<Comparison>| match c {
                Some(c) => format!("{} | [{}, {}] | {}", signed(c.mean), num(c.low), num(c.high), p_value(c.p)),
                None => "n/a | n/a | n/a".to_string(),
            };
            for c in [fin, avg].into_iter().flatten() {
                if !tests.contains(&c.test.name()) {
                    tests.push(c.test.name());
                }
            }
            let _ = writeln!(table, "| {} | `{}` | {} | {} |", cell(&order.name), cell(&base[0].method), show(fin), show(avg));
            rows += 1;
        }
    }
    if rows == 0 {
        let _ = writeln!(md, "Not shown: it needs method `{INSCL}` and at least one other method in the same order.\n");
        return;
    }
    if tests.is_empty() {
        tests.push("none: every difference is undefined (n/a)".to_string());
    }
    let _ = writeln!(
        md,
        "InsCL (`{INSCL}`) minus each baseline, in RG points, with a two-sided 95 % interval and p-value. Test: {}.{}\n",
        tests.join("; "),
        if k >= 2 {
            " The seeds pair the runs: each seed's InsCL run is compared with the same seed's baseline run."
        } else {
            " With one seed the pairing is over categories: the categories RG averages over are resampled with \
             replacement, both methods' RG is recomputed on each resample, and the interval is the 2.5th–97.5th \
             percentile of the differences. It measures how much the result depends on which categories were \
             learned, not seed-to-seed variance."
        }
    );
    md.push_str(&table);
    md.push('\n');
}

/// Four decimals, or a bound under the smallest value four decimals can show.
fn p_value(p: f64) -> String {
    if p < 1e-4 { "< 0.0001".into() } else { format!("{p:.4}") }
}

fn rg_per_stage(md: &mut String, runs: &Runs, plots: &PlotPlan, flags: &Flags) {
    md.push_str("## Relative Gain per stage\n\n");
    for (o, order) in runs.orders.iter().enumerate() {
        let _ = writeln!(md, "### Order {}\n", order.name);
        image(
            md,
            plots,
            PlotKind::RelativeGain { order: o },
            &format!("Relative Gain per stage, order {}", order.name),
        );
        md.push_str("Columns: the stage and the category it learned.\n\n| Method |");
        for (i, category) in order.categories.iter().enumerate().skip(1) {
            let _ = write!(md, " {}. {} |", i + 1, cell(category));
        }
        md.push_str("\n|---|");
        md.push_str(&"---:|".repeat(order.categories.len() - 1));
        md.push('\n');
        for run in &order.runs {
            let values: Vec<String> = run
                .rg
                .iter()
                .enumerate()
                .map(|(k, &v)| format!("{}{}", num(v), if flags.stage_marked(runs, o, k + 2) { " †" } else { "" }))
                .collect();
            let _ = writeln!(md, "| {} | {} |", cell(&run.method), values.join(" | "));
        }
        md.push('\n');
    }
}

fn forgetting(md: &mut String, runs: &Runs, plots: &PlotPlan) {
    md.push_str(
        "## Forgetting\n\n\
         Forgetting rate of category `j`: `FG_j = (R[j][j] − R[n][j]) / R[j][j] × 100`, the share of its score \
         right after it was learned that is lost by the last stage. This is our definition: the paper plots \
         forgetting per category but does not publish its formula. Negative values mean the category improved \
         later. The last category of an order is never revisited and has no FG. The charts clip bars below −100 \
         (a category barely learned at first that gained much later) and print their value on them.\n\n",
    );
    for (o, order) in runs.orders.iter().enumerate() {
        let _ = writeln!(md, "### Order {}\n", order.name);
        image(
            md,
            plots,
            PlotKind::Forgetting { order: o },
            &format!("Forgetting rate per category, order {}", order.name),
        );
        method_header(md, "Category", order);
        for (j, category) in order.categories[..order.categories.len() - 1].iter().enumerate() {
            let values: Vec<String> = order.runs.iter().map(|run| num(run.fg[j])).collect();
            let _ = writeln!(md, "| {}. {} | {} |", j + 1, cell(category), values.join(" | "));
        }
        let means: Vec<String> = order
            .runs
            .iter()
            .map(|run| {
                // A category scoring 0 right after it was learned has no FG; average the others and say how many.
                let defined: Vec<f64> = run.fg.iter().copied().filter(|v| v.is_finite()).collect();
                let mean = num(defined.iter().sum::<f64>() / defined.len() as f64);
                if defined.len() == run.fg.len() {
                    format!("**{mean}**")
                } else {
                    format!("**{mean}** ({} of {})", defined.len(), run.fg.len())
                }
            })
            .collect();
        let _ = writeln!(md, "| **mean** (over categories with an FG) | {} |\n", means.join(" | "));
    }
}

fn r_matrices(md: &mut String, runs: &Runs, plots: &PlotPlan) {
    md.push_str(
        "## R matrices\n\n\
         Row `i`: the model after stage `i`; column `j`: the category learned at stage `j`. One colour scale \
         for every heatmap of this report.\n\n",
    );
    for (o, order) in runs.orders.iter().enumerate() {
        let _ = writeln!(md, "### Order {}\n", order.name);
        for (k, run) in order.runs.iter().enumerate() {
            let alt = format!("R matrix, order {}, method {}", order.name, run.method);
            image(md, plots, PlotKind::RMatrix { order: o, run: k }, &alt);
        }
    }
}

fn upbounds(md: &mut String, runs: &Runs, flags: &Flags) {
    md.push_str(
        "## Expert upper bounds\n\n\
         The score of the expert trained on each category alone, and the base model's zero-shot score `R[0][j]` \
         (means over seeds). A bound is **flagged** when, in any seed, it is under 1 Rouge-L point or below the \
         zero-shot score: dividing by it says little about forgetting, and every RG that divides by it is marked †.\n\n\
         | Category | upbound | zero-shot | flag |\n|---|---:|---:|---|\n",
    );
    for (category, value) in &runs.upbounds {
        let zeroshot = flags.zeroshot(category).map_or("n/a".to_string(), num);
        let flag = flags.expert_reason(category).map_or(String::new(), |why| format!("⚠ {why}"));
        let _ = writeln!(md, "| {} | {} | {zeroshot} | {flag} |", cell(category), num(*value));
    }
    md.push('\n');
}

fn joint_bound(md: &mut String, runs: &Runs, flags: &Flags) {
    if !runs.orders.iter().any(|o| o.runs.iter().any(|r| r.joint.is_some())) {
        return;
    }
    md.push_str(
        "## Joint upper bound\n\n\
         One model per order and seed trained on all of the order's categories at once (same hyper-parameters and \
         epochs), the classic multi-task upper bound. RG against it divides by the joint model's score on each \
         category instead of the expert's; flags as for the experts, marked ‡.\n\n",
    );
    for (o, order) in runs.orders.iter().enumerate() {
        let Some(first) = order.runs.iter().find_map(|r| r.joint.as_ref()) else { continue };
        let _ = writeln!(md, "### Order {}\n\n| Category | joint | expert | zero-shot | flag |\n|---|---:|---:|---:|---|", order.name);
        for (j, category) in order.categories.iter().enumerate() {
            let zeroshot = flags.zeroshot(category).map_or("n/a".to_string(), num);
            let flag = flags.joint_reason(o, category).map_or(String::new(), |why| format!("⚠ {why}"));
            let _ = writeln!(md, "| {} | {} | {} | {zeroshot} | {flag} |", cell(category), num(first[j]), num(order.runs[0].upbound[j]));
        }
        let mark = if flags.joint_stage_marked(runs, o, order.categories.len()) { " ‡" } else { "" };
        md.push_str(
            "\nRG against the experts and against the joint model, side by side:\n\n\
             | Method | Final RG (experts) | Final RG (joint) | AVG RG (experts) | AVG RG (joint) |\n|---|---:|---:|---:|---:|\n",
        );
        for seeds in &order.seeds {
            let of = |f: &dyn Fn(&Run) -> f64| ci(&seeds.iter().map(f).collect::<Vec<f64>>());
            let joint = |k: usize| of(&|r: &Run| r.rg_joint.as_ref().map_or(f64::NAN, |x| x.1[k]));
            let _ = writeln!(
                md,
                "| {} | {} | {}{mark} | {} | {}{mark} |",
                cell(&seeds[0].method),
                of(&|r| r.rg_final),
                joint(2),
                of(&|r| r.rg_avg),
                joint(0)
            );
        }
        md.push('\n');
    }
}

fn forward_transfer(md: &mut String, runs: &Runs) {
    if !runs.orders.iter().any(|o| o.runs.iter().any(|r| r.fwt.is_some())) {
        return;
    }
    md.push_str(
        "## Forward transfer\n\n\
         `FWT_i = R[i−1][i] − R[0][i]` (CITB, SAPT): the model after stage `i − 1` on the category stage `i` \
         learns, against the base model's zero-shot score. Positive means the earlier stages helped the next \
         category before it was trained on. *Mean* is over stages `2 … n`.\n\n",
    );
    for order in &runs.orders {
        let _ = write!(md, "### Order {}\n\n| Method | mean FWT |", order.name);
        for (i, category) in order.categories.iter().enumerate().skip(1) {
            let _ = write!(md, " {}. {} |", i + 1, cell(category));
        }
        md.push_str("\n|---|---:|");
        md.push_str(&"---:|".repeat(order.categories.len() - 1));
        md.push('\n');
        for (seeds, run) in order.seeds.iter().zip(&order.runs) {
            let Some((per_stage, _)) = &run.fwt else { continue };
            let mean = ci(&seeds.iter().map(|r| r.fwt.as_ref().map_or(f64::NAN, |f| f.1)).collect::<Vec<f64>>());
            let values: Vec<String> = per_stage.iter().map(|&v| num(v)).collect();
            let _ = writeln!(md, "| {} | {mean} | {} |", cell(&run.method), values.join(" | "));
        }
        md.push('\n');
    }
}

fn artifacts(md: &mut String, input: &ReportInput) {
    md.push_str("## Artifacts\n\n");
    if input.artifacts.is_empty() {
        md.push_str("No artifact keys were given.\n");
        return;
    }
    md.push_str("Look any of them up with `inscl show <stage>/<key>`.\n\n| Input | Stage | Key |\n|---|---|---|\n");
    for artifact in &input.artifacts {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` |",
            cell(&artifact.label),
            cell(&artifact.stage),
            artifact.key.replace('`', "")
        );
    }
}

fn method_header(md: &mut String, first: &str, order: &OrderRuns) {
    let _ = write!(md, "| {first} |");
    for run in &order.runs {
        let _ = write!(md, " {} |", cell(&run.method));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(order.runs.len()));
    md.push('\n');
}

fn image(md: &mut String, plots: &PlotPlan, kind: PlotKind, alt: &str) {
    if let Some(file) = plots.file_for(kind) {
        let _ = writeln!(md, "![{}]({file})\n", alt.replace(['[', ']'], ""));
    }
}

/// Two decimals, without a "-0.00".
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    let s = format!("{v:.2}");
    if s == "-0.00" { "0.00".into() } else { s }
}

fn signed(v: f64) -> String {
    let s = num(v);
    if s.starts_with('-') || s == "0.00" || s == "n/a" { s } else { format!("+{s}") }
}

/// Escapes the one character that breaks a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
