//! `results.csv`: one line per algorithm and size, both placements, with a header line; and
//! `pingpong.csv`: one line per size of the `--pingpong` sweep (its columns are not the
//! all-reduce's, so it has a file of its own).

use std::fmt::Write;

use wire::results::{Measured, PingPongRow, ResultRow};

const COLUMNS: &[&str] = &[
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
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub fn render(rows: &[ResultRow]) -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    for r in rows {
        let o = &r.out_of_place;
        let i = &r.in_place;
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:.3},{:.6},{:.6},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.6},{:.6},{},{},{},{},{},{},{}",
            r.algorithm, r.nranks, r.size, r.count, r.dtype, r.redop, r.root,
            o.time, o.alg_bw, o.bus_bw, opt(o.nwrong),
            o.per_iter.min_us, o.per_iter.p50_us, o.per_iter.p95_us, o.per_iter.p99_us, o.per_iter.max_us, o.per_iter.stdev_us,
            i.time, i.alg_bw, i.bus_bw, opt(i.nwrong),
            opt(r.link_rate_bps), opt(r.link_efficiency),
            opt(r.channels), opt(busiest(o)), opt(mean_cpu_per_gb(o)),
            o.cpu_bound_ranks.iter().map(usize::to_string).collect::<Vec<_>>().join(";"),
        );
    }
    s
}

/// The busy cores of the busiest rank, out of place.
fn busiest(m: &Measured) -> Option<String> {
    m.rank_cpu
        .iter()
        .map(|c| c.busy_cores)
        .max_by(f64::total_cmp)
        .map(|b| format!("{b:.3}"))
}

/// CPU-seconds per GB sent, the mean over ranks that sent anything.
fn mean_cpu_per_gb(m: &Measured) -> Option<String> {
    let v: Vec<f64> = m.rank_cpu.iter().filter_map(|c| c.cpu_s_per_gb).collect();
    (!v.is_empty()).then(|| format!("{:.3}", v.iter().sum::<f64>() / v.len() as f64))
}

const PINGPONG_COLUMNS: &[&str] = &[
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

pub fn render_pingpong(rows: &[PingPongRow]) -> String {
    let mut s = PINGPONG_COLUMNS.join(",");
    s.push('\n');
    for r in rows {
        let w = &r.one_way;
        let _ = writeln!(
            s,
            "{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.6},{},{}",
            r.size,
            r.iterations,
            w.mean_us,
            w.min_us,
            w.p50_us,
            w.p95_us,
            w.p99_us,
            w.max_us,
            w.stdev_us,
            r.bandwidth,
            r.ranks[0],
            r.ranks[1],
        );
    }
    s
}
