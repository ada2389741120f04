//! The one plotting engine of collbench (the `plotters` crate, its SVG backend): log-scaled
//! charts of lines and markers, and the number formats their ticks use. Every plot of the
//! project, the run's `busbw.svg` and the model's, is drawn through here.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;

pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stroke {
    Line { width: u32 },
    Dashed { width: u32 },
    Markers,
}

/// One named series of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub stroke: Stroke,
}

/// A chart: log x; y log or linear; the series; the tick formats.
pub struct Chart<'a> {
    pub caption: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub y_log: bool,
    pub series: &'a [Series],
    pub x_tick: &'a dyn Fn(f64) -> String,
    pub y_tick: &'a dyn Fn(f64) -> String,
    pub legend: bool,
}

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A whole SVG document of `width` x `height` drawn by `draw`.
pub fn document(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area<'_>) -> Result<(), String>,
) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string()));
        if let Err(e) = drawn {
            let _ = root.draw(&Text::new(
                format!("plot failed: {e}"),
                (10, 20),
                ("sans-serif", 12),
            ));
        }
    }
    out
}

/// Draws `c` into `area`.
pub fn chart(area: &Area<'_>, c: &Chart<'_>) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut b = ChartBuilder::on(area);
    b.caption(c.caption, ("sans-serif", 14))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64);
    // Ticks at powers of two: sizes and rank counts are.
    let x = (c.x_range.0..c.x_range.1).log_scale().base(2.0);
    if c.y_log {
        let mut ch = b
            .build_cartesian_2d(x, (c.y_range.0..c.y_range.1).log_scale())
            .map_err(|e| err(&e))?;
        mesh(&mut ch, c)?;
        series(&mut ch, c)
    } else {
        let mut ch = b
            .build_cartesian_2d(x, c.y_range.0..c.y_range.1)
            .map_err(|e| err(&e))?;
        mesh(&mut ch, c)?;
        series(&mut ch, c)
    }
}

fn mesh<'a, Y>(
    ch: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<LogCoord<f64>, Y>>,
    c: &Chart<'_>,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    ch.configure_mesh()
        .x_desc(c.x_desc)
        .y_desc(c.y_desc)
        .x_label_formatter(&|v| (c.x_tick)(*v))
        .y_label_formatter(&|v| (c.y_tick)(*v))
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| e.to_string())
}

fn series<'a, Y>(
    ch: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<LogCoord<f64>, Y>>,
    c: &Chart<'_>,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64>,
{
    let err = |e: &dyn std::fmt::Display| e.to_string();
    for s in c.series {
        let col = s.color;
        let mut pts = s.points.clone();
        pts.retain(|(x, y)| x.is_finite() && y.is_finite() && *x > 0.0);
        match s.stroke {
            // A series without a name stays out of the legend.
            Stroke::Line { width } => {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let drawn = ch
                    .draw_series(LineSeries::new(pts, col.stroke_width(width)))
                    .map_err(|e| err(&e))?;
                if !s.name.is_empty() {
                    drawn.label(s.name.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2))
                    });
                }
            }
            Stroke::Dashed { width } => {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let drawn = ch
                    .draw_series(DashedLineSeries::new(pts, 4, 3, col.stroke_width(width)))
                    .map_err(|e| err(&e))?;
                if !s.name.is_empty() {
                    drawn.label(s.name.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(1))
                    });
                }
            }
            Stroke::Markers => {
                let drawn = ch
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, col.filled())))
                    .map_err(|e| err(&e))?;
                if !s.name.is_empty() {
                    drawn
                        .label(s.name.clone())
                        .legend(move |(x, y)| Circle::new((x + 8, y), 4, col.filled()));
                }
            }
        }
    }
    if c.legend && !c.series.is_empty() {
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.7))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// The range of a log axis that holds every positive finite value, widened to whole decades
/// (1 .. 10 when there is none).
pub fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi <= 0.0 {
        return (1.0, 10.0);
    }
    let lo = 10f64.powf(lo.log10().floor());
    let mut hi = 10f64.powf(hi.log10().ceil());
    if hi <= lo {
        hi = lo * 10.0;
    }
    (lo, hi)
}

/// A time for a tick: 12 us, 3.5 ms, 2 s.
pub fn fmt_time(us: f64) -> String {
    if us >= 1e6 {
        format!("{} s", trim(us / 1e6))
    } else if us >= 1e3 {
        format!("{} ms", trim(us / 1e3))
    } else {
        format!("{} us", trim(us))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A rank count for a tick: 512, 131072 (whole numbers, as the sweep writes them).
pub fn fmt_count(v: f64) -> String {
    format!("{}", v.round())
}

/// A linear range from 0 to a little above the largest value (0 .. 1 when there is none).
pub fn linear_upto(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let hi = values.filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    (0.0, if hi > 0.0 { hi * 1.1 } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of more than two points: the series (a legend's sample has two).
    fn lines(svg: &str) -> usize {
        svg.split("<polyline")
            .skip(1)
            .filter(|p| {
                let points = p.split("points=\"").nth(1).unwrap_or("");
                points[..points.find('"').unwrap_or(0)]
                    .split_whitespace()
                    .count()
                    > 2
            })
            .count()
    }

    #[test]
    fn one_line_per_series_and_escaped_text() {
        let series: Vec<Series> = ["a<b", "c&d"]
            .iter()
            .enumerate()
            .map(|(i, name)| Series {
                name: (*name).to_string(),
                points: vec![(1.0, 1.0), (10.0, 2.0 + i as f64), (100.0, 3.0)],
                color: color(i),
                stroke: Stroke::Line { width: 2 },
            })
            .collect();
        let svg = document(400, 300, |root| {
            chart(
                root,
                &Chart {
                    caption: "x <y>",
                    x_desc: "size",
                    y_desc: "busbw",
                    x_range: (1.0, 100.0),
                    y_range: (0.0, 4.0),
                    y_log: false,
                    series: &series,
                    x_tick: &|x| format!("{x}"),
                    y_tick: &|y| format!("{y}"),
                    legend: true,
                },
            )
        });
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(lines(&svg), 2, "{svg}");
        assert!(svg.contains("x &lt;y&gt;") && svg.contains("a&lt;b") && svg.contains("c&amp;d"));
        assert!(!svg.contains("plot failed"));
    }
}
