//! `sweep.html`: one chart per tracked figure against the first swept parameter (one line
//! per combination of the others), then a table of every point; and the terminal's line
//! per point. Drawn with the run report's chart helpers and style sheet.
//!
//! In a chart, the x axis holds the first parameter's values in the order given, evenly
//! spaced. A point that ran and was judged (met or missed) is a filled dot; a line joins
//! such dots at neighbouring values only. A distorted point (the lab measured its host) is
//! a hollow ring and never joined: its figure is not a result. A point that failed, did
//! not run, or did not measure the figure is absent.

use std::path::{Path, PathBuf};

use maud::{DOCTYPE, Markup, PreEscaped, html};
use plotters::prelude::*;

use super::figures::FigureDef;
use super::json::{PointResult, Status, SweepResult};
use crate::error::Error;
use crate::output::report::shared::{
    Area, C_BLUE, C_BROWN, C_GREEN, C_GREY, C_ORANGE, C_PURPLE, C_RED, DrawResult, HALF, Key,
    SORT_SCRIPT, STYLE, Svg, Swatch, axes, frame, nice, render,
};

/// The page's file name in the sweep's folder.
pub const SWEEP_HTML: &str = "sweep.html";

/// Line colours, in the order lines are listed.
const PALETTE: [RGBColor; 7] = [C_BLUE, C_ORANGE, C_GREEN, C_RED, C_PURPLE, C_BROWN, C_GREY];
/// Longest x tick label, characters.
const TICK_CHARS: usize = 16;
/// Most x tick labels a chart shows (every k-th value beyond).
const MAX_TICKS: usize = 12;

/// Writes `dir/sweep.html` and returns its path.
pub fn write(sweep: &SweepResult, dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let path = dir.join(SWEEP_HTML);
    std::fs::write(&path, page(sweep)).map_err(|e| Error::io("write", &path, e))?;
    Ok(path)
}

/// One line of a chart: the points of one combination of the other parameters.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    /// The other parameters' values (`all points` with one parameter).
    pub(super) label: String,
    /// (x index, value, whether the value is a result), by x.
    pub(super) points: Vec<(usize, f64, bool)>,
}

/// The lines of figure `key`: one per combination of the parameters after the first, in
/// grid order; only points that measured the figure and ran to a verdict.
pub(super) fn lines(sweep: &SweepResult, key: &str) -> Vec<Line> {
    let mut out: Vec<(Vec<usize>, Line)> = Vec::new();
    for p in &sweep.points {
        let others = p.at.get(1..).unwrap_or_default().to_vec();
        let i = match out.iter().position(|(o, _)| *o == others) {
            Some(i) => i,
            None => {
                let label = p
                    .set
                    .iter()
                    .skip(1)
                    .map(|e| format!("{}={}", short_path(&e.path), e.value))
                    .collect::<Vec<_>>()
                    .join(", ");
                let label = if label.is_empty() {
                    "all points".to_string()
                } else {
                    label
                };
                out.push((
                    others,
                    Line {
                        label,
                        points: Vec::new(),
                    },
                ));
                out.len() - 1
            }
        };
        let value = p.figures.get(key).copied().flatten();
        let drawn = matches!(p.status, Status::Met | Status::Missed | Status::Distorted);
        if let (Some(v), true, Some(&x)) = (value, drawn, p.at.first()) {
            out[i].1.points.push((x, v, p.status.is_result()));
        }
    }
    out.into_iter()
        .map(|(_, mut l)| {
            l.points.sort_by_key(|p| p.0);
            l
        })
        .collect()
}

/// The runs of a line drawn joined: results at neighbouring x values.
pub(super) fn segments(points: &[(usize, f64, bool)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<usize> = None;
    for &(x, v, result) in points {
        if !result {
            last = None;
            continue;
        }
        match (last, out.last_mut()) {
            (Some(l), Some(seg)) if l + 1 == x => seg.push((x as f64, v)),
            _ => out.push(vec![(x as f64, v)]),
        }
        last = Some(x);
    }
    out.retain(|s| s.len() > 1);
    out
}

/// `gossipsub.mesh_n` → `mesh_n`: the last key, for keys.
fn short_path(path: &str) -> &str {
    path.rsplit('.')
        .find(|s| !s.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or(path)
}

/// The y range of a figure in `unit` holding `values`.
fn y_range(values: &[f64], unit: &str) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if unit == "ratio" {
        let pad = ((hi - lo) * 0.1).max(0.005);
        return ((lo - pad).max(0.0), (hi + pad).min(1.0).max(lo + pad));
    }
    if lo >= 0.0 {
        return (0.0, nice(hi * 1.08));
    }
    let pad = ((hi - lo) * 0.1).max(1.0);
    (lo - pad, hi + pad)
}

/// A tick label with as many decimals as a range of `span` needs.
fn tick(v: f64, span: f64) -> String {
    let decimals = (1.0 - span.max(1e-9).log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// The chart of one figure.
pub(super) fn chart(sweep: &SweepResult, def: &FigureDef) -> Option<Svg> {
    let lines = lines(sweep, &def.key);
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect();
    if values.is_empty() {
        return None;
    }
    let first = sweep.parameters.first()?;
    let ticks: Vec<String> = first
        .values
        .iter()
        .map(|v| {
            if v.chars().count() > TICK_CHARS {
                format!("{}…", v.chars().take(TICK_CHARS - 1).collect::<String>())
            } else {
                v.clone()
            }
        })
        .collect();
    let n = ticks.len().max(1);
    let every = n.div_ceil(MAX_TICKS);
    let (y0, y1) = y_range(&values, &def.unit);
    let mut key: Key = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.label.clone(), Swatch::Line(PALETTE[i % PALETTE.len()])))
        .collect();
    let any_distorted = lines.iter().any(|l| l.points.iter().any(|p| !p.2));
    if any_distorted {
        key.push((
            "hollow: distorted, not a result".to_string(),
            Swatch::Ring(C_GREY),
        ));
    }
    let title = if def.unit.is_empty() {
        def.label.clone()
    } else {
        format!("{} ({})", def.label, def.unit)
    };
    Some(render(HALF, &key, |root: &Area<'_>| -> DrawResult {
        let x_label = |x: &f64| {
            let r = x.round();
            if (x - r).abs() < 1e-6 && r >= 0.0 && (r as usize).is_multiple_of(every) {
                ticks.get(r as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let y_label = |y: &f64| tick(*y, y1 - y0);
        let mut chart =
            frame(root, &title).build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y0..y1)?;
        axes(&mut chart, first.path.clone(), def.unit.clone())
            .x_labels(n)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .draw()?;
        for (i, l) in lines.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            for seg in segments(&l.points) {
                chart.draw_series(LineSeries::new(seg, c.stroke_width(2)))?;
            }
            chart.draw_series(
                l.points
                    .iter()
                    .filter(|p| p.2)
                    .map(|&(x, v, _)| Circle::new((x as f64, v), 4, c.filled())),
            )?;
            chart.draw_series(
                l.points
                    .iter()
                    .filter(|p| !p.2)
                    .map(|&(x, v, _)| Circle::new((x as f64, v), 6, c.stroke_width(2))),
            )?;
        }
        Ok(())
    }))
}

/// A figure's value as tables show it.
fn value_text(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "–".to_string(),
        Some(v) => match unit {
            "ratio" => format!("{v:.4}"),
            "ms" | "s" | "cores" => format!("{v:.2}"),
            "copies" => format!("{v:.2}"),
            _ if v == v.round() && v.abs() < 1e15 => format!("{v:.0}"),
            _ => format!("{v:.3}"),
        },
    }
}

/// The terminal line of a point after it ran: its verdict and headline figures.
pub fn point_line(sweep: &SweepResult, p: &PointResult) -> String {
    let fig = |k: &str| {
        let unit = sweep
            .figures
            .iter()
            .find(|d| d.key == k)
            .map_or("", |d| d.unit.as_str());
        let v = value_text(p.figures.get(k).copied().flatten(), unit);
        if unit == "ms" {
            format!("{k} {v} ms")
        } else {
            format!("{k} {v}")
        }
    };
    match p.status {
        Status::Failed => format!("failed ({})", p.error.as_deref().unwrap_or("no cause")),
        Status::NotRun => "not run".to_string(),
        s => {
            let mut line = format!(
                "{} · {} · {} · {}",
                s.name(),
                fig("p50"),
                fig("p99"),
                fig("delivery")
            );
            if let Some(cause) = p.distorted.first() {
                line.push_str(&format!(" · distorted: {cause}"));
            }
            line
        }
    }
}

/// The page.
pub(super) fn page(sweep: &SweepResult) -> String {
    let count = |s: Status| sweep.points.iter().filter(|p| p.status == s).count();
    let mut charts: Vec<(&FigureDef, Svg)> = Vec::new();
    let (mut unmeasured, mut constant) = (Vec::new(), Vec::new());
    for d in &sweep.figures {
        let values: Vec<f64> = lines(sweep, &d.key)
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .collect();
        match values.first() {
            None => unmeasured.push(d.label.as_str()),
            Some(&v) if values.len() > 1 && values.iter().all(|&w| w == v) => {
                let unit = if d.unit.is_empty() { "" } else { " " };
                constant.push(format!(
                    "{} {}{unit}{}",
                    d.label,
                    value_text(Some(v), &d.unit),
                    d.unit
                ));
            }
            Some(_) => {
                if let Some(svg) = chart(sweep, d) {
                    charts.push((d, svg));
                }
            }
        }
    }
    let x = sweep.parameters.first().map_or("", |p| p.path.as_str());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sweep of " (sweep.scenario) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                h1 { "Sweep of scenario " (sweep.scenario) }
                p.sub {
                    (sweep.points.len()) " points · " (sweep.trials) " run(s) a point · "
                    (sweep.scenario_file.display())
                }
                p {
                    @for s in [Status::Met, Status::Missed, Status::Distorted, Status::Failed, Status::NotRun] {
                        @let n = count(s);
                        @if n > 0 { span.badge.(badge_class(s)) { (n) " " (s.name()) } " " }
                    }
                }
                @if sweep.interrupted {
                    div.notes { "The sweep was interrupted: points marked \"not run\" did not start." }
                }
                h2 { "Parameters" }
                table {
                    thead { tr { th { "--set" } th { "values, in order" } } }
                    tbody { @for p in &sweep.parameters { tr { td { (p.path) } td { (p.values.join(", ")) } } } }
                }
                h2 { "Figures against " (x) }
                p {
                    "The x axis holds the values of " code { (x) } " in the order given, evenly \
                    spaced; each line is one combination of the other parameters. Filled dots are \
                    results (met or missed), joined only at neighbouring values. Hollow rings are \
                    distorted points: the lab measured its own host, so their figures are not \
                    results and are never joined. A point that failed, did not run, or did not \
                    measure the figure is absent."
                    @if sweep.trials > 1 { " Each value is the median over the point's trials." }
                }
                div.grid {
                    @for (d, svg) in &charts { (figure(d, svg)) }
                }
                @if !constant.is_empty() {
                    p.sub { "The same at every point (not charted): " (constant.join("; ")) "." }
                }
                @if !unmeasured.is_empty() {
                    p.sub { "Measured in no point: " (unmeasured.join(", ")) "." }
                }
                h2 { "Points" }
                (table(sweep))
                footer { "orchestrator " (env!("CARGO_PKG_VERSION")) " · sweep.json beside this page holds every figure" }
            } }
            script { (PreEscaped(SORT_SCRIPT)) }
        }
    };
    markup.into_string()
}

fn badge_class(s: Status) -> &'static str {
    match s {
        Status::Met => "met",
        Status::Missed | Status::Failed => "missed",
        Status::Distorted | Status::NotRun => "none",
    }
}

fn figure(d: &FigureDef, svg: &Svg) -> Markup {
    html! {
        figure {
            @match svg {
                Ok(svg) => (PreEscaped(svg.as_str())),
                Err(e) => div.missing { "chart not drawn: " (e) },
            }
            figcaption { (d.key) }
        }
    }
}

fn table(sweep: &SweepResult) -> Markup {
    html! {
        div.scroll { table.sortable.nodes {
            thead { tr {
                th { "#" }
                @for p in &sweep.parameters { th { (p.path) } }
                th { "verdict" }
                @for d in &sweep.figures {
                    th title=(d.label) { (d.key) @if !d.unit.is_empty() { " (" (d.unit) ")" } }
                }
                th { "runs" }
                th { "distorted because / error" }
            } }
            tbody {
                @for p in &sweep.points {
                    tr {
                        td.n data-v=(p.index) { (p.index) }
                        @for (k, e) in p.set.iter().enumerate() {
                            td data-v=(p.at.get(k).copied().unwrap_or(0)) { (e.value) }
                        }
                        td.(cell_class(p.status)) data-v=(p.status.name()) { (p.status.name()) }
                        @for d in &sweep.figures {
                            @let v = p.figures.get(&d.key).copied().flatten();
                            td.n data-v=(v.map_or(String::new(), |v| v.to_string())) { (value_text(v, &d.unit)) }
                        }
                        td data-v=(p.run_ids.join(" ")) { (p.run_ids.join(" ")) }
                        td data-v="" {
                            @for c in &p.distorted { (c) br; }
                            @if let Some(e) = &p.error { (e) }
                        }
                    }
                }
            }
        } }
    }
}

fn cell_class(s: Status) -> &'static str {
    match s {
        Status::Met | Status::NotRun => "",
        Status::Missed | Status::Failed => "bad",
        Status::Distorted => "warn",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::json::tests::two_by_two;

    fn filled() -> SweepResult {
        let mut s = two_by_two();
        for (i, p) in s.points.iter_mut().enumerate() {
            p.status = Status::Met;
            p.figures.insert("p99".into(), Some(10.0 * (i + 1) as f64));
        }
        s
    }

    #[test]
    fn one_line_per_combination_of_the_other_parameters() {
        let s = filled();
        let l = lines(&s, "p99");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].label, "mesh_n=4");
        // Points 1 and 3 have mesh_n=4, at rates 1/s and 2/s.
        assert_eq!(l[0].points, vec![(0, 10.0, true), (1, 30.0, true)]);
        assert_eq!(l[1].points, vec![(0, 20.0, true), (1, 40.0, true)]);
    }

    #[test]
    fn distorted_points_are_drawn_but_never_joined() {
        let mut s = filled();
        s.points[2].status = Status::Distorted;
        s.points[1].status = Status::Failed;
        let l = lines(&s, "p99");
        assert_eq!(l[0].points, vec![(0, 10.0, true), (1, 30.0, false)]);
        assert_eq!(
            l[1].points,
            vec![(1, 40.0, true)],
            "a failed point is not drawn"
        );
        assert!(
            segments(&l[0].points).is_empty(),
            "nothing joins a distorted point"
        );
        let pts = [
            (0, 1.0, true),
            (1, 2.0, true),
            (2, 3.0, false),
            (3, 4.0, true),
            (4, 5.0, true),
        ];
        assert_eq!(
            segments(&pts),
            vec![vec![(0.0, 1.0), (1.0, 2.0)], vec![(3.0, 4.0), (4.0, 5.0)]]
        );
        // A gap (a point not run) breaks the line too.
        assert!(segments(&[(0, 1.0, true), (2, 3.0, true)]).is_empty());
    }

    #[test]
    fn the_page_has_a_chart_per_measured_figure_and_every_point() {
        let mut s = filled();
        s.points[3].status = Status::Distorted;
        s.points[3].distorted = vec!["the host was 99 % busy".into()];
        let html = page(&s);
        assert_eq!(html.matches("<svg").count(), 1, "only p99 was measured");
        assert!(
            html.contains("hollow: distorted"),
            "the key explains the rings"
        );
        assert!(html.contains("the host was 99 % busy"));
        assert!(
            html.contains(">2/s<"),
            "the x axis and the table name the values"
        );
        assert!(html.contains("Measured in no point: latency p50"));
        // A figure equal at every point is listed, not charted.
        let mut s = filled();
        for p in &mut s.points {
            p.figures.insert("delivery".into(), Some(1.0));
        }
        let html = page(&s);
        assert_eq!(html.matches("<svg").count(), 1, "p99 only");
        assert!(
            html.contains("The same at every point (not charted): delivery ratio 1.0000 ratio."),
            "{html}"
        );
        // The parameters' heading and two rows, the points' heading and four rows.
        assert_eq!(html.matches("<tr>").count(), 3 + 5);
    }

    #[test]
    fn the_first_parameters_values_label_the_x_axis() {
        for n in 1usize..=32 {
            let values: Vec<String> = (0..n).map(|i| format!("{}/s", i + 1)).collect();
            let flags = vec![format!("traffic.rate={}", values.join(","))];
            let grid = crate::sweep::Grid::parse(&flags, 1, 100).expect("grid");
            let mut s = SweepResult::new("s", Path::new("s.toml"), 1, &grid, &vec![1; n]);
            for p in &mut s.points {
                p.status = Status::Missed;
                p.figures.insert("p50".into(), Some(5.0));
            }
            let def = s.figures[0].clone();
            let svg = chart(&s, &def).expect("measured").expect("drawn");
            let every = n.div_ceil(MAX_TICKS);
            let shown: Vec<bool> = values
                .iter()
                .map(|v| svg.contains(&format!(">\n{v}\n<")))
                .collect();
            let want: Vec<bool> = (0..n).map(|i| i.is_multiple_of(every)).collect();
            assert_eq!(shown, want, "{n} values");
        }
    }

    #[test]
    fn ranges_and_ticks_fit_the_values() {
        assert_eq!(y_range(&[12.0, 80.0], "ms"), (0.0, 100.0));
        let (lo, hi) = y_range(&[0.99, 1.0], "ratio");
        assert!(lo > 0.98 && lo < 0.99 && hi == 1.0, "{lo} {hi}");
        assert_eq!(tick(0.9912, 0.02), "0.991");
        assert_eq!(tick(25.0, 50.0), "25");
        assert_eq!(tick(250.0, 500.0), "250");
    }
}
