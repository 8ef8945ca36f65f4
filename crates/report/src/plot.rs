//! The report's PNGs, drawn with plotters into an in-memory RGB buffer and encoded with `png`.
//!
//! Text uses Noto Sans embedded by the `ttf-noto-sans` crate and registered with plotters' `ab_glyph` font
//! backend, so plotting needs no font on the machine (plotters' `ttf` feature would need fontconfig).

use std::error::Error;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;
use crate::collect::Runs;
use crate::stats::t_interval;

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

/// Width of the legend panel right of the RG and FG charts: fits a 24-character method name at 16 px.
const LEGEND_W: u32 = 230;
pub(crate) const RG_SIZE: (u32, u32) = (1000, 560);

/// Heatmap geometry: a title band, a row of column numbers, the `n × n` grid with row labels on the left and
/// the colour scale on the right, then the column axis title.
const CELL: u32 = 56;
const HEAT_TITLE_H: u32 = 64;
const HEAT_COLUMN_H: u32 = 30;
const HEAT_LEFT: u32 = 250;
const HEAT_SCALE_W: u32 = 134;
const HEAT_BOTTOM: u32 = 40;

/// Forgetting chart: a fixed-height plot over rotated category labels, widening with the bars.
const FG_HEIGHT: u32 = 640;
const FG_LABEL_AREA: u32 = 200;
const FG_MIN_WIDTH: u32 = 800;

/// tab10, so up to ten methods get distinct colours; more cycle.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Viridis at nine evenly spaced stops (matplotlib's values), interpolated linearly. plotters' own
/// `colormaps` feature fails to compile without `full_palette`, and nine stops are all a heatmap needs.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

fn viridis(t: f64) -> RGBColor {
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlotKind {
    RelativeGain { order: usize },
    RMatrix { order: usize, run: usize },
    Forgetting { order: usize },
}

#[derive(Debug, Clone)]
pub(crate) struct PlannedPlot {
    pub file: String,
    pub kind: PlotKind,
    pub size: (u32, u32),
}

#[derive(Debug, Clone)]
pub(crate) struct PlotPlan {
    pub files: Vec<PlannedPlot>,
    /// Methods in legend order; a method keeps its colour across every plot.
    pub methods: Vec<String>,
    /// One colour scale for every heatmap, so runs compare by colour.
    pub r_scale: (f64, f64),
}

impl PlotPlan {
    pub fn file_for(&self, kind: PlotKind) -> Option<&str> {
        self.files.iter().find(|p| p.kind == kind).map(|p| p.file.as_str())
    }
}

pub(crate) fn heatmap_size(categories: usize) -> (u32, u32) {
    let grid = categories as u32 * CELL;
    (HEAT_LEFT + grid + HEAT_SCALE_W, HEAT_TITLE_H + HEAT_COLUMN_H + grid + HEAT_BOTTOM)
}

pub(crate) fn forgetting_size(categories: usize, methods: usize) -> (u32, u32) {
    let group_w = (methods as u32 * 10 + 20).max(60);
    let width = 90 + (categories as u32 - 1) * group_w + 30 + LEGEND_W;
    (width.max(FG_MIN_WIDTH), FG_HEIGHT)
}

/// Names every PNG; file names are the order and method names with anything but `[A-Za-z0-9_-]` as `_`.
pub(crate) fn plan(runs: &Runs) -> Result<PlotPlan, ReportError> {
    let mut files: Vec<PlannedPlot> = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    let mut add = |file: String, kind: PlotKind, size: (u32, u32), source: String| {
        if let Some(at) = files.iter().position(|p| p.file == file) {
            return Err(ReportError::FileNameClash { file, names: format!("{} and {source}", sources[at]) });
        }
        files.push(PlannedPlot { file, kind, size });
        sources.push(source);
        Ok(())
    };
    for (o, order) in runs.orders.iter().enumerate() {
        let safe_order = file_safe(&order.name);
        let source = format!("order {:?}", order.name);
        add(format!("rg_{safe_order}.png"), PlotKind::RelativeGain { order: o }, RG_SIZE, source.clone())?;
        let fg_size = forgetting_size(order.categories.len(), order.runs.len());
        add(format!("forgetting_{safe_order}.png"), PlotKind::Forgetting { order: o }, fg_size, source)?;
        for (k, run) in order.runs.iter().enumerate() {
            add(
                format!("r_matrix_{safe_order}_{}.png", file_safe(&run.method)),
                PlotKind::RMatrix { order: o, run: k },
                heatmap_size(order.categories.len()),
                format!("order {:?} method {:?}", order.name, run.method),
            )?;
        }
    }
    let scores = runs.orders.iter().flat_map(|o| &o.runs).flat_map(|run| run.r.iter().flatten().copied());
    Ok(PlotPlan { files, methods: runs.methods(), r_scale: padded_range(scores, 0.0) })
}

/// Draws one planned plot and returns its PNG bytes.
pub(crate) fn draw(runs: &Runs, plan: &PlotPlan, planned: &PlannedPlot) -> Result<Vec<u8>, ReportError> {
    register_font()?;
    let (w, h) = planned.size;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let drawn = match planned.kind {
            PlotKind::RelativeGain { order } => draw_relative_gain(&root, runs, plan, order),
            PlotKind::RMatrix { order, run } => draw_r_matrix(&root, runs, plan, order, run),
            PlotKind::Forgetting { order } => draw_forgetting(&root, runs, plan, order),
        };
        drawn
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|e| ReportError::Plot { file: planned.file.clone(), message: e.to_string() })?;
    }
    encode_png(&planned.file, &rgb, w, h)
}

fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, ttf_noto_sans::REGULAR).is_ok()
    });
    if ok { Ok(()) } else { Err(ReportError::Font) }
}

fn encode_png(file: &str, rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ReportError> {
    let wrap = |source| ReportError::Png { file: file.to_string(), source };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(wrap)?;
    writer.write_image_data(rgb).map_err(wrap)?;
    writer.finish().map_err(wrap)?;
    Ok(out)
}

fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn text(size: u32) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).color(&BLACK)
}

fn method_color(plan: &PlotPlan, method: &str) -> RGBColor {
    let index = plan.methods.iter().position(|m| m == method).unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

/// `[lo, hi]` rounded out to multiples of 10, always containing `must_include` and at least 10 wide.
fn padded_range(values: impl Iterator<Item = f64>, must_include: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((must_include, must_include), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = (lo / 10.0).floor() * 10.0;
    let hi = ((hi / 10.0).ceil() * 10.0).max(lo + 10.0);
    (lo, hi)
}

/// A vertical list of coloured swatches and method names; `bars` draws squares instead of line segments.
fn draw_legend(area: &Area, plan: &PlotPlan, methods: &[&str], bars: bool) -> DrawResult {
    area.draw(&Text::new("method", (12, 56), text(16).pos(Pos::new(HPos::Left, VPos::Center))))?;
    for (k, method) in methods.iter().enumerate() {
        let y = 90 + k as i32 * 28;
        let color = method_color(plan, method);
        if bars {
            area.draw(&Rectangle::new([(14, y - 8), (30, y + 8)], color.filled()))?;
        } else {
            area.draw(&PathElement::new(vec![(10, y), (38, y)], color.stroke_width(3)))?;
            area.draw(&Circle::new((24, y), 4, color.filled()))?;
        }
        area.draw(&Text::new(method.to_string(), (46, y), text(16).pos(Pos::new(HPos::Left, VPos::Center))))?;
    }
    Ok(())
}

fn draw_relative_gain(root: &Area, runs: &Runs, plan: &PlotPlan, o: usize) -> DrawResult {
    root.fill(&WHITE)?;
    let order = &runs.orders[o];
    let n = order.categories.len() as u32;
    let (plot_area, legend_area) = root.split_horizontally(RG_SIZE.0 - LEGEND_W);
    // With several seeds each line carries its 95 % t-interval as a band; the axis fits the bands.
    let bands: Vec<Vec<Option<(f64, f64)>>> = order
        .seeds
        .iter()
        .map(|seeds| {
            (0..seeds[0].rg.len())
                .map(|k| match t_interval(&seeds.iter().map(|r| r.rg[k]).collect::<Vec<f64>>()) {
                    (mean, Some(half)) if mean.is_finite() => Some((mean - half, mean + half)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let band_ends = bands.iter().flatten().flatten().flat_map(|&(a, b)| [a, b]);
    let (lo, hi) = padded_range(order.runs.iter().flat_map(|run| run.rg.iter().copied()).filter(|v| v.is_finite()).chain(band_ends), 100.0);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(format!("Relative Gain per stage, order {}", order.name), text(22))
        .margin(18)
        .x_label_area_size(56)
        .y_label_area_size(64)
        .build_cartesian_2d((2u32..n).into_segmented(), lo..hi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n as usize)
        .light_line_style(RGBColor(238, 238, 238))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_desc("stage (categories learned so far)")
        .y_desc("RG (% of the experts' scores)")
        .label_style(text(15))
        .axis_desc_style(text(16))
        .draw()?;
    for (run, band) in order.runs.iter().zip(&bands) {
        let color = method_color(plan, &run.method);
        let x = |s: usize| SegmentValue::CenterOf(s as u32 + 2);
        // One polygon per run of consecutive stages that have an interval.
        let mut start = 0;
        while start < band.len() {
            let end = (start..band.len()).find(|&k| band[k].is_none()).unwrap_or(band.len());
            if end > start {
                let upper = (start..end).map(|k| (x(k), band[k].expect("inside the run").1));
                let lower = (start..end).rev().map(|k| (x(k), band[k].expect("inside the run").0));
                let outline: Vec<(SegmentValue<u32>, f64)> = upper.chain(lower).collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18).filled())))?;
            }
            start = end + 1;
        }
        // Undefined stages (NaN) are gaps in the line rather than points.
        let points = run.rg.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(s, &v)| (SegmentValue::CenterOf(s as u32 + 2), v));
        chart.draw_series(LineSeries::new(points, color.stroke_width(3)).point_size(4))?;
    }
    let methods: Vec<&str> = order.runs.iter().map(|r| r.method.as_str()).collect();
    draw_legend(&legend_area, plan, &methods, false)
}

fn draw_r_matrix(root: &Area, runs: &Runs, plan: &PlotPlan, o: usize, k: usize) -> DrawResult {
    root.fill(&WHITE)?;
    let order = &runs.orders[o];
    let run = &order.runs[k];
    let n = order.categories.len() as i32;
    let (cell, left) = (CELL as i32, HEAT_LEFT as i32);
    let top = (HEAT_TITLE_H + HEAT_COLUMN_H) as i32;
    let (lo, hi) = plan.r_scale;
    let at = |v: f64| ((v - lo) / (hi - lo)).clamp(0.0, 1.0);

    let title = format!("R matrix: order {}, method {}", order.name, run.method);
    root.draw(&Text::new(title, (16, 14), text(20)))?;
    let subtitle = "Rouge-L F ×100 of the model after stage i (row) on category j (column)";
    root.draw(&Text::new(subtitle, (16, 42), text(14)))?;

    let centered = |size| text(size).pos(Pos::new(HPos::Center, VPos::Center));
    for j in 0..n {
        let x = left + j * cell + cell / 2;
        root.draw(&Text::new((j + 1).to_string(), (x, top - HEAT_COLUMN_H as i32 / 2), centered(15)))?;
    }
    let row_style = text(15).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, category) in order.categories.iter().enumerate() {
        let y = top + i as i32 * cell + cell / 2;
        let label = fit_label(root, &format!("{}. {category}", i + 1), &row_style, HEAT_LEFT - 20)?;
        root.draw(&Text::new(label, (left - 12, y), row_style.clone()))?;
        for j in 0..n {
            let (x0, y0) = (left + j * cell, top + i as i32 * cell);
            let corners = [(x0 + 1, y0 + 1), (x0 + cell - 1, y0 + cell - 1)];
            match run.r[i].get(j as usize) {
                Some(&v) => {
                    let shade = at(v);
                    root.draw(&Rectangle::new(corners, viridis(shade).filled()))?;
                    // Light text on the dark (low) end of viridis, dark text on the bright end.
                    let ink = if shade < 0.6 { WHITE } else { BLACK };
                    let label = Text::new(format!("{v:.1}"), (x0 + cell / 2, y0 + cell / 2), centered(14).color(&ink));
                    root.draw(&label)?;
                }
                None => root.draw(&Rectangle::new(corners, RGBColor(240, 240, 240).filled()))?,
            }
        }
    }
    let grid_bottom = top + n * cell;
    let axis_title = "category j, numbered as the rows";
    root.draw(&Text::new(axis_title, (left + n * cell / 2, grid_bottom + 20), centered(15)))?;

    // The colour scale: one line per pixel row, high values at the top.
    let x0 = left + n * cell + 30;
    let height = n * cell;
    for py in 0..height {
        let v = 1.0 - py as f64 / (height - 1).max(1) as f64;
        root.draw(&PathElement::new(vec![(x0, top + py), (x0 + 24, top + py)], viridis(v)))?;
    }
    root.draw(&Rectangle::new([(x0, top), (x0 + 24, top + height)], BLACK.stroke_width(1)))?;
    let tick_style = text(14).pos(Pos::new(HPos::Left, VPos::Center));
    for t in 0..=4 {
        let y = top + (height - 1) * (4 - t) / 4;
        root.draw(&PathElement::new(vec![(x0 + 24, y), (x0 + 30, y)], BLACK))?;
        let value = lo + (hi - lo) * t as f64 / 4.0;
        root.draw(&Text::new(format!("{value:.0}"), (x0 + 34, y), tick_style.clone()))?;
    }
    Ok(())
}

/// Shortens `label` with an ellipsis until it fits `max_width` pixels.
fn fit_label(area: &Area, label: &str, style: &TextStyle, max_width: u32) -> Result<String, Box<dyn Error>> {
    let mut chars: Vec<char> = label.chars().collect();
    let mut candidate = label.to_string();
    while area.estimate_text_size(&candidate, style)?.0 > max_width && chars.len() > 1 {
        chars.pop();
        candidate = chars.iter().collect::<String>() + "…";
    }
    Ok(candidate)
}

/// Lowest FG the forgetting chart draws; bars below it are clipped there and carry their value.
pub(crate) const FG_FLOOR: f64 = -100.0;

fn draw_forgetting(root: &Area, runs: &Runs, plan: &PlotPlan, o: usize) -> DrawResult {
    root.fill(&WHITE)?;
    let order = &runs.orders[o];
    let groups = order.categories.len() - 1;
    let (width, _) = forgetting_size(order.categories.len(), order.runs.len());
    let (plot_area, legend_area) = root.split_horizontally(width - LEGEND_W);
    // A little headroom past the extremes, away from zero, so a bar at exactly 80 does not touch the frame.
    // FG cannot exceed 100, but a category barely learned at first can gain thousands of percent later; such
    // bars are clipped at FG_FLOOR and labelled, or one of them would flatten every other bar of the chart.
    let extremes =
        order.runs.iter().flat_map(|run| run.fg.iter().map(|&v| v.max(FG_FLOOR) + 2.0 * v.signum()));
    let (lo, hi) = padded_range(extremes, 0.0);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(format!("Forgetting rate per category, order {}", order.name), text(22))
        .margin(18)
        .x_label_area_size(FG_LABEL_AREA)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..groups as f64, lo..hi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_desc("category, in training order")
        .light_line_style(RGBColor(238, 238, 238))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("FG (% of the score right after learning)")
        .label_style(text(15))
        .axis_desc_style(text(16))
        .draw()?;

    let methods = order.runs.len();
    let slot = 0.8 / methods as f64;
    for (k, run) in order.runs.iter().enumerate() {
        let color = method_color(plan, &run.method);
        let x0 = |g: usize| g as f64 + 0.1 + k as f64 * slot;
        let bars = run.fg.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(g, &v)| {
            Rectangle::new([(x0(g), 0.0), (x0(g) + slot * 0.85, v.max(FG_FLOOR))], color.filled())
        });
        chart.draw_series(bars)?;
        let clipped_style = text(11).transform(FontTransform::Rotate90).pos(Pos::new(HPos::Right, VPos::Center));
        for (g, &v) in run.fg.iter().enumerate().filter(|(_, v)| **v < FG_FLOOR) {
            let (x, y) = chart.backend_coord(&(x0(g) + slot * 0.42, FG_FLOOR));
            root.draw(&Text::new(format!("{v:.0}"), (x, y - 4), clipped_style.clone()))?;
        }
    }
    chart.draw_series(std::iter::once(PathElement::new(vec![(0.0, 0.0), (groups as f64, 0.0)], BLACK)))?;

    // Category names under each group, rotated so long names fit; drawn on the root in pixel coordinates.
    let label_style = text(14).transform(FontTransform::Rotate90).pos(Pos::new(HPos::Left, VPos::Center));
    for (g, category) in order.categories[..groups].iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, lo));
        let label = fit_label(root, &format!("{}. {category}", g + 1), &text(14), FG_LABEL_AREA - 20)?;
        root.draw(&Text::new(label, (x, y + 10), label_style.clone()))?;
    }
    let names: Vec<&str> = order.runs.iter().map(|r| r.method.as_str()).collect();
    draw_legend(&legend_area, plan, &names, true)
}
