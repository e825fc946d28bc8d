//! The host's cost over the window: one stacked bar per interval between samples (nodes,
//! shaper, engine, softirq, other, idle), against a line at the host's cores.

use plotters::prelude::*;

use super::{
    C_BLUE, C_BROWN, C_GREEN, C_GREY, C_ORANGE, C_PURPLE, FULL, Key, Svg, Swatch, axes, dashed,
    frame, nice, plain, render,
};
use crate::host::{Cost, CostPoint};

/// The parts in stacking order, with their key labels and colours.
const PARTS: [(&str, RGBColor); 6] = [
    ("nodes", C_BLUE),
    ("shaper", C_ORANGE),
    ("engine (dockerd, containerd, shims)", C_PURPLE),
    ("kernel softirq", C_BROWN),
    ("other", C_GREY),
    ("idle", C_GREEN),
];

/// A point's parts in cores, in [`PARTS`] order (0 where not measured).
fn stack(p: &CostPoint, cores: f64) -> [f64; 6] {
    [
        p.nodes_cores,
        p.shaper_cores,
        p.engine_cores,
        p.softirq_cores,
        p.other_cores,
        p.host_idle.map(|i| i * cores),
    ]
    .map(|v| v.unwrap_or(0.0).max(0.0))
}

/// The stacked bars of `cost.series` (one bar for the whole window without a series).
pub(in crate::output::report) fn cost(cost: &Cost) -> Svg {
    let cores = f64::from(cost.host_cores.max(1));
    let whole = [cost.whole()];
    let points: &[CostPoint] = if cost.series.is_empty() {
        &whole
    } else {
        &cost.series
    };
    let top = points
        .iter()
        .map(|p| stack(p, cores).iter().sum::<f64>())
        .fold(cores, f64::max);
    let y_max = nice(top * 1.08);
    let x_max = points.last().map_or(1.0, |p| p.at_s).max(1.0);
    let mut key: Key = PARTS
        .iter()
        .map(|(label, c)| ((*label).to_string(), Swatch::Bar(c.mix(0.8))))
        .collect();
    key.push((
        format!("the host's {} cores", cost.host_cores),
        Swatch::Dashed(BLACK),
    ));
    render(FULL, &key, |root| {
        let mut chart = frame(root, "CPU of the host over the window, by part")
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        axes(&mut chart, "seconds into the window", "cores")
            .x_label_formatter(&plain)
            .y_label_formatter(&plain)
            .draw()?;
        let mut from = 0.0;
        for p in points {
            let (x0, x1) = (from, p.at_s);
            from = p.at_s;
            let gap = (x1 - x0) * 0.06;
            let mut base = 0.0;
            for (v, (_, c)) in stack(p, cores).into_iter().zip(PARTS) {
                if v > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0 + gap, base), (x1 - gap, base + v)],
                        c.mix(0.8).filled(),
                    )))?;
                }
                base += v;
            }
        }
        dashed(
            &mut chart,
            (0.0, cores),
            (x_max, cores),
            BLACK.stroke_width(2),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::test_cost;

    #[test]
    fn idle_is_stacked_in_cores_and_missing_parts_are_zero() {
        let p = &test_cost().series[0];
        let s = stack(p, 2.0);
        assert_eq!(s[0], 0.98);
        assert!((s[5] - 0.2).abs() < 1e-12, "{s:?}");
        let empty = stack(&CostPoint::default(), 2.0);
        assert_eq!(empty, [0.0; 6]);
    }

    #[test]
    fn a_cost_without_a_series_draws_one_bar() {
        let mut c = test_cost();
        let with = cost(&c).expect("drawn");
        c.series.clear();
        let without = cost(&c).expect("drawn");
        let bars = |svg: &str| svg.matches("<rect").count();
        assert!(bars(&with) > bars(&without), "two bars of parts, then one");
        assert!(with.contains("2 cores"), "the key names the host cores");
    }
}
