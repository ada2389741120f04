//! `report.md` and `busbw.svg`: a human-readable account of a run, rewritten with the results.

use std::fmt::Write;

use topologies::Algorithm;
use wire::results::{PingPongRow, ResultRow, ResultsFile};

use crate::sizes::format_size;

pub fn busbw_svg(file: &ResultsFile) -> String {
    use scale_model::plot::svg::{chart, color, document, linear_upto, Chart, Series, Stroke};
    let mut order: Vec<Algorithm> = Vec::new();
    for r in &file.results {
        if !order.contains(&r.algorithm) {
            order.push(r.algorithm);
        }
    }
    let series: Vec<Series> = order
        .iter()
        .enumerate()
        .map(|(i, a)| Series {
            name: a.name().to_string(),
            points: file
                .results
                .iter()
                .filter(|r| r.algorithm == *a)
                .map(|r| (r.size as f64, r.out_of_place.bus_bw))
                .collect(),
            color: color(i),
            stroke: Stroke::Line { width: 2 },
        })
        .collect();
    let title = format!(
        "all-reduce bus bandwidth, {} ranks, {} {}",
        file.config.nranks, file.config.dtype, file.config.redop
    );
    let sizes = || file.results.iter().map(|r| r.size as f64);
    let x_range = (
        sizes().fold(f64::INFINITY, f64::min).min(1024.0) / 1.5,
        sizes().fold(1.0, f64::max) * 1.5,
    );
    let y_range = linear_upto(file.results.iter().map(|r| r.out_of_place.bus_bw));
    document(760, 440, |root| {
        chart(
            root,
            &Chart {
                caption: &title,
                x_desc: "message size per rank (bytes)",
                y_desc: "busbw (GB/s), out of place",
                x_range,
                y_range,
                y_log: false,
                series: &series,
                x_tick: &|x| format_size(x.round() as u64),
                y_tick: &|y| format!("{y:.3}"),
                legend: true,
            },
        )
    })
}

/// The run's title and what it was: sizes, iterations, the link rate, an unencrypted data plane
/// or a failure when there was one.
fn heading(file: &ResultsFile) -> String {
    let c = &file.config;
    let mut s = String::new();
    let _ = writeln!(s, "# collbench run {}\n", c.run_id);
    let _ = writeln!(
        s,
        "Started {} · {} ranks · launcher `{}` · {} {} · sizes {}..{} (x{}) · {} warm-up + {} timed iterations · check {}\n",
        c.started_at,
        c.nranks,
        c.launcher,
        c.dtype,
        c.redop,
        format_size(c.minbytes),
        format_size(c.maxbytes),
        c.stepfactor,
        c.warmup_iters,
        c.iters,
        if c.check { "on" } else { "off" }
    );
    if let Some(rate) = c.link_rate_bps {
        let _ = writeln!(
            s,
            "Configured link rate: {:.0} Mbit/s{}.\n",
            rate / 1e6,
            c.uplink_rate_bps.map_or(String::new(), |u| format!(
                ", uplinks {:.0} Mbit/s",
                u / 1e6
            ))
        );
    }
    if c.data_plane_unencrypted {
        let _ = writeln!(
            s,
            "**Data plane unencrypted** (`--no-encryption`): payloads in clear after the TLS \
             handshake, to attribute the cipher's cost; not comparable with encrypted runs.\n"
        );
    }
    if let Some(f) = &file.failure {
        let _ = writeln!(
            s,
            "**The run failed:** {}\n\nEvery row below was measured in full before the failure.\n",
            f.message
        );
    }
    s
}

/// The busiest rank's cores used and given, marked when beyond 90%, and the mean CPU-seconds
/// per GB over ranks, out of place.
fn cpu_cells(r: &ResultRow, cores: &[f64]) -> (String, String) {
    let o = &r.out_of_place;
    let busiest = o
        .rank_cpu
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.busy_cores.total_cmp(&b.1.busy_cores));
    let busy = match busiest {
        Some((rank, u)) => {
            let given = cores
                .get(rank)
                .map_or(String::new(), |c| format!(" of {c:.2}"));
            let mark = if o.cpu_bound_ranks.is_empty() {
                ""
            } else {
                " **host-bound**"
            };
            format!("rank {rank}: {:.2}{given}{mark}", u.busy_cores)
        }
        None => "-".into(),
    };
    let per_gb: Vec<f64> = o.rank_cpu.iter().filter_map(|u| u.cpu_s_per_gb).collect();
    let per_gb = if per_gb.is_empty() {
        "-".into()
    } else {
        format!("{:.2}", per_gb.iter().sum::<f64>() / per_gb.len() as f64)
    };
    (busy, per_gb)
}

fn algo_table(rows: &[&ResultRow], cores: &[f64]) -> String {
    let mut s = String::from("| size | time (us) | algbw (GB/s) | busbw (GB/s) | p50 (us) | p99 (us) | #wrong | in-place busbw | link eff. | channels | busiest rank (cores) | CPU-s/GB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
    for r in rows {
        let o = &r.out_of_place;
        let (busy, per_gb) = cpu_cells(r, cores);
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.3} | {:.3} | {:.1} | {:.1} | {} | {:.3} | {} | {} | {busy} | {per_gb} |",
            format_size(r.size),
            o.time,
            o.alg_bw,
            o.bus_bw,
            o.per_iter.p50_us,
            o.per_iter.p99_us,
            o.nwrong.map_or("n/a".into(), |w| w.to_string()),
            r.in_place.bus_bw,
            r.link_efficiency
                .map_or("-".into(), |e| format!("{:.1}%", e * 100.0)),
            r.channels.unwrap_or(1),
        );
    }
    s
}

/// The rows a rank's CPU, not the network, set, with what the table printed under them.
fn host_bound_section(file: &ResultsFile, cores: &[f64]) -> String {
    let warned: Vec<(&ResultRow, String)> = file
        .results
        .iter()
        .filter_map(|r| super::table::cpu_warning(r, cores).map(|w| (r, w)))
        .collect();
    if warned.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n## Rows the host's CPU set\n\nIn these rows a rank's data plane kept more than 90% of \
         the cores it was given busy (CPU time of its channel threads over the timed \
         iterations): the number is the host's, not the network's.\n\n",
    );
    for (r, w) in warned {
        let _ = writeln!(
            s,
            "- {} {}: {}",
            r.algorithm,
            format_size(r.size),
            w.trim_start_matches("# ")
        );
    }
    s
}

pub fn markdown(file: &ResultsFile) -> String {
    let c = &file.config;
    let mut s = heading(file);
    let _ = writeln!(s, "Times are the slowest rank's per iteration; busbw = algbw x 2(p-1)/p (nccl-tests' definitions).\n\n![busbw against size](busbw.svg)\n");
    if let Some(channels) = c.channels {
        let _ = writeln!(
            s,
            "Each rank ran {channels} channel(s): its own UDP socket, QUIC endpoint, connections and thread each, with its own part of the buffer.\n"
        );
    }
    let cores: Vec<f64> = c.hosts.iter().map(|h| h.cores.unwrap_or(0.0)).collect();
    let mut algos: Vec<Algorithm> = Vec::new();
    for r in &file.results {
        if !algos.contains(&r.algorithm) {
            algos.push(r.algorithm);
        }
    }
    for a in &algos {
        let rows: Vec<&ResultRow> = file.results.iter().filter(|r| r.algorithm == *a).collect();
        let _ = writeln!(s, "## {a}\n\n{}", algo_table(&rows, &cores));
    }
    if algos.len() > 1 {
        let _ = writeln!(s, "## Comparison\n\nOut-of-place time of each algorithm relative to the fastest at that size.\n");
        s.push_str(&crate::compare::markdown(&file.results));
    }
    s.push_str(&host_bound_section(file, &cores));
    if let Some(rows) = file.pingpong.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&pingpong_section(rows));
    }
    s.push_str(&ranks_section(c));
    s
}

/// Where each rank ran: host, PID, its data-plane address(es), its CPUs and the cores it was
/// given.
fn ranks_section(c: &wire::results::RunConfig) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Ranks\n\n| rank | host | pid | data-plane address | CPUs | cores given |\n|---:|---|---:|---|---|---:|"
    );
    for h in &c.hosts {
        let more = h.data_addrs.len().saturating_sub(1);
        let addr = if more > 0 {
            format!("{} (+{more} channels)", h.data_addr)
        } else {
            h.data_addr.clone()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {addr} | {} | {} |",
            h.rank,
            h.host,
            h.pid,
            h.cpus.as_deref().unwrap_or("-"),
            h.cores.map_or("-".into(), |c| format!("{c:.2}")),
        );
    }
    s
}

/// The `--pingpong` sweep: one-way time (half the round trip) and bandwidth per size.
fn pingpong_section(rows: &[PingPongRow]) -> String {
    let [a, b] = rows[0].ranks;
    let mut s = format!(
        "\n## Point-to-point (ping-pong, rank {a} <-> {b})\n\nOne-way time = round trip / 2; \
         bandwidth = size / mean one-way time.\n\n\
         | size | one-way (us) | min (us) | p50 (us) | p99 (us) | bandwidth (GB/s) |\n\
         |---:|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        let w = &r.one_way;
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} |",
            format_size(r.size),
            w.mean_us,
            w.min_us,
            w.p50_us,
            w.p99_us,
            r.bandwidth
        );
    }
    s
}
