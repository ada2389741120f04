//! nccl-tests' JSON output (`-J FILE`), in its layout (nccl-tests' `src/util.cu`, JSON file
//! version 3): the command line, start and end times, `config` with the devices (here the ranks:
//! host, PID, data-plane address), `results` with one record per row (size, count, type,
//! redop, root, and time/alg_bw/bus_bw/nwrong out of place and in place), the out-of-bounds
//! count and the average bus bandwidth. A reader of nccl-tests' files reads it unchanged;
//! `results.json` stays collbench's richer file.
//!
//! A device is a rank: its host, PID, data-plane address and CPU model. Differences, on
//! purpose: times are UTC; `env` holds only the `NCCL_*` variables (not the
//! whole environment, which may hold secrets); `nccl_version` is 0 (no NCCL here); each record's
//! `experiment_name` is the algorithm; with `-I`, the per-iteration statistics and times are
//! over each iteration's slowest rank.

use serde_json::{json, Value};
use wire::results::{Measured, ResultRow, ResultsFile};

use super::verdict;

/// nccl-tests' JSON file version this layout follows.
pub const NCCL_TESTS_JSON_VERSION: u32 = 3;

/// What the file says beyond the results: the command line and when the run ended.
pub struct Context<'a> {
    pub args: &'a [String],
    pub env: &'a [String],
    pub ended_at: &'a str,
    pub min_busbw: Option<f64>,
    /// `-I 1`: each record gets its per-iteration objects.
    pub per_iter: bool,
}

/// "2026-12-04T23:20:01Z" as nccl-tests writes times: "2026-12-04 23:20:01".
fn nccl_time(rfc3339: &str) -> String {
    rfc3339.trim_end_matches('Z').replacen('T', " ", 1)
}

fn placement(m: &Measured) -> Value {
    json!({
        "time": m.time,
        "alg_bw": m.alg_bw,
        "bus_bw": m.bus_bw,
        "nwrong": m.nwrong.map(|w| w as f64),
    })
}

/// nccl-tests' per-iteration object (`-I 1`): statistics over each iteration's slowest rank, and
/// every iteration's time.
fn per_iteration(m: &Measured) -> Value {
    let w = &m.per_iter;
    json!({
        "skipped_iterations": 0,
        "min_us": w.min_us,
        "max_us": w.max_us,
        "avg_us": w.mean_us,
        "p50_us": w.p50_us,
        "p95_us": w.p95_us,
        "p99_us": w.p99_us,
        "stdev_us": w.stdev_us,
        "cv_pct": if w.mean_us > 0.0 { 100.0 * w.stdev_us / w.mean_us } else { 0.0 },
        "times_us": m.iter_us,
    })
}

fn record(r: &ResultRow, iters: u32, per_iter: bool) -> Value {
    let mut v = json!({
        "size": r.size,
        "count": r.count,
        "type": r.dtype.name(),
        "redop": crate::output::table::redop_name(r),
        "root": format!("{:6}", r.root),
        "out_of_place": placement(&r.out_of_place),
        "in_place": placement(&r.in_place),
        "actual_iterations": iters,
        "experiment_name": r.case().to_string(),
    });
    if per_iter {
        v["out_of_place_per_iter"] = per_iteration(&r.out_of_place);
        v["in_place_per_iter"] = per_iteration(&r.in_place);
    }
    v
}

pub fn render(file: &ResultsFile, cx: &Context<'_>) -> Value {
    let c = &file.config;
    let rows: Vec<&ResultRow> = file.results.iter().collect();
    let wrong = verdict::wrong_values(&rows);
    let average = verdict::average_busbw(&rows);
    let devices: Vec<Value> = c
        .hosts
        .iter()
        .map(|h| {
            json!({
                "rank": h.rank,
                "group": 0,
                "pid": h.pid,
                "hostname": h.host,
                "device": 0,
                "device_hex": h.data_addr,
                "device_info": match &h.cpu_model {
                    Some(cpu) => format!("QUIC on {cpu}"),
                    None => "QUIC".to_string(),
                },
            })
        })
        .collect();
    let mut config = json!({
        "nthreads": 1,
        "ngpus": 1,
        "minimum_bytes": c.minbytes,
        "maximum_bytes": c.maxbytes,
        "warmup_iters": c.warmup_iters,
        "iterations": c.iters,
        "aggregated_iterations": c.agg_iters.unwrap_or(1),
        "validation": super::table::check_count(c),
        "graph": 0,
        "blocking_collectives": false,
        "per_iter_timing": cx.per_iter,
        "per_iter_skip": 0,
        "parallel_init": false,
        "devices": devices,
    });
    match c.stepbytes {
        Some(b) => config["step_bytes"] = json!(b),
        None => config["step_factor"] = json!(c.stepfactor),
    }
    json!({
        "version": NCCL_TESTS_JSON_VERSION,
        "start_time": nccl_time(&c.started_at),
        "args": cx.args,
        "env": cx.env,
        "nccl_version": 0,
        "tool": file.tool,
        "config": config,
        "results": rows.iter().map(|r| record(r, c.iters, cx.per_iter)).collect::<Vec<_>>(),
        "out_of_bounds": { "count": wrong, "okay": wrong == 0 },
        "average_bus_bandwidth": {
            "bandwidth": average,
            "okay": match cx.min_busbw {
                None => json!("unchecked"),
                Some(min) => json!(verdict::min_bw_word(average, min) == "OK"),
            },
        },
        "end_time": nccl_time(cx.ended_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_nccl_tests_writes_them() {
        assert_eq!(nccl_time("2026-12-04T23:20:01Z"), "2026-12-04 23:20:01");
    }
}
