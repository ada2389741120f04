//! From results files to the scale model's measurements: finds `results.json` files, checks them,
//! turns each out-of-place row into a [`Measurement`] with its per-rank latency samples and the
//! shape `hier` and `torus2d` ran with, and each ping-pong row into a [`PingPongSample`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use scale_model::measurement::expand_histogram;
use scale_model::{Measurement, PingPongSample, Shape};
use topologies::{Algorithm, BuildOptions, Case};
use wire::results::{PingPongRow, ResultRow, RunConfig};

/// Latency samples kept per measurement for the straggler model.
pub const MAX_SAMPLES: usize = 2000;

/// Everything read from a set of results files.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub measurements: Vec<Measurement>,
    /// One-way times of the runs' ping-pong sweeps (`collbench run --pingpong`), all files
    /// together; empty when none had one.
    pub pingpong: Vec<PingPongSample>,
    /// How many files had a ping-pong sweep.
    pub pingpong_files: usize,
    /// The cost forms' options as the runs used them (segment size).
    pub build: BuildOptions,
    pub sources: Vec<PathBuf>,
    /// Things the reader should know (runs that failed part-way, rows left out, ...).
    pub notes: Vec<String>,
}

/// Reads every results file named by `paths` (files, or directories searched recursively for
/// `results.json`). `samples`: decode the latency histograms (for the straggler term) of the rows
/// of at most this many bytes; `None` for none.
pub fn load(paths: &[PathBuf], samples: Option<u64>) -> Result<Loaded> {
    let files = find_results(paths)?;
    let mut measurements = Vec::new();
    let mut pingpong = Vec::new();
    let mut pingpong_files = 0;
    let mut notes = Vec::new();
    let mut segments: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    let mut ring_segments: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    let mut barrier_timed = 0usize;
    for file in &files {
        let one = read_one(file, samples, &mut notes)?;
        barrier_timed += usize::from(one.config.timing.is_none());
        segments
            .entry(one.config.segment_bytes)
            .or_default()
            .push(file.clone());
        // Files from before the pipelined ring forwarded whole chunks.
        ring_segments
            .entry(one.config.ring_segment_bytes.unwrap_or(0))
            .or_default()
            .push(file.clone());
        measurements.extend(one.measurements);
        if !one.pingpong.is_empty() {
            pingpong_files += 1;
            pingpong.extend(one.pingpong);
        }
    }
    if barrier_timed > 0 && barrier_timed < files.len() {
        notes.push(format!(
            "{barrier_timed} of {} results files are from before back-to-back timing (a barrier \
             before every iteration, time = the mean of per-iteration maxima), fitted together \
             with newer ones: their small sizes' times are not comparable (see the README's \
             What a run prints)",
            files.len()
        ));
    }
    let defaults = BuildOptions::default();
    // The most common sizes: the cost forms of tree and dbtree depend on the segment, ring's
    // latency term on its pieces.
    let segment = most_common(
        &segments,
        defaults.segment_bytes as u64,
        "segment",
        &mut notes,
    );
    let ring_segment = most_common(&ring_segments, 0, "ring piece", &mut notes);
    let build = BuildOptions {
        segment_bytes: usize::try_from(segment).unwrap_or(usize::MAX),
        ring_segment_bytes: usize::try_from(ring_segment).unwrap_or(usize::MAX),
        ..defaults
    };
    Ok(Loaded {
        measurements,
        pingpong,
        pingpong_files,
        build,
        sources: files,
        notes,
    })
}

/// The results files named by `paths`, in a stable order.
pub use crate::results_file::find_results;

/// What one file holds for the model.
struct OneFile {
    measurements: Vec<Measurement>,
    pingpong: Vec<PingPongSample>,
    config: RunConfig,
}

fn read_one(file: &Path, samples: Option<u64>, notes: &mut Vec<String>) -> Result<OneFile> {
    let name = file.display();
    let parsed = crate::results_file::read(file)?;
    if parsed.results.is_empty() {
        let why = parsed
            .failure
            .as_ref()
            .map(|f| format!(" (the run failed: {})", f.message))
            .unwrap_or_default();
        bail!("{name}: the run has no result rows{why}; nothing to fit");
    }
    if let Some(f) = &parsed.failure {
        notes.push(format!(
            "{name}: the run ended early ({}); its {} completed row(s) are used",
            f.message,
            parsed.results.len()
        ));
    }
    let link_rate = parsed.config.link_rate_bps;
    let nodes = groups_are_nodes(&parsed.config);
    let mut out = Vec::with_capacity(parsed.results.len());
    // Every collective's rows: each collective's algorithms are fitted from their own.
    for row in &parsed.results {
        let case = Case {
            collective: row.collective,
            algorithm: row.algorithm,
        };
        if let Err(e) = row.collective.check(row.algorithm) {
            notes.push(format!(
                "{name}: {case} {} ranks {} bytes left out: {e}",
                row.nranks, row.size
            ));
            continue;
        }
        if row.out_of_place.nwrong.is_some_and(|w| w > 0) {
            notes.push(format!(
                "{name}: {case} {} ranks {} bytes had wrong results; left out",
                row.nranks, row.size
            ));
            continue;
        }
        let mut m = measurement(row, link_rate, samples).with_context(|| {
            format!(
                "{name}: row {case} with {} ranks and {} bytes",
                row.nranks, row.size
            )
        })?;
        // hier's groups price all-gather's and reduce-scatter's hier too.
        m.shape = shape(row.algorithm, &parsed.config, nodes);
        out.push(m);
    }
    if out.iter().any(|m| m.shape.groups_are_nodes == Some(true)) {
        let note = format!(
            "hier's and rail's groups of {} ranks were their runs' hosts (nodes): their hops \
             inside a group are priced off the network",
            parsed.config.group_size.unwrap_or(0)
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    let label = name.to_string();
    let pingpong = parsed
        .pingpong
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| pingpong_sample(r, &label, notes))
        .collect();
    Ok(OneFile {
        measurements: out,
        pingpong,
        config: parsed.config,
    })
}

/// The shape `algorithm` ran with, as far as the file recorded it (files before it was
/// recorded, and rows of other algorithms, have none: the cost forms' defaults apply);
/// `groups_are_nodes` is the file's [`groups_are_nodes`], read once.
fn shape(algorithm: Algorithm, config: &RunConfig, groups_are_nodes: Option<bool>) -> Shape {
    match algorithm {
        Algorithm::Hier => Shape {
            group_size: config.group_size,
            groups_are_nodes,
            hier_inner: config.hier_inner,
            hier_outer: config.hier_outer,
            grid: None,
        },
        Algorithm::Torus2d => Shape {
            grid: config.grid,
            ..Shape::default()
        },
        Algorithm::Rail => Shape {
            group_size: config.group_size,
            groups_are_nodes,
            ..Shape::default()
        },
        _ => Shape::default(),
    }
}

/// Whether the run's groups (`group_size` consecutive ranks) were its hosts (see
/// [`groups_are_hosts`]); `None` where the file recorded no group size or no hosts.
fn groups_are_nodes(config: &RunConfig) -> Option<bool> {
    let g = config.group_size.filter(|&g| g > 0)?;
    let hosts: Vec<(usize, &str)> = config
        .hosts
        .iter()
        .map(|h| (h.rank, h.host.as_str()))
        .collect();
    (!hosts.is_empty()).then(|| groups_are_hosts(g, &hosts))
}

/// Whether groups of `g` consecutive ranks, given each rank's host, are the hosts: every
/// group's ranks on one host, no host holding two groups, and more than one rank per group.
fn groups_are_hosts(g: usize, hosts: &[(usize, &str)]) -> bool {
    let mut host_of_group: BTreeMap<usize, &str> = BTreeMap::new();
    let mut group_of_host: BTreeMap<&str, usize> = BTreeMap::new();
    for &(rank, host) in hosts {
        let group = rank / g.max(1);
        if *host_of_group.entry(group).or_insert(host) != host
            || *group_of_host.entry(host).or_insert(group) != group
        {
            return false;
        }
    }
    g > 1
}

/// A ping-pong row's size and mean one-way time; a row without a positive time is left out,
/// with a note.
fn pingpong_sample(
    row: &PingPongRow,
    name: &str,
    notes: &mut Vec<String>,
) -> Option<PingPongSample> {
    let t = row.one_way.mean_us;
    if t.is_finite() && t > 0.0 {
        return Some(PingPongSample {
            bytes: row.size,
            one_way_us: t,
        });
    }
    notes.push(format!(
        "{name}: ping-pong {} bytes has one-way time {t} us; left out",
        row.size
    ));
    None
}

/// The value most files used, with a note when they disagree.
fn most_common(
    by_value: &BTreeMap<u64, Vec<PathBuf>>,
    default: u64,
    what: &str,
    notes: &mut Vec<String>,
) -> u64 {
    let chosen = by_value
        .iter()
        .max_by_key(|(_, f)| f.len())
        .map(|(v, _)| *v)
        .unwrap_or(default);
    if by_value.len() > 1 {
        notes.push(format!(
            "the runs used different {what} sizes ({}); the cost forms use {chosen} bytes",
            by_value
                .iter()
                .map(|(v, f)| format!("{v} bytes in {} file(s)", f.len()))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    chosen
}

fn measurement(
    row: &ResultRow,
    link_rate: Option<f64>,
    samples: Option<u64>,
) -> Result<Measurement> {
    let m = &row.out_of_place;
    if !(m.time.is_finite() && m.time > 0.0) {
        bail!("time {} us is not a positive number", m.time);
    }
    let case = Case {
        collective: row.collective,
        algorithm: row.algorithm,
    };
    let mut out = Measurement::of(case, row.nranks, row.size, m.time);
    out.link_rate_bps = row.link_rate_bps.or(link_rate);
    out.host_bound = !m.cpu_bound_ranks.is_empty() || !m.sched_bound_ranks.is_empty();
    if samples.is_some_and(|max| row.size <= max) {
        out.samples_us = histogram_samples(&m.rank_histogram)?;
    }
    Ok(out)
}

/// Every rank's iteration times (microseconds) from a base64 HDR histogram of nanoseconds.
pub fn histogram_samples(b64: &str) -> Result<Vec<f64>> {
    if b64.trim().is_empty() {
        bail!(
            "rank_histogram is empty (the per-rank latency histogram the straggler term needs; \
             --no-stragglers does without it)"
        );
    }
    let h = wire::histogram::from_base64(b64).map_err(|e| {
        anyhow::anyhow!("rank_histogram cannot be decoded ({e}); --no-stragglers does without it")
    })?;
    let buckets: Vec<(f64, u64)> = h
        .iter_recorded()
        .map(|v| {
            let ns = h.median_equivalent(v.value_iterated_to());
            (ns as f64 / 1000.0, v.count_at_value())
        })
        .collect();
    Ok(expand_histogram(&buckets, MAX_SAMPLES))
}

#[cfg(test)]
mod tests {
    use super::groups_are_hosts;

    #[test]
    fn groups_are_hosts_only_where_each_group_has_a_host_of_its_own() {
        let two_nodes = [(0, "a"), (1, "a"), (2, "b"), (3, "b")];
        assert!(groups_are_hosts(2, &two_nodes));
        // Groups of 4 span both hosts; groups of 1 cross no host boundary but have no inside.
        assert!(!groups_are_hosts(4, &two_nodes));
        assert!(!groups_are_hosts(1, &two_nodes));
        // One host holding two groups, and a group split over two hosts.
        assert!(!groups_are_hosts(
            2,
            &[(0, "a"), (1, "a"), (2, "a"), (3, "a")]
        ));
        assert!(!groups_are_hosts(
            2,
            &[(0, "a"), (1, "b"), (2, "c"), (3, "c")]
        ));
        // Hosts listed in any order.
        assert!(groups_are_hosts(
            2,
            &[(3, "b"), (0, "a"), (2, "b"), (1, "a")]
        ));
    }
}
