//! The benchmark's figure: one SVG with the round-trip time distribution
//! (the share of round trips at or under each time, guest beside the
//! loopback baseline) and the paced-rate curve (share echoed against the
//! offered rate).
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

/// A named distribution of round-trip times, sorted, in µs.
pub struct Latency<'a> {
    pub label: String,
    pub sorted_us: &'a [u64],
}

/// A named curve of (offered datagrams/s, % echoed).
pub struct RateCurve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

pub fn draw(path: &Path, title: &str, latency: &[Latency], rates: &[RateCurve]) -> Result<()> {
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 16)).map_err(err)?;
    let (left, right) = root.split_horizontally(560);

    let max_us = latency
        .iter()
        .filter_map(|l| l.sorted_us.last())
        .max()
        .copied()
        .unwrap_or(1000)
        .max(1000) as f64;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "round-trip time, one datagram outstanding",
            ("sans-serif", 14),
        )
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(46)
        .build_cartesian_2d((10f64..max_us * 1.2).log_scale(), 0f64..100f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("round-trip time (µs, log scale)")
        .y_desc("% of round trips at or under")
        .draw()
        .map_err(err)?;
    for (i, l) in latency.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points = quantiles(l.sorted_us).map(|(us, pct)| (us.max(10) as f64, pct));
        chart
            .draw_series(LineSeries::new(points, &color))
            .map_err(err)?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let max_rate = rates
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(1000.0, f64::max);
    let mut chart = ChartBuilder::on(&right)
        .caption("paced host → guest echo", ("sans-serif", 14))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(46)
        .build_cartesian_2d(0f64..max_rate * 1.05, 0f64..105f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("offered datagrams/s")
        .y_desc("% echoed")
        .draw()
        .map_err(err)?;
    for (i, c) in rates.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(c.points.iter().copied(), &color))
            .map_err(err)?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
        chart
            .draw_series(c.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// At most [`CURVE_POINTS`] (time, % at or under) points of a sorted
/// sample, always including its last: enough for the eye, and the file
/// stays small however many round trips were measured.
fn quantiles(sorted: &[u64]) -> impl Iterator<Item = (u64, f64)> + '_ {
    let n = sorted.len();
    let step = n.div_ceil(CURVE_POINTS).max(1);
    (0..n)
        .filter(move |k| k % step == step - 1 || k + 1 == n)
        .map(move |k| (sorted[k], (k + 1) as f64 * 100.0 / n as f64))
}

const CURVE_POINTS: usize = 400;

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the benchmark plot: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_panels() {
        let us: Vec<u64> = (1..=500).map(|i| 100 + i * 3).collect();
        let path = std::env::temp_dir().join(format!("xv6net-plot-{}.svg", std::process::id()));
        draw(
            &path,
            "test",
            &[Latency {
                label: "guest 16 B".into(),
                sorted_us: &us,
            }],
            &[RateCurve {
                label: "guest".into(),
                points: vec![(1000.0, 100.0), (5000.0, 70.0)],
            }],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert!(svg.starts_with("<svg") && svg.contains("guest 16 B") && svg.contains("% echoed"));
    }

    #[test]
    fn quantiles_thin_out_and_keep_the_tail() {
        let us: Vec<u64> = (0..10_000).collect();
        let q: Vec<_> = quantiles(&us).collect();
        assert!(q.len() <= CURVE_POINTS);
        assert_eq!(*q.last().unwrap(), (9_999, 100.0));
        assert_eq!(quantiles(&[5]).collect::<Vec<_>>(), [(5, 100.0)]);
    }
}
