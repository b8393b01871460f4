//! The charts of a `bench/run`: `charts RESULTS_DIR OUT_DIR` reads the JSON results and
//! writes SVG files into OUT_DIR (BENCHMARKS.md links them from `bench/charts/`):
//!
//! - `logins-cpu.svg`, `logins-wall.svg`: the distribution (CDF) of client CPU and of wall
//!   time per login for each side of the lockstep logins (`logins.json`), on a log axis;
//! - `load-throughput.svg`: logins per second against concurrent users (closed loop,
//!   `load.json`);
//! - `load-latency.svg`: the callback latency's p50 and p99 against concurrent users (closed
//!   loop) and against the arrival rate (open loop, as a share of the measured capacity).
//!
//! Text is written as SVG text, measured without font files (no system font libraries).

use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;

type Failure = Box<dyn std::error::Error>;

const SIDES: [(&str, &str); 5] = [
    ("ours", "oauth-clients"),
    ("hand", "hand-written oauth2 + openidconnect"),
    ("openid_client_checks", "openid-client, signature checked"),
    (
        "openid_client_defaults",
        "openid-client, defaults (no signature check)",
    ),
    ("authlib", "Authlib (Python)"),
];

const COLOURS: [RGBColor; 5] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xd6, 0x27, 0x28),
];

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The empirical CDF of each side's `field` (µs per login), on a log axis.
fn login_cdf(logins: &Value, field: &str, title: &str, out: &Path) -> Result<(), Failure> {
    let series: Vec<(&str, Vec<f64>, RGBColor)> = SIDES
        .iter()
        .zip(COLOURS)
        .filter_map(|((key, name), colour)| {
            let mut values = numbers(&logins[*key][field]);
            values.retain(|v| *v > 0.0);
            values.sort_by(f64::total_cmp);
            (!values.is_empty()).then_some((*name, values, colour))
        })
        .collect();
    let all = series.iter().flat_map(|(_, v, _)| v.iter().copied());
    let (low, high) = all.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if series.is_empty() {
        return Ok(());
    }
    let root = SVGBackend::new(out, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((low * 0.8..high * 1.25).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("µs per login (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("share of logins at or below")
        .draw()?;
    for (name, values, colour) in series {
        let n = values.len() as f64;
        chart
            .draw_series(LineSeries::new(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (*v, (i + 1) as f64 / n)),
                colour.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Logins per second against concurrent users, closed loop.
fn throughput(load: &Value, out: &Path) -> Result<(), Failure> {
    let points: Vec<(f64, f64)> = load["closed_loop"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["users"].as_f64()?, r["logins_per_s"].as_f64()?)))
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    let most_users = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let most = points.iter().map(|p| p.1).fold(1.0, f64::max);
    let root = SVGBackend::new(out, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Example app: logins per second against concurrent users (closed loop)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((0.8..most_users * 1.25).log_scale(), 0.0..most * 1.15)?;
    chart
        .configure_mesh()
        .x_desc("concurrent users (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("logins per second (full login + API call)")
        .draw()?;
    chart.draw_series(LineSeries::new(points.clone(), COLOURS[0].stroke_width(2)))?;
    chart.draw_series(
        points
            .iter()
            .map(|p| Circle::new(*p, 4, COLOURS[0].filled())),
    )?;
    root.present()?;
    Ok(())
}

/// Callback latency p50 and p99: closed loop by users, open loop by offered load.
fn latency(load: &Value, out: &Path) -> Result<(), Failure> {
    let series = |list: &str, x: &str, q: &str| -> Vec<(f64, f64)> {
        load[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r[x].as_f64()?, r[q].as_f64()?)))
            .collect()
    };
    let closed = [
        ("p50", series("closed_loop", "users", "callback_p50_ms")),
        ("p99", series("closed_loop", "users", "callback_p99_ms")),
    ];
    let open = [
        (
            "p50",
            series("open_loop", "percent_of_capacity", "callback_p50_ms"),
        ),
        (
            "p99",
            series("open_loop", "percent_of_capacity", "callback_p99_ms"),
        ),
    ];
    let all = || {
        closed
            .iter()
            .chain(&open)
            .flat_map(|(_, s)| s.iter().map(|p| p.1))
    };
    let top = all().fold(1.0, f64::max);
    let bottom = all().fold(top, f64::min) * 0.7;
    let root = SVGBackend::new(out, (1000, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let most_users = closed[0].1.iter().map(|p| p.0).fold(1.0, f64::max);
    latency_panel(
        &left,
        "Callback latency, closed loop",
        (0.8..most_users * 1.25).log_scale(),
        "concurrent users (log scale)",
        (bottom..top * 1.5).log_scale(),
        &closed,
    )?;
    latency_panel(
        &right,
        "Callback latency, open loop",
        0.0..100.0,
        "arrival rate, % of the closed loop's peak",
        (bottom..top * 1.5).log_scale(),
        &open,
    )?;
    root.present()?;
    Ok(())
}

/// One panel of the latency chart: a line with points per quantile, `x` against the latency
/// in ms (log axis), with a legend.
fn latency_panel<X, Y>(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    caption: &str,
    x: X,
    x_desc: &str,
    y: Y,
    lines: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), Failure>
where
    X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("ms (log scale)")
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;
    for ((name, points), colour) in lines.iter().zip(COLOURS) {
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn read(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [results, out] = &args[..] else {
        eprintln!("usage: charts RESULTS_DIR OUT_DIR");
        std::process::exit(2);
    };
    let (results, out) = (Path::new(results), Path::new(out));
    std::fs::create_dir_all(out)?;
    if let Some(logins) = read(&results.join("logins.json")) {
        login_cdf(
            &logins,
            "cpu_us",
            "Client CPU per login (callback handling), every measured login",
            &out.join("logins-cpu.svg"),
        )?;
        login_cdf(
            &logins,
            "wall_us",
            "Wall time per login (callback handling), every measured login",
            &out.join("logins-wall.svg"),
        )?;
    }
    if let Some(load) = read(&results.join("load.json")) {
        throughput(&load, &out.join("load-throughput.svg"))?;
        latency(&load, &out.join("load-latency.svg"))?;
    }
    Ok(())
}
