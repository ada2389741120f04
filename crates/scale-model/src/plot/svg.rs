//! Just enough SVG: a document, log-scaled axes with decade grid lines, lines, markers, text.

use std::fmt::Write;

pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Stroke colour, width and optional dash pattern.
#[derive(Clone, Copy, Debug)]
pub struct Pen<'a> {
    pub color: &'a str,
    pub width: f64,
    pub dash: Option<&'a str>,
}

impl<'a> Pen<'a> {
    pub fn new(color: &'a str, width: f64, dash: Option<&'a str>) -> Self {
        Pen { color, width, dash }
    }

    fn dash_attr(&self) -> String {
        self.dash
            .map(|d| format!(" stroke-dasharray=\"{d}\""))
            .unwrap_or_default()
    }
}

pub struct Svg {
    buf: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Self {
        let mut buf = String::new();
        let _ = write!(
            buf,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        Svg { buf }
    }

    pub fn text(&mut self, x: f64, y: f64, anchor: &str, size: f64, text: &str) {
        let _ = writeln!(
            self.buf,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"{size}\">{}</text>",
            escape(text)
        );
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), pen: Pen<'_>) {
        let (stroke, width, dash) = (pen.color, pen.width, pen.dash_attr());
        let _ = writeln!(
            self.buf,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\" \
             stroke-width=\"{width}\"{dash}/>"
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], pen: Pen<'_>) {
        if points.len() < 2 {
            if let Some(&(x, y)) = points.first() {
                self.circle(x, y, 2.5, pen.color);
            }
            return;
        }
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let (stroke, width, dash) = (pen.color, pen.width, pen.dash_attr());
        let _ = writeln!(
            self.buf,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>",
            pts.join(" ")
        );
    }

    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.buf,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{fill}\" fill-opacity=\"0.8\"/>"
        );
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, stroke: &str) {
        let _ = writeln!(
            self.buf,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"none\" \
             stroke=\"{stroke}\"/>"
        );
    }

    pub fn finish(mut self) -> String {
        self.buf.push_str("</svg>\n");
        self.buf
    }
}

/// A logarithmic axis from `lo` to `hi` (positive) onto pixels `p0` to `p1`.
#[derive(Clone, Copy, Debug)]
pub struct LogAxis {
    pub lo: f64,
    pub hi: f64,
    pub p0: f64,
    pub p1: f64,
}

impl LogAxis {
    pub fn map(&self, v: f64) -> f64 {
        let (l, h) = (self.lo.log10(), self.hi.log10());
        let t = if h > l {
            (v.log10() - l) / (h - l)
        } else {
            0.5
        };
        self.p0 + t * (self.p1 - self.p0)
    }

    /// Decades 10^k inside the range.
    pub fn decades(&self) -> Vec<f64> {
        let a = self.lo.log10().ceil() as i32;
        let b = self.hi.log10().floor() as i32;
        (a..=b).map(|k| 10f64.powi(k)).collect()
    }
}

/// Decade-aligned bounds around the positive finite values, or (1, 10) when there are none.
pub fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0f64;
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

/// A time in microseconds, short: `500 us`, `2 ms`, `1.5 s`.
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

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Draws a frame with decade grid lines and labels for x (plain numbers) and y (times).
pub fn frame(
    svg: &mut Svg,
    x: &LogAxis,
    y: &LogAxis,
    x_label: &str,
    y_label: &str,
    x_ticks: &[f64],
) {
    let (left, right) = (x.p0, x.p1);
    let (bottom, top) = (y.p0, y.p1);
    for d in y.decades() {
        let py = y.map(d);
        svg.line((left, py), (right, py), Pen::new("#dddddd", 1.0, None));
        svg.text(left - 4.0, py + 4.0, "end", 10.0, &fmt_time(d));
    }
    for &t in x_ticks {
        if t < x.lo || t > x.hi {
            continue;
        }
        let px = x.map(t);
        svg.line((px, bottom), (px, top), Pen::new("#dddddd", 1.0, None));
        svg.text(px, bottom + 14.0, "middle", 10.0, &fmt_count(t));
    }
    svg.rect(left, top, right - left, bottom - top, "#333333");
    svg.text((left + right) / 2.0, bottom + 28.0, "middle", 11.0, x_label);
    svg.text(left, top - 4.0, "start", 10.0, y_label);
}

/// 131072 as `131072`, 1.5e6 as `1.5M`.
pub fn fmt_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else {
        format!("{}", v.round())
    }
}
