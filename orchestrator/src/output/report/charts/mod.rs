//! The report's charts, drawn with plotters' SVG back end; this file holds what every
//! chart shares (sizes, colours, the key below the plot, axis formats, latency targets),
//! and one file per family draws the charts:
//!
//! - `latency`: the latency CDF, histogram and (without the event log) percentile bars;
//! - `spread`: coverage after publish and latency over the run;
//! - `nodes`: the scores honest nodes give attackers, CPU and memory per container;
//! - `cost`: where the host's CPU went over the window, part by part;
//! - `mesh`: mesh sizes and honest scores over the window.
//!
//! plotters is built without its `ttf` feature, so it measures text with a crude estimate
//! and writes every title, tick label and legend as an SVG `<text>` element with
//! `font-family="sans-serif"`: the browser draws it with whatever sans-serif font it has,
//! and the report needs no font at render time. Layout leaves room for the estimate's
//! error (generous label areas, the key in its own band below the plot).

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod cost;
mod latency;
mod mesh;
mod nodes;
mod spread;

pub(super) use cost::cost;
pub(super) use latency::{
    histogram_axis_max, latency_axis_max, latency_cdf, latency_histogram, percentile_bars,
};
pub(super) use mesh::mesh_health;
pub(super) use nodes::{Resource, attacker_scores, resources};
pub(super) use spread::{coverage, timeline};

use crate::result::TargetCheck;

/// Width of a chart in the two-column grid, px.
pub(crate) const HALF: u32 = 580;
/// Width of a full-width chart, px.
pub(super) const FULL: u32 = 1180;
/// Height of the plot (title, axes and data), px; the key goes below it.
const HEIGHT: u32 = 360;
/// Height of one row of the key, px.
const KEY_ROW: u32 = 24;

/// An SVG document, or why the chart could not be drawn.
pub(crate) type Svg = Result<String, String>;

pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const FONT: &str = "sans-serif";
pub(crate) const C_BLUE: RGBColor = RGBColor(31, 119, 180);
pub(crate) const C_ORANGE: RGBColor = RGBColor(230, 115, 0);
pub(crate) const C_GREEN: RGBColor = RGBColor(44, 160, 44);
pub(crate) const C_RED: RGBColor = RGBColor(214, 39, 40);
pub(crate) const C_PURPLE: RGBColor = RGBColor(148, 103, 189);
pub(crate) const C_BROWN: RGBColor = RGBColor(120, 60, 0);
pub(crate) const C_GREY: RGBColor = RGBColor(110, 110, 110);
const C_GRID: RGBColor = RGBColor(235, 235, 235);
const C_TEXT: RGBColor = RGBColor(40, 44, 52);

/// How a series looks in the key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A solid line.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A dot.
    Dot(RGBAColor),
    /// A filled box.
    Bar(RGBAColor),
    /// A hollow ring (the sweep's distorted points).
    Ring(RGBColor),
}

/// The key: one entry per series, drawn below the plot so it never covers data.
pub(crate) type Key = Vec<(String, Swatch)>;

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
            Swatch::Ring(c) => area.draw(&Circle::new((x + 13, y), 5, c.stroke_width(2)))?,
        }
        area.draw(&Text::new(label.as_str(), (x + 36, y), style.clone()))?;
    }
    Ok(())
}

/// Draws a chart `width` px wide: `draw` fills the plot and the key is laid out below.
pub(crate) fn render<F>(width: u32, key: &[(String, Swatch)], draw: F) -> Svg
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
pub(crate) fn frame<'a, 'b, 'c>(
    root: &'a Area<'c>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'c>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, (FONT, 21))
        .margin(14)
        .margin_right(24)
        .x_label_area_size(50)
        .y_label_area_size(72);
    b
}

/// A chart's grid and axes in the report's style (light grid, tick and description fonts)
/// with the axes' descriptions; the caller adds the tick formats and draws.
pub(crate) fn axes<'a, 'b, 'c>(
    chart: &'b mut ChartContext<'a, SVGBackend<'c>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: impl Into<String>,
    y_desc: impl Into<String>,
) -> MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, SVGBackend<'c>> {
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(C_GRID)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17));
    mesh
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

/// A duration of `ms` milliseconds in ms (or s from a second on), with fewer decimals as
/// it grows; the page writes its durations this way too.
pub(super) fn ms_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// A round upper bound at or above `v` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k).
pub(crate) fn nice(v: f64) -> f64 {
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
}
