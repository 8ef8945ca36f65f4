//! `report.md`: the parameters, the paper's Relative Gain table, InsCL's gains, forgetting, the plots and the
//! artifact keys. Numbers are printed with two decimals, exactly as read from the metric rows.

use std::fmt::Write;

use crate::collect::{OrderRuns, Run, Runs};
use crate::plot::{PlotKind, PlotPlan};
use crate::{INSCL, NO_REPLAY, ParamsFormat, RANDOM_REPLAY, ReportInput};

pub(crate) fn render(input: &ReportInput, runs: &Runs, plots: &PlotPlan) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail, so the fmt::Results are dropped throughout.
    let _ = writeln!(md, "# InsCL report: {}\n", input.pipeline);
    md += "Every number below is read from the pipeline's metric rows (`metrics.parquet`); the artifacts they \
           come from are listed at the end. Scores are Rouge-L F ×100.\n\n";
    params(&mut md, input);
    relative_gain_table(&mut md, runs);
    gains(&mut md, runs);
    rg_per_stage(&mut md, runs, plots);
    forgetting(&mut md, runs, plots);
    r_matrices(&mut md, runs, plots);
    upbounds(&mut md, runs);
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

fn relative_gain_table(md: &mut String, runs: &Runs) {
    md.push_str(
        "## Relative Gain\n\n\
         `RG_i` = mean over the categories `j` learned before stage `i` of `R[i][j] / upbound[j] × 100`, where \
         `R[i][j]` is the score after stage `i` on category `j` and `upbound[j]` the score of the expert trained \
         on `j` alone (InsCL §4.2). *Final* is `RG_n`; *AVG* and *STD* are the mean and the **population** \
         standard deviation of `RG_2 … RG_n`, as in the paper's tables. BWT = mean over `j < n` of \
         `R[n][j] − R[j][j]`; AP = mean over all `j` of `R[n][j]` (as CITB and SAPT report them).\n\n\
         | Order | Method | Final RG | AVG RG | STD RG | BWT | AP |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for order in &runs.orders {
        for run in &order.runs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&order.name),
                cell(&run.method),
                num(run.rg_final),
                num(run.rg_avg),
                num(run.rg_std),
                num(run.bwt),
                num(run.ap)
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

fn rg_per_stage(md: &mut String, runs: &Runs, plots: &PlotPlan) {
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
            let values: Vec<String> = run.rg.iter().map(|&v| num(v)).collect();
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

fn upbounds(md: &mut String, runs: &Runs) {
    md.push_str("## Expert upper bounds\n\nThe score of the expert trained on each category alone.\n\n| Category | upbound |\n|---|---:|\n");
    for (category, value) in &runs.upbounds {
        let _ = writeln!(md, "| {} | {} |", cell(category), num(*value));
    }
    md.push('\n');
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
