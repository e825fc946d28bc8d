//! Per-node charts: the scores honest nodes give attackers, and CPU and memory per
//! container.

use plotters::prelude::*;

use super::{
    C_BLUE, C_GREEN, C_ORANGE, C_PURPLE, C_RED, FULL, HALF, Key, Svg, Swatch, axes, dashed, frame,
    nice, plain, render,
};
use crate::analysis::{DefenceStats, ThresholdCrossing};
use crate::result::ContainerUsage;

/// Attackers' scores (min/median/max over honest observers) with the thresholds.
pub(in crate::output::report) fn attacker_scores(d: &DefenceStats) -> Svg {
    let s = &d.series;
    let lo_data = s.iter().map(|p| p.min).fold(f64::INFINITY, f64::min);
    let hi_data = s.iter().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max);
    let (lo_data, hi_data) = if lo_data.is_finite() && hi_data.is_finite() {
        (lo_data, hi_data)
    } else {
        (0.0, 0.0)
    };
    // Show a threshold when the scores get at least halfway to it (the first always).
    let shown: Vec<(usize, &ThresholdCrossing)> = d
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
        axes(
            &mut chart,
            "seconds after traffic started",
            "gossipsub score",
        )
        .x_label_formatter(&plain)
        .y_label_formatter(&plain)
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
pub(in crate::output::report) enum Resource {
    /// Mean CPU, percent of one core.
    Cpu,
    /// Peak memory, MiB.
    Memory,
}

/// One bar per container, in plan order.
pub(in crate::output::report) fn resources(containers: &[ContainerUsage], which: Resource) -> Svg {
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
        axes(
            &mut chart,
            "container number (plan order, # in the node table)",
            y_desc,
        )
        .disable_x_mesh()
        .x_labels(containers.len().clamp(2, 11))
        .x_label_formatter(&whole)
        .y_label_formatter(&plain)
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
