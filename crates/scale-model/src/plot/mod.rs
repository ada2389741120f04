//! SVG plots as plain strings, all drawn with one engine ([`svg`], the `plotters` crate): time
//! against ranks (log-log) per algorithm with the breakdown by term, predicted against measured
//! for validation, and (from the coordinator) a run's busbw and time against size and its
//! per-rank, per-iteration times as a [`heatmap`].

pub mod heatmap;
mod scaling;
mod scatter;
pub mod svg;

pub use scaling::scaling_svg;
pub use scatter::scatter_svg;
