//! How messages spread over time: the share of subscribers reached after publish, and
//! each delivery's latency over the run.

use plotters::prelude::*;

use super::{
    C_BLUE, C_GREY, C_ORANGE, C_RED, FULL, HALF, Key, LatencyTarget, Svg, Swatch, axes, dashed,
    frame, ms_text, nice, percent, plain, render, target_color, time_unit,
};
use crate::output::report::series::{Bucket, CoveragePoint, Sample, quantile, thin};

/// Coverage: share of honest subscribers reached against time since publish.
pub(in crate::output::report) fn coverage(curve: &[CoveragePoint], subscribers: usize) -> Svg {
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
        axes(
            &mut chart,
            x_desc,
            format!("share of {subscribers} honest subscribers"),
        )
        .x_label_formatter(&plain)
        .y_label_formatter(&percent)
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

/// Latency over the run: one dot per delivery (thinned), per-second p50/p99 lines, and a
/// labelled vertical mark at each fault of the timeline (`marks`: seconds on the same axis,
/// action). Returns the chart and how many deliveries lie above its y range.
pub(in crate::output::report) fn timeline(
    samples: &[Sample],
    buckets: &[Bucket],
    targets: &[LatencyTarget<'_>],
    marks: &[(f64, &str)],
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
    if !marks.is_empty() {
        key.push(("timeline fault".to_string(), Swatch::Dashed(C_RED)));
    }
    let svg = render(FULL, &key, |root| {
        let mut chart = frame(root, "Latency over the run")
            .build_cartesian_2d(x_min..x_max, 0f64..y_max / div)?;
        axes(
            &mut chart,
            "publish time, seconds after traffic started",
            y_desc,
        )
        .x_label_formatter(&plain)
        .y_label_formatter(&plain)
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
        for (t, action) in marks.iter().filter(|(t, _)| (x_min..=x_max).contains(t)) {
            dashed(
                &mut chart,
                (*t, 0.0),
                (*t, y_max / div),
                C_RED.stroke_width(1),
            )?;
            chart.draw_series(std::iter::once(Text::new(
                action.to_string(),
                (*t, y_max / div * 0.97),
                ("sans-serif", 12).into_font().color(&C_RED),
            )))?;
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
