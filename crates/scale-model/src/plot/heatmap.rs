//! A heatmap of a matrix of values (rows by columns) with its colour scale beside it, drawn with
//! the same engine as every other plot ([`super::svg`]): the run report's per-rank,
//! per-iteration times, where a slow rank is a row of its own colour.

use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use super::svg::Area;

/// A matrix to draw: `rows[y][x]`; rows may differ in length (a missing cell stays blank).
pub struct Heatmap<'a> {
    pub caption: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub rows: &'a [Vec<f64>],
    /// The colour scale's tick format.
    pub value_tick: &'a dyn Fn(f64) -> String,
}

/// The colour of `v` on a scale from `lo` (dark) to `hi` (bright); a flat matrix is all dark.
pub fn cell_color(v: f64, lo: f64, hi: f64) -> RGBColor {
    if hi > lo {
        ViridisRGB.get_color_normalized(v.clamp(lo, hi), lo, hi)
    } else {
        ViridisRGB.get_color(0.0)
    }
}

/// The smallest and largest finite values of the matrix (0, 0 when it has none).
pub fn value_range(rows: &[Vec<f64>]) -> (f64, f64) {
    let (lo, hi) = rows
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo <= hi {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// Draws `h` into `area`: the matrix on the left, its colour scale on the right.
pub fn heatmap(area: &Area<'_>, h: &Heatmap<'_>) -> Result<(), String> {
    let (width, _) = area.dim_in_pixel();
    let (cells, scale) = area.split_horizontally(width.saturating_sub(110));
    let (lo, hi) = value_range(h.rows);
    matrix(&cells, h, lo, hi)?;
    color_scale(&scale, lo, hi, h.value_tick)
}

/// An integer tick at a cell's centre; nothing between cells.
fn index_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 && v >= 0.0 {
        format!("{}", v.round())
    } else {
        String::new()
    }
}

fn matrix(area: &Area<'_>, h: &Heatmap<'_>, lo: f64, hi: f64) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let columns = h.rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let rows = h.rows.len().max(1);
    let mut ch = ChartBuilder::on(area)
        .caption(h.caption, ("sans-serif", 14))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5..columns as f64 - 0.5, -0.5..rows as f64 - 0.5)
        .map_err(|e| err(&e))?;
    ch.configure_mesh()
        .disable_mesh()
        .x_desc(h.x_desc)
        .y_desc(h.y_desc)
        .x_labels(columns.min(20))
        .y_labels(rows.min(32))
        .x_label_formatter(&|v| index_tick(*v))
        .y_label_formatter(&|v| index_tick(*v))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| err(&e))?;
    let cells = h.rows.iter().enumerate().flat_map(|(y, row)| {
        row.iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(move |(x, &v)| {
                let (x, y) = (x as f64, y as f64);
                Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    cell_color(v, lo, hi).filled(),
                )
            })
    });
    ch.draw_series(cells).map_err(|e| err(&e))?;
    Ok(())
}

/// A vertical bar of the scale's colours from `lo` to `hi`, with ticks.
fn color_scale(
    area: &Area<'_>,
    lo: f64,
    hi: f64,
    tick: &dyn Fn(f64) -> String,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let top = if hi > lo { hi } else { lo + 1.0 };
    let mut ch = ChartBuilder::on(area)
        .margin_top(40)
        .margin_bottom(52)
        .margin_right(8)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, lo..top)
        .map_err(|e| err(&e))?;
    ch.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| err(&e))?;
    const STEPS: usize = 48;
    let step = (top - lo) / STEPS as f64;
    let bands = (0..STEPS).map(|i| {
        let from = lo + step * i as f64;
        Rectangle::new(
            [(0.0, from), (1.0, from + step)],
            cell_color(from + step / 2.0, lo, hi).filled(),
        )
    });
    ch.draw_series(bands).map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::svg::document;
    use super::*;

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    #[test]
    fn every_cell_is_drawn_and_the_slow_row_has_the_bright_end_of_the_scale() {
        // Three ranks of four iterations; rank 1 twice as slow as the others.
        let rows = vec![
            vec![10.0, 11.0, 10.5, 10.0],
            vec![20.0, 21.0, 22.0, 20.5],
            vec![10.2, 10.1, 10.0, 10.4],
        ];
        let svg = document(600, 300, |root| {
            heatmap(
                root,
                &Heatmap {
                    caption: "per rank",
                    x_desc: "iteration",
                    y_desc: "rank",
                    rows: &rows,
                    value_tick: &|v| format!("{v:.0} us"),
                },
            )
        });
        assert!(!svg.contains("plot failed"), "{svg}");
        let (lo, hi) = value_range(&rows);
        assert_eq!((lo, hi), (10.0, 22.0));
        let brightest = hex(cell_color(hi, lo, hi));
        let darkest = hex(cell_color(lo, lo, hi));
        assert_ne!(brightest, darkest);
        for row in &rows {
            for &v in row {
                let fill = hex(cell_color(v, lo, hi));
                assert!(
                    svg.to_uppercase().contains(&format!("FILL=\"{fill}\"")),
                    "no cell of colour {fill} for {v}"
                );
            }
        }
        // The slow rank's cells sit in the top half of the scale, the others' in the bottom tenth.
        let mid = (lo + hi) / 2.0;
        assert!(rows[1].iter().all(|&v| v > mid));
        assert!(rows[0]
            .iter()
            .chain(&rows[2])
            .all(|&v| v < lo + (hi - lo) / 8.0));
        assert!(
            svg.contains("22 us") || svg.contains("20 us"),
            "scale ticks"
        );
    }

    #[test]
    fn a_flat_or_empty_matrix_draws_without_failing() {
        for rows in [vec![vec![5.0; 3]; 2], Vec::new(), vec![vec![f64::NAN]]] {
            let svg = document(400, 200, |root| {
                heatmap(
                    root,
                    &Heatmap {
                        caption: "flat",
                        x_desc: "x",
                        y_desc: "y",
                        rows: &rows,
                        value_tick: &|v| format!("{v}"),
                    },
                )
            });
            assert!(!svg.contains("plot failed"), "{svg}");
        }
    }
}
