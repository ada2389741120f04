//! `collbench model predict`: each collective's time, busbw and the dominant term per algorithm
//! (all-reduce's per strategy) on a scenario's cluster, the best algorithm per collective and
//! size, and the assumptions made.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use scale_model::plot::scaling_svg;
use scale_model::predict::predict_workload;
use scale_model::predict::step::{predict_step, StepLine};
use scale_model::predict::{CarrySource, LabReference};
use scale_model::row::PredictionRow;
use scale_model::{
    predict, LinkProfile, Mode, PredictInput, PredictOptions, Prediction, Scenario, Strategy,
};
use serde::Serialize;
use topologies::{Algorithm, Case, Collective};

use super::args::{InputArgs, PredictArgs, TargetArgs};
use super::lab::Lab;
use super::table::{self, bullets, bytes, count, share, sig, Table};
use super::{is_stdout, lab_reference, mode, print_table, read_scenario, write_file, write_json};
use crate::usage::UsageError;

/// The JSON `--json` writes: the prediction (rows, best, assumptions, ...) and, with
/// `--workload`, the workload's prediction.
#[derive(Serialize)]
struct PredictJson<'a> {
    tool: String,
    sources: &'a [String],
    #[serde(flatten)]
    prediction: &'a Prediction,
    #[serde(skip_serializing_if = "Option::is_none")]
    workload: Option<&'a Prediction>,
    /// The lab's point-to-point link profile (its `source`: ping-pong sweep or rd proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a LinkProfile>,
    lab_notes: &'a [String],
}

/// The lab of `--results` or `--fit` (none: hardware mode), checked against the mode: lab mode
/// needs one, and takes no `--overhead-us`.
pub(super) fn lab_for(input: &InputArgs, mode: Mode, overhead_us: Option<f64>) -> Result<Lab> {
    if overhead_us.is_some() && mode == Mode::Lab {
        return Err(UsageError(
            "--overhead-us replaces the overhead carried to the target (--mode target); lab \
             mode prices every message with each fit's own alpha"
                .into(),
        )
        .into());
    }
    let lab = Lab::optional(input)?;
    if lab.is_none() && mode == Mode::Lab {
        return Err(UsageError(
            "--mode lab prices the lab's fits: give --results PATHS or --fit FILE (without \
             them, target mode prices the scenario's hardware alone)"
                .into(),
        )
        .into());
    }
    Ok(lab)
}

/// What `predict` and `sweep` price with: the lab (none in hardware mode), what it is carried
/// relative to, and the prediction's options.
pub(super) fn target_pricing(t: &TargetArgs) -> Result<(Lab, LabReference, PredictOptions)> {
    let m = mode(t.mode);
    let lab = lab_for(&t.input, m, t.overhead_us)?;
    let lab_ref = lab_reference(t.lab.as_deref())?;
    let opts = PredictOptions {
        mode: m,
        build: t.costs.build(lab.build),
        strategies: strategies(t.algo.as_deref(), &lab, m)?,
        collectives: collectives(&t.collective)?,
        rank_stride: 1,
        overhead_us: t.overhead_us,
        stragglers: !t.input.no_stragglers,
        lab_stragglers_at_target: t.lab_stragglers,
        stack: t.costs.stack,
        noise: t.costs.noise(),
    };
    Ok((lab, lab_ref, opts))
}

pub fn run(args: &PredictArgs) -> Result<()> {
    let (lab, lab_ref, opts) = target_pricing(&args.target)?;
    let scenario = read_scenario(&args.scenario)?;
    let (ranks, sizes) = points(args, &scenario)?;
    let input = PredictInput {
        fits: &lab.fits,
        scenario: &scenario,
        lab: lab_ref,
        stragglers: lab.stragglers.as_ref(),
    };

    let grid = match &sizes {
        Some(sizes) => Some(predict(&input, &ranks, sizes, &opts).context("predicting")?),
        None => None,
    };
    let workload = if args.workload {
        Some(predict_workload(&input, &opts).context("predicting the scenario's workload")?)
    } else {
        None
    };

    let mut out = if lab.is_none() {
        format!(
            "# collbench model predict: scenario '{}' ({}), hardware mode: no lab measurements, \
             every algorithm from the scenario's links alone\n",
            scenario.name,
            args.scenario.display(),
        )
    } else {
        format!(
            "# collbench model predict: scenario '{}' ({}), {} mode, fitted on {} lab result \
             file(s) ({} rank(s) at most)\n",
            scenario.name,
            args.scenario.display(),
            mode_name(opts.mode),
            lab.sources.len(),
            lab.max_ranks()
        )
    };
    if let Some(stack) = grid.as_ref().or(workload.as_ref()).and_then(|p| p.stack) {
        out.push_str(&format!("# target stack: {stack}\n"));
    }
    if let Some(link) = lab.link_summary() {
        out.push_str(&format!("# lab {link}\n"));
    }
    if let Some(p) = &grid {
        out.push_str(&render(p, None));
    }
    if let Some(p) = &workload {
        let what = scenario
            .workload_point()
            .map(|w| w.description)
            .unwrap_or_default();
        out.push_str(&render(p, Some(&what)));
        let step = predict_step(&input, &opts).context("pricing the workload's training step")?;
        out.push_str(&render_step(&step));
    }
    print_table(&out, &[args.json.as_deref(), args.svg.as_deref()])?;
    write_json_file(args, &lab, grid.as_ref(), workload.as_ref())?;
    if let Some(path) = &args.svg {
        write_svgs(path, &input, &opts, &scenario, &ranks, sizes.as_deref())?;
    }
    Ok(())
}

/// The rank counts (`--ranks`, or the scenario's GPUs) and the sizes (`--sizes`) to predict;
/// one of `--sizes` and `--workload` is needed, and `--workload` a scenario that has one.
fn points(args: &PredictArgs, scenario: &Scenario) -> Result<(Vec<usize>, Option<Vec<u64>>)> {
    let ranks = match &args.ranks {
        Some(r) => r.0.clone(),
        None => vec![scenario.cluster.gpus],
    };
    let sizes = args.sizes.as_ref().map(|s| s.0.clone());
    if sizes.is_none() && !args.workload {
        return Err(UsageError(
            "give --sizes LIST (bytes per rank; K, M, G suffixes) or --workload".into(),
        )
        .into());
    }
    if args.workload && scenario.workload.is_none() {
        return Err(UsageError(format!(
            "--workload: scenario {} ('{}') has no [workload] table",
            args.scenario.display(),
            scenario.name
        ))
        .into());
    }
    Ok((ranks, sizes))
}

/// The training step's communication, a line per collective and the sum (nothing for a
/// workload of one all-reduce, which the table above already prices).
fn render_step(lines: &[StepLine]) -> String {
    if lines.len() < 2 && lines.iter().all(|l| l.communication.calls == 1) {
        return String::new();
    }
    let mut s = String::from(
        "\n# the workload's training step: every collective by its fastest algorithm, times its \
         calls per step (communication alone: overlap with computation is not modelled)\n",
    );
    s.push_str(&format!(
        "# {:<15} {:>12} {:>7} {:>7} {:>6}  {:<22} {:>11} {:>11}  what\n",
        "collective", "bytes/rank", "ranks", "stride", "calls", "algorithm", "per call", "per step"
    ));
    for l in lines {
        let c = &l.communication;
        s.push_str(&format!(
            "  {:<15} {:>12} {:>7} {:>7} {:>6}  {:<22} {:>11} {:>11}  {}\n",
            c.collective.name(),
            crate::sizes::format_size(c.bytes),
            c.ranks,
            c.rank_stride,
            c.calls,
            l.algorithm,
            fmt_us(l.time_us),
            fmt_us(l.per_step_us()),
            c.what
        ));
    }
    let total: f64 = lines.iter().map(StepLine::per_step_us).sum();
    s.push_str(&format!("# communication per step: {}\n", fmt_us(total)));
    s
}

fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.3} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} us")
    }
}

/// `--json`: the prediction (the grid, or the workload's), with the lab it came from.
fn write_json_file(
    args: &PredictArgs,
    lab: &Lab,
    grid: Option<&Prediction>,
    workload: Option<&Prediction>,
) -> Result<()> {
    if let Some(path) = &args.json {
        let main = grid
            .or(workload)
            .ok_or_else(|| anyhow!("nothing was predicted"))?;
        write_json(
            path,
            &PredictJson {
                tool: format!("collbench {}", env!("CARGO_PKG_VERSION")),
                sources: &lab.sources,
                prediction: main,
                workload,
                link: lab.link.as_ref(),
                lab_notes: &lab.notes,
            },
        )?;
    }
    Ok(())
}

/// `--collective LIST`.
fn collectives(list: &str) -> Result<Vec<Collective>> {
    let v = Collective::parse_list(list).map_err(|e| UsageError(format!("--collective: {e}")))?;
    if v.is_empty() {
        return Err(UsageError("--collective: name at least one collective".into()).into());
    }
    Ok(v)
}

/// A row's name: its strategy for an all-reduce (`ring`, `hier-node:rd`), its collective and
/// algorithm for the others (`all_gather ring`).
pub(super) fn row_label(collective: Collective, algorithm: &str) -> String {
    if collective == Collective::AllReduce {
        algorithm.to_string()
    } else {
        format!("{collective} {algorithm}")
    }
}

/// Where a row's (outer) algorithm's parameters came from: "lab" or "hardware".
fn source_of(p: &Prediction, row: &PredictionRow) -> &'static str {
    // What no lab runs: the in-switch reductions and PAT.
    let unmeasured = if row.collective == Collective::AllReduce {
        row.algorithm
            .parse::<Strategy>()
            .is_ok_and(|s| s.in_switch())
    } else {
        row.algorithm == "pat"
    };
    if unmeasured {
        return "hardware";
    }
    let carried = if row.collective == Collective::AllReduce {
        row.algorithm.parse::<Strategy>().ok().and_then(|s| {
            p.carried
                .iter()
                .find(|c| c.algorithm == s.outer() && c.is_all_reduce())
        })
    } else {
        row.algorithm.parse::<Algorithm>().ok().and_then(|a| {
            let case = Case {
                collective: row.collective,
                algorithm: a,
            };
            p.carried.iter().find(|c| c.case() == case)
        })
    };
    match carried.map(|c| c.source) {
        Some(CarrySource::Lab) => "lab",
        Some(CarrySource::Hardware) => "hardware",
        None => "-",
    }
}

/// `--algo LIST` as strategies.
fn parse_strategies(list: &str) -> Result<Vec<Strategy>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|e| UsageError(format!("--algo: {e}")).into())
        })
        .collect()
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Lab => "lab",
        Mode::Target => "target",
    }
}

/// `--algo`, or every fitted algorithm flat and in both compositions (every algorithm without a
/// lab). Target mode prices an algorithm the lab did not measure from the hardware alone; lab
/// mode needs a fit for each.
pub(super) fn strategies(algo: Option<&str>, lab: &Lab, mode: Mode) -> Result<Vec<Strategy>> {
    if lab.is_none() {
        return match algo {
            Some(list) => parse_strategies(list),
            None => Ok(Strategy::all()),
        };
    }
    if mode == Mode::Target {
        if let Some(list) = algo {
            return parse_strategies(list);
        }
    }
    match algo {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let st: Strategy = s.parse().map_err(|e| UsageError(format!("--algo: {e}")))?;
                if st.in_switch() {
                    bail!(
                        "--algo {s}: switches reduce in {s}, which no lab runs: lab mode cannot \
                         price it (target mode prices it from the scenario's hardware)"
                    );
                }
                if lab.fits.get(st.outer()).is_none() {
                    bail!(
                        "--algo {s}: the lab has no fit for {} (fitted: {})",
                        st.outer(),
                        fitted_names(lab)
                    );
                }
                Ok(st)
            })
            .collect(),
        None => Ok(Strategy::all()
            .into_iter()
            .filter(|s| {
                if s.in_switch() {
                    mode == Mode::Target
                } else {
                    lab.fits.get(s.outer()).is_some()
                }
            })
            .collect()),
    }
}

/// The fitted all-reduce algorithms, each once (an algorithm with size regimes has a fit per
/// regime).
fn fitted_names(lab: &Lab) -> String {
    names_once(
        lab.fits
            .fits
            .iter()
            .filter(|f| f.collective == Collective::AllReduce)
            .map(|f| f.algorithm),
    )
}

/// Names in first-seen order, each once.
fn names_once(algorithms: impl Iterator<Item = Algorithm>) -> String {
    let mut names: Vec<&str> = Vec::new();
    for a in algorithms {
        if !names.contains(&a.name()) {
            names.push(a.name());
        }
    }
    names.join(", ")
}

/// The table of one prediction, the best per size, the levels, the stragglers and assumptions.
pub fn render(p: &Prediction, workload: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(w) = workload {
        out.push_str(&format!("\n# workload: {w}\n"));
    }
    let mut t = Table::new(&[
        "ranks",
        "size",
        "algorithm",
        "from",
        "protocol",
        "time",
        "algbw GB/s",
        "busbw GB/s",
        "dominant term",
        "stragglers",
    ])
    .left(&[2, 3, 4, 8]);
    for r in &p.rows {
        let best = p.best.iter().any(|b| {
            b.collective == r.collective
                && b.ranks == r.ranks
                && b.size == r.size
                && b.algorithm == r.algorithm
        });
        let dom = r.terms.get(r.dominant);
        t.row(vec![
            count(r.ranks),
            bytes(r.size),
            format!(
                "{}{}",
                row_label(r.collective, &r.algorithm),
                if best { " *" } else { "" }
            ),
            source_of(p, r).to_string(),
            r.protocol.clone().unwrap_or_else(|| "-".to_string()),
            table::time(r.time_us),
            sig(r.alg_bw),
            sig(r.bus_bw),
            format!(
                "{} {}",
                r.dominant.name(),
                share(if r.time_us > 0.0 {
                    dom / r.time_us
                } else {
                    0.0
                })
            ),
            share(r.straggler_fraction),
        ]);
    }
    out.push_str(&t.render());
    out.push_str(
        "  (* the fastest of its collective at that rank count and size; from: the outer \
         algorithm's parameters, fitted on the lab or the hardware alone)\n",
    );
    out.push_str(&best_and_levels(p));
    if !p.stragglers.is_empty() {
        out.push_str("# straggler term (expected slowest-of-p delay beyond the fitted runs')\n");
        for s in &p.stragglers {
            out.push_str(&format!(
                "  {} ranks: {} (interval {} .. {})\n",
                count(s.ranks),
                table::time(s.delay_us),
                table::time(s.low_us),
                table::time(s.high_us)
            ));
        }
    }
    out.push_str("# assumptions\n");
    out.push_str(&bullets(&p.assumptions));
    out
}

/// The best algorithm per size, and the levels of the fabric each rank count crosses.
fn best_and_levels(p: &Prediction) -> String {
    let mut out = String::from("# best algorithm per size\n");
    let mut b =
        Table::new(&["ranks", "size", "best", "time", "busbw GB/s", "dominant"]).left(&[2, 5]);
    for r in &p.best {
        b.row(vec![
            count(r.ranks),
            bytes(r.size),
            row_label(r.collective, &r.algorithm),
            table::time(r.time_us),
            sig(r.bus_bw),
            r.dominant.name().to_string(),
        ]);
    }
    out.push_str(&b.render());

    out.push_str("# levels crossed\n");
    for h in &p.hierarchy {
        let lv: Vec<String> = h
            .levels
            .iter()
            .map(|l| {
                format!(
                    "{} x{} ({} GB/s, {} us{})",
                    l.name,
                    l.size,
                    sig(l.bytes_per_s / 1e9),
                    sig(l.latency_us),
                    if l.oversubscription > 1.0 {
                        format!(", 1:{} oversubscribed", sig(l.oversubscription))
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        out.push_str(&format!(
            "  {} ranks{}: {}\n",
            count(h.ranks),
            if p.rank_stride > 1 {
                format!(" {} GPUs apart", p.rank_stride)
            } else {
                String::new()
            },
            if lv.is_empty() {
                "none".to_string()
            } else {
                lv.join(" > ")
            }
        ));
    }
    out
}

/// One SVG per size: time against ranks from 8 to 131,072 (or the largest --ranks).
fn write_svgs(
    path: &Path,
    input: &PredictInput<'_>,
    opts: &PredictOptions,
    scenario: &Scenario,
    ranks: &[usize],
    sizes: Option<&[u64]>,
) -> Result<()> {
    let top = ranks.iter().copied().max().unwrap_or(1).max(131_072);
    let mut sweep: Vec<usize> =
        std::iter::successors(Some(8usize), |r| r.checked_mul(2).filter(|n| *n <= top)).collect();
    if sweep.last() != Some(&top) {
        sweep.push(top);
    }
    let (sizes, stride, what) = match sizes {
        Some(s) => (s.to_vec(), 1, String::new()),
        None => {
            let w = scenario
                .workload_point()
                .ok_or_else(|| anyhow!("the scenario has no workload"))?;
            (
                vec![w.bytes],
                w.rank_stride,
                " (workload group spacing)".to_string(),
            )
        }
    };
    let sweep_opts = PredictOptions {
        rank_stride: stride,
        ..opts.clone()
    };
    let mut p =
        predict(input, &sweep, &sizes, &sweep_opts).context("predicting the SVG's sweep")?;
    // One line per collective and algorithm: the plot keys its lines on the name.
    for r in &mut p.rows {
        r.algorithm = row_label(r.collective, &r.algorithm);
    }
    let title = format!("{}{what}, {} mode", scenario.name, mode_name(opts.mode));
    if sizes.len() > 1 && is_stdout(Some(path)) {
        return Err(UsageError(format!(
            "--svg -: {} sizes make {} files; name a file (FILE-<size>.svg each)",
            sizes.len(),
            sizes.len()
        ))
        .into());
    }
    for &size in &sizes {
        let file: PathBuf = if sizes.len() == 1 {
            path.to_path_buf()
        } else {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "predict".to_string());
            path.with_file_name(format!("{stem}-{}.svg", crate::sizes::format_size(size)))
        };
        write_file(&file, &scaling_svg(&p.rows, size, &title))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_algorithm_fitted_in_regimes_is_named_once() {
        use topologies::Algorithm::{Rd, Rhd, Ring, Tree};
        let fits = [Ring, Tree, Tree, Rhd, Rd, Rd];
        assert_eq!(names_once(fits.into_iter()), "ring, tree, rhd, rd");
    }
}
