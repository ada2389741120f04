//! SVG plots as plain strings: time against ranks (log-log) per algorithm with the breakdown by
//! term, and predicted against measured for validation.

mod scaling;
mod scatter;
mod svg;

pub use scaling::scaling_svg;
pub use scatter::scatter_svg;
