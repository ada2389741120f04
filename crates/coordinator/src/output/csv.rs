//! `results.csv`: one line per collective, algorithm and size, both placements, with a header line; and
//! `pingpong.csv`: one line per size of the `--pingpong` sweep (its columns are not the
//! all-reduce's, so it has a file of its own). Every line names the run it came from. Written
//! with the `csv` crate from the records below: the header is their field names, in order.

use anyhow::{Context, Result};
use serde::Serialize;
use wire::results::{Measured, PingPongRow, ResultRow};

#[derive(Serialize)]
struct Row<'a> {
    run_id: &'a str,
    collective: &'static str,
    algorithm: &'static str,
    nranks: usize,
    size: u64,
    count: u64,
    #[serde(rename = "type")]
    dtype: &'static str,
    redop: &'static str,
    root: i64,
    time_us: f64,
    algbw_gbps: f64,
    busbw_gbps: f64,
    nwrong: Option<u64>,
    min_us: f64,
    p50_us: f64,
    p95_us: f64,
    p99_us: f64,
    max_us: f64,
    stdev_us: f64,
    ip_time_us: f64,
    ip_algbw_gbps: f64,
    ip_busbw_gbps: f64,
    ip_nwrong: Option<u64>,
    link_rate_bps: Option<f64>,
    link_efficiency: Option<f64>,
    channels: Option<u32>,
    /// The busy cores of the busiest rank, out of place.
    busiest_rank_cores: Option<f64>,
    /// CPU-seconds per GB sent, the mean over ranks that sent anything, out of place.
    cpu_s_per_gb: Option<f64>,
    /// `;`-separated.
    cpu_bound_ranks: String,
    /// `;`-separated, as `cpu_bound_ranks`.
    sched_bound_ranks: String,
}

#[derive(Serialize)]
struct PingPongLine<'a> {
    run_id: &'a str,
    size: u64,
    iterations: u32,
    one_way_us: f64,
    min_us: f64,
    p50_us: f64,
    p95_us: f64,
    p99_us: f64,
    max_us: f64,
    stdev_us: f64,
    bw_gbps: f64,
    rank_a: usize,
    rank_b: usize,
}

fn busiest(m: &Measured) -> Option<f64> {
    m.rank_cpu
        .iter()
        .map(|c| c.busy_cores)
        .max_by(f64::total_cmp)
}

fn mean_cpu_per_gb(m: &Measured) -> Option<f64> {
    let v: Vec<f64> = m.rank_cpu.iter().filter_map(|c| c.cpu_s_per_gb).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn row<'a>(run_id: &'a str, r: &ResultRow) -> Row<'a> {
    let (o, i) = (&r.out_of_place, &r.in_place);
    let w = &o.per_iter;
    Row {
        run_id,
        collective: r.collective.name(),
        algorithm: r.algorithm.name(),
        nranks: r.nranks,
        size: r.size,
        count: r.count,
        dtype: r.dtype.name(),
        redop: crate::output::table::redop_name(r),
        root: r.root,
        time_us: o.time,
        algbw_gbps: o.alg_bw,
        busbw_gbps: o.bus_bw,
        nwrong: o.nwrong,
        min_us: w.min_us,
        p50_us: w.p50_us,
        p95_us: w.p95_us,
        p99_us: w.p99_us,
        max_us: w.max_us,
        stdev_us: w.stdev_us,
        ip_time_us: i.time,
        ip_algbw_gbps: i.alg_bw,
        ip_busbw_gbps: i.bus_bw,
        ip_nwrong: i.nwrong,
        link_rate_bps: r.link_rate_bps,
        link_efficiency: r.link_efficiency,
        channels: r.channels,
        busiest_rank_cores: busiest(o),
        cpu_s_per_gb: mean_cpu_per_gb(o),
        cpu_bound_ranks: joined(&o.cpu_bound_ranks),
        sched_bound_ranks: joined(&o.sched_bound_ranks),
    }
}

/// Ranks as one cell: "0;3".
fn joined(ranks: &[usize]) -> String {
    ranks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

/// The records as CSV with their header (written even when there are no records).
fn write<T: Serialize>(
    records: impl IntoIterator<Item = T>,
    empty_header: &[&str],
) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut any = false;
    for r in records {
        w.serialize(r).context("writing a CSV line")?;
        any = true;
    }
    if !any {
        w.write_record(empty_header)
            .context("writing the CSV header")?;
    }
    let bytes = w.into_inner().context("finishing the CSV")?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

/// `results.csv` of `rows`, each line naming `run_id`.
pub fn render(run_id: &str, rows: &[ResultRow]) -> Result<String> {
    write(rows.iter().map(|r| row(run_id, r)), &COLUMNS)
}

/// `pingpong.csv` of `rows`, each line naming `run_id`.
pub fn render_pingpong(run_id: &str, rows: &[PingPongRow]) -> Result<String> {
    write(
        rows.iter().map(|r| PingPongLine {
            run_id,
            size: r.size,
            iterations: r.iterations,
            one_way_us: r.one_way.mean_us,
            min_us: r.one_way.min_us,
            p50_us: r.one_way.p50_us,
            p95_us: r.one_way.p95_us,
            p99_us: r.one_way.p99_us,
            max_us: r.one_way.max_us,
            stdev_us: r.one_way.stdev_us,
            bw_gbps: r.bandwidth,
            rank_a: r.ranks[0],
            rank_b: r.ranks[1],
        }),
        &PINGPONG_COLUMNS,
    )
}

/// The header of a file with no rows yet (serde writes it from the first record).
const COLUMNS: [&str; 30] = [
    "run_id",
    "collective",
    "algorithm",
    "nranks",
    "size",
    "count",
    "type",
    "redop",
    "root",
    "time_us",
    "algbw_gbps",
    "busbw_gbps",
    "nwrong",
    "min_us",
    "p50_us",
    "p95_us",
    "p99_us",
    "max_us",
    "stdev_us",
    "ip_time_us",
    "ip_algbw_gbps",
    "ip_busbw_gbps",
    "ip_nwrong",
    "link_rate_bps",
    "link_efficiency",
    "channels",
    "busiest_rank_cores",
    "cpu_s_per_gb",
    "cpu_bound_ranks",
    "sched_bound_ranks",
];

const PINGPONG_COLUMNS: [&str; 13] = [
    "run_id",
    "size",
    "iterations",
    "one_way_us",
    "min_us",
    "p50_us",
    "p95_us",
    "p99_us",
    "max_us",
    "stdev_us",
    "bw_gbps",
    "rank_a",
    "rank_b",
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use topologies::Algorithm;

    use super::*;
    use crate::test_rows;

    #[test]
    fn the_header_is_the_same_with_rows_and_without() {
        let m = test_rows::measured(1.5, 10.0, 12.0, Some(0));
        let r = test_rows::row(Algorithm::Ring, 1024, m.clone(), m);
        let with = render("run-1", &[r]).unwrap();
        let without = render("run-1", &[]).unwrap();
        let header = with.lines().next().unwrap();
        assert_eq!(without.trim_end(), header);
        assert_eq!(header.split(',').count(), COLUMNS.len());
        let line: Vec<&str> = with.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(line.len(), COLUMNS.len());
        assert_eq!(&line[..4], ["run-1", "all_reduce", "ring", "4"]);
        let pp = render_pingpong("run-1", &[]).unwrap();
        assert_eq!(pp.trim_end(), PINGPONG_COLUMNS.join(","));
    }
}
