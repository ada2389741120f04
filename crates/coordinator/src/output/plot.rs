//! Minimal SVG line plots (no dependencies): one polyline per series over a log-scale x axis.

use std::fmt::Write;

pub struct Series {
    pub name: String,
    /// (x, y) points; x must be positive (log axis).
    pub points: Vec<(f64, f64)>,
}

pub struct LinePlot<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
    /// Formats an x tick value.
    pub x_tick: &'a dyn Fn(f64) -> String,
}

const W: f64 = 760.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl LinePlot<'_> {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            W / 2.0,
            escape(self.title)
        );
        let Some(frame) = Frame::around(self.series) else {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">no data</text></svg>"#,
                W / 2.0,
                H / 2.0
            );
            return s;
        };
        self.axes(&mut s, &frame);
        for (i, series) in self.series.iter().enumerate() {
            line(&mut s, &frame, i, series);
        }
        s.push_str("</svg>\n");
        s
    }

    /// The frame, the ticks at powers of two (at most ~10 labels) and at fifths of the y range,
    /// and the axis labels.
    fn axes(&self, s: &mut String, f: &Frame) {
        let (pw, ph) = (f.pw, f.ph);
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
        );
        let span = (f.lx1 - f.lx0).ceil().max(1.0) as usize;
        let stride = span.div_ceil(10).max(1);
        let mut e = f.lx0.ceil() as i64;
        while e as f64 <= f.lx1 + 1e-9 {
            let x = 2f64.powi(e as i32);
            let _ = writeln!(
                s,
                r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}" stroke="#ddd"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4}</text>"##,
                f.px(x),
                TOP,
                TOP + ph,
                TOP + ph + 16.0,
                escape(&(self.x_tick)(x))
            );
            e += stride as i64;
        }
        for i in 0..=5 {
            let y = f.ymax * i as f64 / 5.0;
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" x2="{0}" y1="{1:.1}" y2="{1:.1}" stroke="#eee"/><text x="{2}" y="{3:.1}" text-anchor="end">{4:.3}</text>"##,
                LEFT + pw,
                f.py(y),
                LEFT - 6.0,
                f.py(y) + 4.0,
                y
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 18.0,
            escape(self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(18,{}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            escape(self.y_label)
        );
    }
}

/// Series `i`: its polyline, a dot at every point, and its entry in the legend.
fn line(s: &mut String, f: &Frame, i: usize, series: &Series) {
    let colour = COLOURS[i % COLOURS.len()];
    let path: Vec<String> = series
        .points
        .iter()
        .filter(|(x, y)| *x > 0.0 && y.is_finite())
        .map(|&(x, y)| format!("{:.1},{:.1}", f.px(x), f.py(y)))
        .collect();
    let _ = writeln!(
        s,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
        path.join(" ")
    );
    for p in &path {
        let (cx, cy) = p.split_once(',').unwrap_or(("0", "0"));
        let _ = writeln!(
            s,
            r#"<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>"#
        );
    }
    let ly = TOP + 14.0 + 18.0 * i as f64;
    let _ = writeln!(
        s,
        r#"<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{colour}" stroke-width="3"/><text x="{3}" y="{4}">{5}</text>"#,
        LEFT + f.pw + 12.0,
        LEFT + f.pw + 32.0,
        ly,
        LEFT + f.pw + 38.0,
        ly + 4.0,
        escape(&series.name)
    );
}

/// Where data go on the plot: a log2 x range, a y range from 0 with a tenth of headroom, and
/// the plotting area.
struct Frame {
    lx0: f64,
    lx1: f64,
    ymax: f64,
    pw: f64,
    ph: f64,
}

impl Frame {
    /// The frame that holds every plottable point; `None` when there is none.
    fn around(series: &[Series]) -> Option<Frame> {
        let (mut xmin, mut xmax, mut ymax) = (f64::MAX, f64::MIN, 0.0f64);
        for &(x, y) in series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| *x > 0.0 && y.is_finite())
        {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymax = ymax.max(y);
        }
        if xmin > xmax {
            return None;
        }
        if xmax <= xmin {
            xmax = xmin * 2.0;
        }
        if ymax <= 0.0 {
            ymax = 1.0;
        }
        Some(Frame {
            lx0: xmin.log2(),
            lx1: xmax.log2(),
            ymax: ymax * 1.1,
            pw: W - LEFT - RIGHT,
            ph: H - TOP - BOTTOM,
        })
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x.log2() - self.lx0) / (self.lx1 - self.lx0) * self.pw
    }

    fn py(&self, y: f64) -> f64 {
        TOP + self.ph - y / self.ymax * self.ph
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_polyline_per_series_and_escaped_text() {
        let series = vec![
            Series {
                name: "ring".into(),
                points: vec![(1024.0, 0.1), (4096.0, 0.3)],
            },
            Series {
                name: "a<b".into(),
                points: vec![(1024.0, 0.2)],
            },
        ];
        let svg = LinePlot {
            title: "t",
            x_label: "x",
            y_label: "y",
            series: &series,
            x_tick: &|x| format!("{x}"),
        }
        .render();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a&lt;b"));
        assert!(svg.trim_end().ends_with("</svg>"));
        let empty = LinePlot {
            title: "t",
            x_label: "x",
            y_label: "y",
            series: &[],
            x_tick: &|x| format!("{x}"),
        }
        .render();
        assert!(empty.contains("no data"));
    }
}
