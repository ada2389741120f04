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
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| *x > 0.0 && y.is_finite());
        let (mut xmin, mut xmax, mut ymax) = (f64::MAX, f64::MIN, 0.0f64);
        for &(x, y) in pts {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymax = ymax.max(y);
        }
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
        if xmin > xmax {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">no data</text></svg>"#,
                W / 2.0,
                H / 2.0
            );
            return s;
        }
        if xmax <= xmin {
            xmax = xmin * 2.0;
        }
        if ymax <= 0.0 {
            ymax = 1.0;
        }
        let ymax = ymax * 1.1;
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let (lx0, lx1) = (xmin.log2(), xmax.log2());
        let px = |x: f64| LEFT + (x.log2() - lx0) / (lx1 - lx0) * pw;
        let py = |y: f64| TOP + ph - y / ymax * ph;
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
        );
        // x ticks at powers of two, thinned to at most ~10 labels.
        let span = (lx1 - lx0).ceil().max(1.0) as usize;
        let stride = span.div_ceil(10).max(1);
        let mut e = lx0.ceil() as i64;
        while e as f64 <= lx1 + 1e-9 {
            let x = 2f64.powi(e as i32);
            let _ = writeln!(
                s,
                r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}" stroke="#ddd"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4}</text>"##,
                px(x),
                TOP,
                TOP + ph,
                TOP + ph + 16.0,
                escape(&(self.x_tick)(x))
            );
            e += stride as i64;
        }
        for i in 0..=5 {
            let y = ymax * i as f64 / 5.0;
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" x2="{0}" y1="{1:.1}" y2="{1:.1}" stroke="#eee"/><text x="{2}" y="{3:.1}" text-anchor="end">{4:.3}</text>"##,
                LEFT + pw,
                py(y),
                LEFT - 6.0,
                py(y) + 4.0,
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
        for (i, series) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let path: Vec<String> = series
                .points
                .iter()
                .filter(|(x, y)| *x > 0.0 && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
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
                LEFT + pw + 12.0,
                LEFT + pw + 32.0,
                ly,
                LEFT + pw + 38.0,
                ly + 4.0,
                escape(&series.name)
            );
        }
        s.push_str("</svg>\n");
        s
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
