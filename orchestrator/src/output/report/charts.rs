//! The report's charts, drawn with plotters' SVG back end.
//!
//! plotters is built without its `ttf` feature, so it measures text with a crude estimate
//! and writes every title, tick label and legend as an SVG `<text>` element with
//! `font-family="sans-serif"`: the browser draws it with whatever sans-serif font it has,
//! and the report needs no font at render time. Layout leaves room for the estimate's
//! error (generous label areas, legends in headroom above the data).

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::series::{Bucket, CoveragePoint, Sample, quantile, thin};
use crate::analysis::{DefenceStats, LatencySummary};
use crate::result::{ContainerUsage, TargetCheck};

/// Width of a chart in the two-column grid, px.
pub(super) const HALF: u32 = 580;
/// Width of a full-width chart, px.
pub(super) const FULL: u32 = 1180;
/// Height of the plot (title, axes and data), px; the key goes below it.
const HEIGHT: u32 = 360;
/// Height of one row of the key, px.
const KEY_ROW: u32 = 24;

/// An SVG document, or why the chart could not be drawn.
pub(super) type Svg = Result<String, String>;

type DrawResult = Result<(), Box<dyn std::error::Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const FONT: &str = "sans-serif";
const C_BLUE: RGBColor = RGBColor(31, 119, 180);
const C_ORANGE: RGBColor = RGBColor(230, 115, 0);
const C_GREEN: RGBColor = RGBColor(44, 160, 44);
const C_RED: RGBColor = RGBColor(214, 39, 40);
const C_PURPLE: RGBColor = RGBColor(148, 103, 189);
const C_BROWN: RGBColor = RGBColor(120, 60, 0);
const C_GREY: RGBColor = RGBColor(110, 110, 110);
const C_GRID: RGBColor = RGBColor(235, 235, 235);
const C_TEXT: RGBColor = RGBColor(40, 44, 52);

/// How a series looks in the key.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// A solid line.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A dot.
    Dot(RGBAColor),
    /// A filled box.
    Bar(RGBAColor),
}

/// The key: one entry per series, drawn below the plot so it never covers data.
type Key = Vec<(String, Swatch)>;

/// Columns the key needs so that its longest label fits (at most 3, or 2 when narrow).
fn key_columns(width: u32, key: &[(String, Swatch)]) -> u32 {
    let longest = key
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0) as u32;
    // 12.9 px sans-serif averages under 7.5 px a character; the swatch takes 40 px.
    let needed = longest * 15 / 2 + 56;
    let max = if width >= FULL { 3 } else { 2 };
    (1..=max)
        .rev()
        .find(|c| (width - 40) / c >= needed)
        .unwrap_or(1)
}

fn key_height(width: u32, key: &[(String, Swatch)]) -> u32 {
    if key.is_empty() {
        return 0;
    }
    let rows = (key.len() as u32).div_ceil(key_columns(width, key));
    rows * KEY_ROW + 14
}

fn draw_key(area: &Area<'_>, width: u32, key: &[(String, Swatch)]) -> DrawResult {
    let cols = key_columns(width, key);
    let col_w = ((width - 40) / cols) as i32;
    let style = TextStyle::from((FONT, 16).into_font())
        .color(&C_TEXT)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, swatch)) in key.iter().enumerate() {
        let (row, col) = (i as u32 / cols, i as u32 % cols);
        let x = 40 + col as i32 * col_w;
        let y = (row * KEY_ROW + KEY_ROW / 2) as i32;
        match *swatch {
            Swatch::Line(c) => area.draw(&PathElement::new(
                vec![(x, y), (x + 26, y)],
                c.stroke_width(3),
            ))?,
            Swatch::Dashed(c) => {
                for k in 0..3 {
                    let x0 = x + k * 10;
                    area.draw(&PathElement::new(
                        vec![(x0, y), (x0 + 6, y)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Swatch::Dot(c) => area.draw(&Circle::new((x + 13, y), 4, c.filled()))?,
            Swatch::Bar(c) => {
                area.draw(&Rectangle::new([(x, y - 6), (x + 26, y + 6)], c.filled()))?
            }
        }
        area.draw(&Text::new(label.as_str(), (x + 36, y), style.clone()))?;
    }
    Ok(())
}

/// Draws a chart `width` px wide: `draw` fills the plot and the key is laid out below.
fn render<F>(width: u32, key: &[(String, Swatch)], draw: F) -> Svg
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    let mut buf = String::new();
    {
        let height = HEIGHT + key_height(width, key);
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (plot, below) = root.split_vertically(HEIGHT);
        draw(&plot).map_err(|e| e.to_string())?;
        draw_key(&below, width, key).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// A chart frame with the report's fonts and margins.
fn frame<'a, 'b, 'c>(root: &'a Area<'c>, title: &str) -> ChartBuilder<'a, 'b, SVGBackend<'c>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, (FONT, 21))
        .margin(14)
        .margin_right(24)
        .x_label_area_size(50)
        .y_label_area_size(72);
    b
}

fn label_font() -> (&'static str, u32) {
    (FONT, 16)
}

fn desc_font() -> (&'static str, u32) {
    (FONT, 17)
}

/// The unit a latency axis reaching `max_ms` is drawn in: ms below 2 s, else seconds.
/// Returns the divisor from ms and the unit's name.
fn time_unit(max_ms: f64) -> (f64, &'static str) {
    if max_ms > 2000.0 {
        (1000.0, "s")
    } else {
        (1.0, "ms")
    }
}

fn ms_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// A round upper bound at or above `v` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k).
fn nice(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&c| c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

/// Axis tick label for a count or a plain number.
fn plain(v: &f64) -> String {
    if v.abs() >= 10.0 || *v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn percent(v: &f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// A latency target: `p95 < 100 ms` is the quantile 0.95 and 100 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LatencyTarget<'a> {
    /// The target's name, e.g. `p95`.
    pub(super) name: &'a str,
    /// The quantile it constrains.
    pub(super) q: f64,
    /// The bound, ms.
    pub(super) ms: f64,
    /// Whether it was met.
    pub(super) met: bool,
}

/// The latency-percentile targets among `targets` (`pNN` in ms).
pub(super) fn latency_targets(targets: &[TargetCheck]) -> Vec<LatencyTarget<'_>> {
    targets
        .iter()
        .filter(|t| t.unit == "ms")
        .filter_map(|t| {
            let pct: f64 = t.name.strip_prefix('p')?.parse().ok()?;
            (pct > 0.0 && pct < 100.0).then_some(LatencyTarget {
                name: &t.name,
                q: pct / 100.0,
                ms: t.target,
                met: t.met,
            })
        })
        .collect()
}

fn target_color(i: usize) -> RGBColor {
    if i == 0 { C_RED } else { C_PURPLE }
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

/// A dashed line between two points in data coordinates.
fn dashed(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    from: (f64, f64),
    to: (f64, f64),
    style: ShapeStyle,
) -> DrawResult {
    chart.draw_series(DashedLineSeries::new(vec![from, to], 7, 5, style))?;
    Ok(())
}

/// The latency axis's upper bound for the CDF: the 99.9th percentile (so one straggler
/// does not squash the plot) and every target, plus 10 %.
pub(super) fn latency_axis_max(sorted_ms: &[f64], targets: &[LatencyTarget<'_>]) -> f64 {
    let data = quantile(sorted_ms, 0.999).unwrap_or(1.0);
    let t = targets.iter().map(|t| t.ms).fold(0.0, f64::max);
    nice(data.max(t) * 1.1)
}

/// The histogram's latency bound: the data's 99.9th percentile plus 10 % (targets are
/// drawn when they fall inside).
pub(super) fn histogram_axis_max(sorted_ms: &[f64]) -> f64 {
    nice(quantile(sorted_ms, 0.999).unwrap_or(1.0) * 1.1)
}

/// Latency CDF with p50/p95/p99 and the targets marked.
pub(super) fn latency_cdf(
    sorted_ms: &[f64],
    summary: &LatencySummary,
    targets: &[LatencyTarget<'_>],
    x_max: f64,
) -> Svg {
    let n = sorted_ms.len();
    let (div, unit) = time_unit(x_max);
    let x_desc = format!("delivery latency ({unit})");
    let mut points: Vec<(f64, f64)> = thin(
        &sorted_ms
            .iter()
            .enumerate()
            .map(|(i, &v)| (v.min(x_max) / div, (i + 1) as f64 / n as f64))
            .collect::<Vec<_>>(),
        1500,
    );
    let x_max = x_max / div;
    if let Some(&(_, last)) = points.last() {
        points.push((x_max, last));
    }
    let tx = |t: &LatencyTarget<'_>| t.ms / div;
    let marks: Vec<(&str, f64, f64, RGBColor)> = [
        ("p50", 0.50, summary.p50_us, C_GREEN),
        ("p95", 0.95, summary.p95_us, C_ORANGE),
        ("p99", 0.99, summary.p99_us, C_BROWN),
    ]
    .into_iter()
    .filter_map(|(name, q, us, c)| us.map(|us| (name, q, us as f64 / 1000.0, c)))
    .collect();
    let mut key: Key = vec![(format!("{n} deliveries"), Swatch::Line(C_BLUE))];
    for (name, _, v, c) in &marks {
        key.push((format!("{name} {}", ms_text(*v)), Swatch::Line(*c)));
    }
    for (i, t) in targets.iter().enumerate() {
        key.push((
            format!("{} target < {}: {}", t.name, ms_text(t.ms), verdict(t.met)),
            Swatch::Dashed(target_color(i)),
        ));
    }
    render(HALF, &key, |root| {
        let mut chart = frame(root, "Latency CDF").build_cartesian_2d(0f64..x_max, 0f64..1.0f64)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .x_desc(x_desc)
            .y_desc("share of deliveries at or below")
            .x_label_formatter(&plain)
            .y_label_formatter(&percent)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        for (i, t) in targets.iter().enumerate() {
            let style = target_color(i).stroke_width(2);
            dashed(&mut chart, (tx(t), 0.0), (tx(t), 1.0), style)?;
            chart.draw_series(std::iter::once(Cross::new((tx(t), t.q), 6, style)))?;
        }
        chart.draw_series(LineSeries::new(points, C_BLUE.stroke_width(2)))?;
        for (_, q, v, c) in &marks {
            let x = (v / div).min(x_max);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, *q)],
                c.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Circle::new((x, *q), 4, c.filled())))?;
        }
        Ok(())
    })
}

/// Histogram of delivery latency over `0..x_max` in 50 bins.
pub(super) fn latency_histogram(
    sorted_ms: &[f64],
    targets: &[LatencyTarget<'_>],
    x_max: f64,
) -> Svg {
    const BINS: usize = 50;
    let width = x_max / BINS as f64;
    let mut counts = [0u64; BINS];
    for &v in sorted_ms.iter().filter(|&&v| v < x_max) {
        counts[((v / width) as usize).min(BINS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0) as f64;
    let y_max = nice((top * 1.08).max(1.0));
    let bar = C_BLUE.mix(0.75);
    let (div, unit) = time_unit(x_max);
    let x_desc = format!("delivery latency ({unit})");
    let mut key: Key = vec![(
        format!("deliveries per {} bin", ms_text(width)),
        Swatch::Bar(bar),
    )];
    for (i, t) in targets.iter().enumerate() {
        let off = if t.ms > x_max {
            " (beyond the axis)"
        } else {
            ""
        };
        key.push((
            format!("{} target {}{off}", t.name, ms_text(t.ms)),
            Swatch::Dashed(target_color(i)),
        ));
    }
    render(HALF, &key, |root| {
        let mut chart =
            frame(root, "Latency histogram").build_cartesian_2d(0f64..x_max / div, 0f64..y_max)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .x_desc(x_desc)
            .y_desc("deliveries")
            .x_label_formatter(&plain)
            .y_label_formatter(&plain)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, &c)| {
                    let x0 = i as f64 * width / div;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.9 / div, c as f64)],
                        bar.filled(),
                    )
                }),
        )?;
        for (i, t) in targets.iter().enumerate().filter(|(_, t)| t.ms <= x_max) {
            dashed(
                &mut chart,
                (t.ms / div, 0.0),
                (t.ms / div, y_max),
                target_color(i).stroke_width(2),
            )?;
        }
        Ok(())
    })
}

/// Coverage: share of honest subscribers reached against time since publish.
pub(super) fn coverage(curve: &[CoveragePoint], subscribers: usize) -> Svg {
    let x_max_ms = curve.last().map_or(1.0, |p| p.t_ms.max(1e-3));
    let (div, unit) = time_unit(x_max_ms);
    let x_max = x_max_ms / div;
    let x_desc = format!("time since publish ({unit})");
    let key: Key = vec![
        ("mean over messages".to_string(), Swatch::Line(C_BLUE)),
        (
            "slowest 5 % of messages".to_string(),
            Swatch::Line(C_ORANGE),
        ),
        ("95 % of subscribers".to_string(), Swatch::Dashed(C_GREY)),
    ];
    render(HALF, &key, |root| {
        let mut chart =
            frame(root, "Coverage after publish").build_cartesian_2d(0f64..x_max, 0f64..1.0f64)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .x_desc(x_desc)
            .y_desc(format!("share of {subscribers} honest subscribers"))
            .x_label_formatter(&plain)
            .y_label_formatter(&percent)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        dashed(
            &mut chart,
            (0.0, 0.95),
            (x_max, 0.95),
            C_GREY.stroke_width(1),
        )?;
        chart.draw_series(LineSeries::new(
            curve.iter().map(|p| (p.t_ms / div, p.mean)),
            C_BLUE.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            curve.iter().map(|p| (p.t_ms / div, p.slowest)),
            C_ORANGE.stroke_width(2),
        ))?;
        Ok(())
    })
}

/// Latency over the run: one dot per delivery (thinned) and per-second p50/p99 lines.
/// Returns the chart and how many deliveries lie above its y range.
pub(super) fn timeline(
    samples: &[Sample],
    buckets: &[Bucket],
    targets: &[LatencyTarget<'_>],
) -> (Svg, usize) {
    let lat: Vec<f64> = {
        let mut v: Vec<f64> = samples.iter().map(|s| s.latency_ms).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let data_top = quantile(&lat, 0.999)
        .unwrap_or(1.0)
        .max(buckets.iter().map(|b| b.p99_ms).fold(0.0, f64::max))
        .max(targets.iter().map(|t| t.ms).fold(0.0, f64::max));
    let y_max = nice(data_top * 1.08);
    let above = samples.iter().filter(|s| s.latency_ms > y_max).count();
    let (div, unit) = time_unit(y_max);
    let y_desc = format!("delivery latency ({unit})");
    let x_min = samples.first().map_or(0.0, |s| s.t_s.floor().min(0.0));
    let x_max = samples
        .last()
        .map_or(1.0, |s| s.t_s.ceil().max(x_min + 1.0));
    let dots: Vec<Sample> = thin(samples, 4000)
        .into_iter()
        .filter(|s| s.latency_ms <= y_max)
        .collect();
    let dot = C_GREY.mix(0.35);
    let mut key: Key = vec![
        (
            format!("one delivery ({} of {} shown)", dots.len(), samples.len()),
            Swatch::Dot(dot),
        ),
        ("p50 per second".to_string(), Swatch::Line(C_BLUE)),
        ("p99 per second".to_string(), Swatch::Line(C_ORANGE)),
    ];
    for (i, t) in targets.iter().enumerate() {
        key.push((
            format!("{} target {}", t.name, ms_text(t.ms)),
            Swatch::Dashed(target_color(i)),
        ));
    }
    let svg = render(FULL, &key, |root| {
        let mut chart = frame(root, "Latency over the run")
            .build_cartesian_2d(x_min..x_max, 0f64..y_max / div)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .x_desc("publish time, seconds after traffic started")
            .y_desc(y_desc)
            .x_label_formatter(&plain)
            .y_label_formatter(&plain)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        chart.draw_series(
            dots.iter()
                .map(|s| Circle::new((s.t_s, s.latency_ms / div), 2, dot.filled())),
        )?;
        for (i, t) in targets.iter().enumerate() {
            dashed(
                &mut chart,
                (x_min, t.ms / div),
                (x_max, t.ms / div),
                target_color(i).stroke_width(2),
            )?;
        }
        let mid = |b: &Bucket| b.t_s + 0.5;
        chart.draw_series(LineSeries::new(
            buckets.iter().map(|b| (mid(b), b.p50_ms / div)),
            C_BLUE.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            buckets.iter().map(|b| (mid(b), b.p99_ms.min(y_max) / div)),
            C_ORANGE.stroke_width(2),
        ))?;
        Ok(())
    });
    (svg, above)
}

/// Latency percentiles from the result alone (no event log): one bar per percentile.
pub(super) fn percentile_bars(summary: &LatencySummary, targets: &[LatencyTarget<'_>]) -> Svg {
    let bars: Vec<(&str, f64)> = [
        ("p50", summary.p50_us),
        ("p90", summary.p90_us),
        ("p95", summary.p95_us),
        ("p99", summary.p99_us),
        ("max", summary.max_us),
    ]
    .into_iter()
    .filter_map(|(n, us)| us.map(|us| (n, us as f64 / 1000.0)))
    .collect();
    let top = bars
        .iter()
        .map(|b| b.1)
        .chain(targets.iter().map(|t| t.ms))
        .fold(0.0, f64::max);
    let y_max = nice((top * 1.08).max(1.0));
    let (div, unit) = time_unit(y_max);
    let y_desc = format!("latency ({unit})");
    let n = bars.len().max(1) as f64;
    let names: Vec<String> = bars.iter().map(|b| b.0.to_string()).collect();
    let x_label = move |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let bar = C_BLUE.mix(0.75);
    let mut key: Key = vec![("measured".to_string(), Swatch::Bar(bar))];
    for (i, t) in targets.iter().enumerate() {
        key.push((
            format!("{} target {}", t.name, ms_text(t.ms)),
            Swatch::Dashed(target_color(i)),
        ));
    }
    render(HALF, &key, |root| {
        let mut chart = frame(root, "Latency percentiles (from result.json)")
            .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..y_max / div)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .disable_x_mesh()
            .x_labels(bars.len() + 1)
            .x_desc("percentile of delivery latency")
            .y_desc(y_desc)
            .x_label_formatter(&x_label)
            .y_label_formatter(&plain)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
            let x = i as f64;
            Rectangle::new([(x - 0.3, 0.0), (x + 0.3, b.1 / div)], bar.filled())
        }))?;
        for (i, t) in targets.iter().enumerate() {
            dashed(
                &mut chart,
                (-0.5, t.ms / div),
                (n - 0.5, t.ms / div),
                target_color(i).stroke_width(2),
            )?;
        }
        Ok(())
    })
}

/// Attackers' scores (min/median/max over honest observers) with the thresholds.
pub(super) fn attacker_scores(d: &DefenceStats) -> Svg {
    let s = &d.series;
    let lo_data = s.iter().map(|p| p.min).fold(f64::INFINITY, f64::min);
    let hi_data = s.iter().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max);
    let (lo_data, hi_data) = if lo_data.is_finite() && hi_data.is_finite() {
        (lo_data, hi_data)
    } else {
        (0.0, 0.0)
    };
    // Show a threshold when the scores get at least halfway to it (the first always).
    let shown: Vec<(usize, &crate::analysis::ThresholdCrossing)> = d
        .thresholds
        .iter()
        .enumerate()
        .filter(|(i, t)| *i == 0 || lo_data <= t.threshold * 0.5)
        .collect();
    let lo = shown
        .iter()
        .map(|(_, t)| t.threshold)
        .fold(lo_data.min(0.0), f64::min);
    let hi = hi_data.max(0.0);
    let span = (hi - lo).max(1.0);
    let (y_lo, y_hi) = (lo - span * 0.08, hi + span * 0.08);
    let x_min = s.first().map_or(0.0, |p| p.t_s.floor().min(0.0));
    let x_max = s.last().map_or(1.0, |p| p.t_s.ceil().max(x_min + 1.0));
    let band = C_RED.mix(0.15);
    let median = RGBColor(150, 20, 20);
    let colors = [C_ORANGE, C_PURPLE, BLACK];
    let mut key: Key = vec![
        ("median".to_string(), Swatch::Line(median)),
        (
            "lowest to highest over (observer, attacker) pairs".to_string(),
            Swatch::Bar(band),
        ),
    ];
    for (i, t) in &shown {
        let when = t.first_below_s.map_or_else(
            || "median never below".to_string(),
            |secs| format!("median below after {secs:.1} s"),
        );
        key.push((
            format!("{} threshold {} ({when})", t.name, t.threshold),
            Swatch::Dashed(colors[i % colors.len()]),
        ));
    }
    render(FULL, &key, |root| {
        let mut chart = frame(root, "Scores honest nodes give attackers")
            .build_cartesian_2d(x_min..x_max, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .x_desc("seconds after traffic started")
            .y_desc("gossipsub score")
            .x_label_formatter(&plain)
            .y_label_formatter(&plain)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        let mut outline: Vec<(f64, f64)> = s.iter().map(|p| (p.t_s, p.min)).collect();
        outline.extend(s.iter().rev().map(|p| (p.t_s, p.max)));
        chart.draw_series(std::iter::once(Polygon::new(outline, band.filled())))?;
        for (i, t) in &shown {
            dashed(
                &mut chart,
                (x_min, t.threshold),
                (x_max, t.threshold),
                colors[i % colors.len()].stroke_width(2),
            )?;
        }
        chart.draw_series(LineSeries::new(
            s.iter().map(|p| (p.t_s, p.median)),
            median.stroke_width(2),
        ))?;
        Ok(())
    })
}

/// Which per-container figure a resource chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resource {
    /// Mean CPU, percent of one core.
    Cpu,
    /// Peak memory, MiB.
    Memory,
}

/// One bar per container, in plan order.
pub(super) fn resources(containers: &[ContainerUsage], which: Resource) -> Svg {
    let values: Vec<Option<f64>> = containers
        .iter()
        .map(|c| match which {
            Resource::Cpu => c.cpu_percent_mean,
            Resource::Memory => c.mem_peak_bytes.map(|b| b as f64 / 1_048_576.0),
        })
        .collect();
    let top = values.iter().flatten().copied().fold(0.0, f64::max);
    let y_max = nice((top * 1.08).max(0.1));
    let n = containers.len().max(1) as f64;
    let (title, y_desc, color) = match which {
        Resource::Cpu => ("CPU per container (mean)", "% of one core", C_BLUE),
        Resource::Memory => ("Memory per container (peak)", "MiB", C_GREEN),
    };
    let whole = |v: &f64| {
        if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    render(HALF, &[], |root| {
        let mut chart = frame(root, title).build_cartesian_2d(-0.5f64..n - 0.5, 0f64..y_max)?;
        chart
            .configure_mesh()
            .light_line_style(C_GRID)
            .disable_x_mesh()
            .x_labels(containers.len().clamp(2, 11))
            .x_desc("container number (plan order, # in the node table)")
            .y_desc(y_desc)
            .x_label_formatter(&whole)
            .y_label_formatter(&plain)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .draw()?;
        let bar = color.mix(0.75).filled();
        let half = if containers.len() > 40 { 0.45 } else { 0.38 };
        chart.draw_series(values.iter().enumerate().filter_map(|(i, v)| {
            let x = i as f64;
            v.map(|v| Rectangle::new([(x - half, 0.0), (x + half, v)], bar))
        }))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Comparison;

    #[test]
    fn nice_rounds_up_to_a_round_number() {
        assert_eq!(nice(0.7), 0.8);
        assert_eq!(nice(1.2), 1.2);
        assert_eq!(nice(1.3), 1.5);
        assert_eq!(nice(210.0), 250.0);
        assert_eq!(nice(480.0), 500.0);
        assert_eq!(nice(700.0), 800.0);
        assert_eq!(nice(0.0), 1.0);
    }

    #[test]
    fn percentile_targets_are_recognised() {
        let t = |name: &str, unit: &str| TargetCheck {
            name: name.into(),
            unit: unit.into(),
            comparison: Comparison::Below,
            target: 100.0,
            measured: Some(50.0),
            met: true,
        };
        let all = [t("p95", "ms"), t("delivery", "ratio"), t("p99", "ms")];
        let lt = latency_targets(&all);
        assert_eq!(lt.len(), 2);
        assert_eq!((lt[0].name, lt[0].q), ("p95", 0.95));
        assert_eq!(lt[1].q, 0.99);
    }

    #[test]
    fn charts_are_svg_with_text_labels() {
        let sorted: Vec<f64> = (1..=200).map(f64::from).collect();
        let summary = LatencySummary {
            count: 200,
            p50_us: Some(100_000),
            p95_us: Some(190_000),
            p99_us: Some(198_000),
            ..LatencySummary::default()
        };
        let x_max = latency_axis_max(&sorted, &[]);
        let svg = latency_cdf(&sorted, &summary, &[], x_max).expect("drawn");
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("Latency CDF\n</text>"), "title is SVG text");
        assert!(
            svg.contains("delivery latency (ms)\n</text>"),
            "axis label is SVG text"
        );
    }
}
