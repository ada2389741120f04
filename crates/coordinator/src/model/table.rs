//! Plain-text tables and number formats for the model's outputs.

use crate::sizes::format_size;

/// Columns of text, right-aligned except those marked left (by default the first).
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    left: Vec<usize>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            left: vec![0],
        }
    }

    /// Left-aligns these columns (by index) instead of the first.
    pub fn left(mut self, columns: &[usize]) -> Self {
        self.left = columns.to_vec();
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let ncols = self.header.len();
        let mut width = vec![0usize; ncols];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(ncols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |r: &Vec<String>| {
            let cells: Vec<String> = (0..ncols)
                .map(|i| {
                    let c = r.get(i).map(String::as_str).unwrap_or("");
                    if self.left.contains(&i) {
                        format!("{c:<w$}", w = width[i])
                    } else {
                        format!("{c:>w$}", w = width[i])
                    }
                })
                .collect();
            format!("  {}", cells.join("  ").trim_end())
        };
        let mut out = line(&self.header);
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// A time in microseconds as us, ms or s with four significant digits.
pub fn time(us: f64) -> String {
    if !us.is_finite() {
        return "n/a".to_string();
    }
    let a = us.abs();
    if a < 1e3 {
        format!("{} us", sig(us))
    } else if a < 1e6 {
        format!("{} ms", sig(us / 1e3))
    } else {
        format!("{} s", sig(us / 1e6))
    }
}

/// Four significant digits without an exponent for ordinary magnitudes.
pub fn sig(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let a = x.abs();
    if !(1e-3..1e7).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A byte count: 1K, 64M, 1G where exact, else with two decimals in the nearest binary unit.
pub fn bytes(b: u64) -> String {
    let exact = format_size(b);
    if exact != b.to_string() || b < 1024 {
        return exact;
    }
    let v = b as f64;
    for (unit, name) in [
        (1u64 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ] {
        if b >= unit {
            return format!("{:.2} {name}", v / unit as f64);
        }
    }
    exact
}

/// A signed relative error as a percentage.
pub fn pct(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    format!("{:+.1}%", x * 100.0)
}

/// An unsigned share as a percentage.
pub fn share(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    format!("{:.1}%", x * 100.0)
}

/// A rank count with thousands separators.
pub fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Lines of text as an indented bullet list, wrapped at about 100 columns.
pub fn bullets(items: &[String]) -> String {
    let mut out = String::new();
    for item in items {
        let mut line = String::from("  - ");
        let mut len = 4;
        for word in item.split_whitespace() {
            if len + word.len() + 1 > 100 && len > 4 {
                out.push_str(line.trim_end());
                out.push('\n');
                line = String::from("    ");
                len = 4;
            }
            line.push_str(word);
            line.push(' ');
            len += word.len() + 1;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(time(12.345), "12.35 us");
        assert_eq!(time(1234.5), "1.234 ms");
        assert_eq!(time(2.5e6), "2.500 s");
        assert_eq!(bytes(1 << 30), "1G");
        assert_eq!(bytes(6_328_125_000), "5.89 GiB");
        assert_eq!(bytes(100), "100");
        assert_eq!(count(131_072), "131,072");
        assert_eq!(count(8), "8");
        assert_eq!(pct(-0.123), "-12.3%");
        let mut t = Table::new(&["a", "bb"]);
        t.row(vec!["x".into(), "1".into()]);
        assert_eq!(t.render(), "  a  bb\n  x   1\n");
    }
}
