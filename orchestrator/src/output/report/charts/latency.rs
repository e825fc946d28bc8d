//! The latency charts: the CDF and the histogram of every delivery, and the percentile
//! bars drawn from result.json alone when the event log is missing.

use plotters::prelude::*;

use super::{
    C_BLUE, C_BROWN, C_GREEN, C_ORANGE, HALF, Key, LatencyTarget, Svg, Swatch, axes, dashed, frame,
    ms_text, nice, percent, plain, render, target_color, time_unit, verdict,
};
use crate::analysis::LatencySummary;
use crate::output::report::series::{quantile, thin};

/// The latency axis's upper bound for the CDF: the 99.9th percentile (so one straggler
/// does not squash the plot) and every target, plus 10 %.
pub(in crate::output::report) fn latency_axis_max(
    sorted_ms: &[f64],
    targets: &[LatencyTarget<'_>],
) -> f64 {
    let data = quantile(sorted_ms, 0.999).unwrap_or(1.0);
    let t = targets.iter().map(|t| t.ms).fold(0.0, f64::max);
    nice(data.max(t) * 1.1)
}

/// The histogram's latency bound: the data's 99.9th percentile plus 10 % (targets are
/// drawn when they fall inside).
pub(in crate::output::report) fn histogram_axis_max(sorted_ms: &[f64]) -> f64 {
    nice(quantile(sorted_ms, 0.999).unwrap_or(1.0) * 1.1)
}

/// Latency CDF with p50/p95/p99 and the targets marked.
pub(in crate::output::report) fn latency_cdf(
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
        axes(&mut chart, x_desc, "share of deliveries at or below")
            .x_label_formatter(&plain)
            .y_label_formatter(&percent)
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
pub(in crate::output::report) fn latency_histogram(
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
        axes(&mut chart, x_desc, "deliveries")
            .x_label_formatter(&plain)
            .y_label_formatter(&plain)
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

/// Latency percentiles from the result alone (no event log): one bar per percentile.
pub(in crate::output::report) fn percentile_bars(
    summary: &LatencySummary,
    targets: &[LatencyTarget<'_>],
) -> Svg {
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
        axes(&mut chart, "percentile of delivery latency", y_desc)
            .disable_x_mesh()
            .x_labels(bars.len() + 1)
            .x_label_formatter(&x_label)
            .y_label_formatter(&plain)
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

#[cfg(test)]
mod tests {
    use super::*;

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
