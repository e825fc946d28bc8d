//! Mesh health over the window: the honest nodes' median and smallest mesh size (left
//! axis, against mesh_n and mesh_n_low), and the shares of nodes below mesh_n_low and of
//! honest→honest scores below 0 (right axis).

use plotters::prelude::*;

use super::{
    C_BLUE, C_GREY, C_ORANGE, C_RED, FULL, Key, Svg, Swatch, axes, dashed, frame, plain, render,
};
use crate::analysis::MeshHealth;

/// The chart, or an error without a series.
pub(in crate::output::report) fn mesh_health(m: &MeshHealth) -> Svg {
    if m.series.is_empty() {
        return Err("no mesh sample in the window".to_string());
    }
    let x_max = m.series.last().map_or(1.0, |p| p.t_s + 1.0);
    let top = m
        .series
        .iter()
        .map(|p| p.size_median)
        .fold(m.mesh_n as f64, f64::max)
        .ceil()
        + 1.0;
    let key: Key = vec![
        ("median mesh size".to_string(), Swatch::Line(C_BLUE)),
        ("smallest mesh size".to_string(), Swatch::Line(C_GREY)),
        (
            format!("mesh_n {} and mesh_n_low {}", m.mesh_n, m.mesh_n_low),
            Swatch::Dashed(BLACK),
        ),
        (
            "share of honest nodes below mesh_n_low (right axis)".to_string(),
            Swatch::Line(C_ORANGE),
        ),
        (
            "share of honest→honest scores below 0 (right axis)".to_string(),
            Swatch::Line(C_RED),
        ),
    ];
    render(FULL, &key, |root| {
        let mut chart = frame(root, "Mesh health over the window")
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..top)?
            .set_secondary_coord(0f64..x_max, 0f64..1.0);
        axes(&mut chart, "seconds into the window", "peers in the mesh")
            .x_label_formatter(&plain)
            .y_label_formatter(&plain)
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("share")
            .y_label_formatter(&|v| format!("{:.0} %", v * 100.0))
            .draw()?;
        for level in [m.mesh_n, m.mesh_n_low] {
            let y = level as f64;
            dashed(&mut chart, (0.0, y), (x_max, y), BLACK.stroke_width(1))?;
        }
        chart.draw_series(LineSeries::new(
            m.series.iter().map(|p| (p.t_s, p.size_median)),
            C_BLUE.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            m.series.iter().map(|p| (p.t_s, p.size_min as f64)),
            C_GREY.stroke_width(2),
        ))?;
        chart.draw_secondary_series(LineSeries::new(
            m.series.iter().map(|p| (p.t_s, p.below_low_share)),
            C_ORANGE.stroke_width(2),
        ))?;
        chart.draw_secondary_series(LineSeries::new(
            m.series
                .iter()
                .filter_map(|p| p.negative_share.map(|s| (p.t_s, s))),
            C_RED.stroke_width(2),
        ))?;
        Ok(())
    })
}
