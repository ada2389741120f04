//! SVG plots: well-formed documents with one line per algorithm and one marker per point.

mod common;

use scale_model::plot::{scaling_svg, scatter_svg};
use scale_model::predict::LabReference;
use scale_model::{
    predict, validate, AlgorithmFit, FitReport, Mode, PredictInput, PredictOptions, Scenario,
    ValidateOptions,
};
use topologies::Algorithm;

/// A text element of the SVG holds exactly `text` (the engine writes it on a line of its own).
fn labelled(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n<")) || svg.contains(&format!(">{text}<"))
}

fn balanced(svg: &str) {
    assert!(svg.starts_with("<svg "));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches('<').count(), svg.matches('>').count());
}

#[test]
fn time_against_ranks_with_terms() {
    let fits = FitReport {
        fits: Algorithm::ALL
            .iter()
            .map(|a| AlgorithmFit::from_params(*a, common::lab_params(), Some(500e6)))
            .collect(),
        skipped: Vec::new(),
    };
    let s = Scenario::parse(include_str!("../../../scenarios/h100-100k.toml"), "x.toml").unwrap();
    let input = PredictInput {
        fits: &fits,
        scenario: &s,
        lab: LabReference::default(),
        stragglers: None,
    };
    let ranks: Vec<usize> = (3..=17).map(|k| 1 << k).collect();
    let p = predict(
        &input,
        &ranks,
        &[1 << 30],
        &PredictOptions {
            mode: Mode::Target,
            ..PredictOptions::default()
        },
    )
    .unwrap();
    let svg = scaling_svg(&p.rows, 1 << 30, "h100-100k <target>");
    balanced(&svg);
    assert!(svg.contains("h100-100k &lt;target&gt;"));
    assert!(svg.contains("all-reduce of 1G per rank"));
    let algorithms: std::collections::BTreeSet<&str> =
        p.rows.iter().map(|r| r.algorithm.as_str()).collect();
    for a in &algorithms {
        assert!(labelled(&svg, a), "{a} is labelled");
    }
    // A total per algorithm in the overview and in its own panel, plus dashed terms.
    assert!(svg.matches("<polyline").count() >= 2 * algorithms.len());
    assert!(svg.contains("131072"));
    assert!(labelled(&svg, "bandwidth") && labelled(&svg, "stragglers"));
}

#[test]
fn predicted_against_measured() {
    let ms = common::synthetic(Algorithm::Ring, &[2, 4, 8], common::lab_params(), 0.05, 5);
    let report = validate(&ms, &ValidateOptions::new(4)).unwrap();
    let svg = scatter_svg(&report.rows, "validate: fit p <= 4");
    balanced(&svg);
    // One marker per row and one for the legend.
    assert_eq!(svg.matches("<circle").count(), report.rows.len() + 1);
    assert!(svg.contains("predicted") && svg.contains("measured"));
}
