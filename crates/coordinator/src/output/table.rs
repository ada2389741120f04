//! The nccl-tests-style table. Data rows have exactly 13 whitespace-separated fields
//! (size count type redop root, then time algbw busbw #wrong out of place and in place), so tools
//! that parse nccl-tests output (NVIDIA CloudAI keeps only such rows) read collbench's unchanged.

use std::fmt::Write;

use wire::results::{Measured, PingPongRow, ResultRow, RunConfig};

use super::verdict;

/// The checked iterations per size and placement, as nccl-tests' `validation:` prints them.
pub fn check_count(cfg: &RunConfig) -> u32 {
    match (cfg.check, cfg.check_iters) {
        (false, _) => 0,
        (true, n) => n.unwrap_or(1),
    }
}

pub fn run_header(cfg: &RunConfig) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# collbench {} over QUIC: nranks {} minBytes {} maxBytes {} step: {} warmup iters: {} iters: {} agg iters: {} validation: {} type: {} redop: {}",
        cfg.collectives
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", "),
        cfg.nranks,
        cfg.minbytes,
        cfg.maxbytes,
        match cfg.stepbytes {
            Some(bytes) => format!("{bytes}(bytes)"),
            None => format!("{}(factor)", cfg.stepfactor),
        },
        cfg.warmup_iters,
        cfg.iters,
        cfg.agg_iters.unwrap_or(1),
        check_count(cfg),
        names(&cfg.types, cfg.dtype),
        names(&cfg.redops, cfg.redop)
    );
    if cfg.data_plane_unencrypted {
        let _ = writeln!(
            s,
            "# WARNING: data plane UNENCRYPTED (--no-encryption): payloads in clear after the TLS \
             handshake, to attribute the cipher's cost; not comparable with encrypted runs"
        );
    }
    if let Some(d) = &cfg.jitter {
        let _ = writeln!(
            s,
            "# WARNING: jitter injected (--fault jitter:{d}): every rank waits a draw before each step's sends; the times include it"
        );
    }
    if let Some(channels) = cfg.channels {
        let _ = writeln!(
            s,
            "# Channels: {channels} per rank (each its own socket, QUIC endpoint and thread); a size runs on as many as give each at least {} bytes",
            cfg.channel_min_bytes.unwrap_or(0)
        );
    }
    let _ = writeln!(s, "#\n# Using devices");
    for h in &cfg.hosts {
        let mut cores = h
            .cores
            .map(|c| format!(" cores {c:.2}"))
            .unwrap_or_default();
        if let Some(bound) = &h.bound_cpus {
            cores.push_str(&format!(" bound {bound}"));
        }
        let _ = writeln!(
            s,
            "#  Rank {:>2} Group  0 Pid {:>7} on {:>10} device  0 [{}] quic{cores}",
            h.rank, h.pid, h.host, h.data_addr
        );
    }
    s
}

/// The comment under a row that a rank's CPU or its host's scheduler, not the network, set (see
/// [`run_core::cpu_use`]); out of place judged first.
pub fn host_warning(r: &ResultRow, cores: &[f64]) -> Option<String> {
    let channels = r.channels.unwrap_or(1);
    let warn = |m: &wire::results::Measured| {
        let bound = (&m.cpu_bound_ranks[..], &m.sched_bound_ranks[..]);
        run_core::cpu_use::host_warning(&m.rank_cpu, cores, bound, channels)
    };
    warn(&r.out_of_place).or_else(|| warn(&r.in_place))
}

/// The table's header; `per_iter`: with nccl-tests' `-I` columns (i_min, i_max, i_p99, i_cv%
/// after each placement).
pub fn table_header(algorithm: &str, per_iter: bool) -> String {
    if per_iter {
        return format!(
            "#\n# Algorithm: {algorithm}\n\
#                                                   out-of-place (+ per-iteration)                                in-place (+ per-iteration)\n\
#       size         count      type   redop    root     time   algbw   busbw #wrong    i_min    i_max    i_p99   i_cv%     time   algbw   busbw #wrong    i_min    i_max    i_p99   i_cv%\n\
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)     (us)     (us)     (%)     (us)  (GB/s)  (GB/s)            (us)     (us)     (us)     (%)\n"
        );
    }
    format!(
        "#\n# Algorithm: {algorithm}\n\
#                                                              out-of-place                       in-place          \n\
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n\
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       \n"
    )
}

/// nccl-tests' time format: two decimals below 100 us, one below 10 ms, none above.
fn time_field(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{us:.0}")
    } else if us >= 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

/// A placement's per-iteration columns (`-I`): over each iteration's slowest rank.
fn per_iteration(m: &Measured) -> String {
    let w = &m.per_iter;
    let cv = if w.mean_us > 0.0 {
        100.0 * w.stdev_us / w.mean_us
    } else {
        0.0
    };
    format!(
        "  {:>7}  {:>7}  {:>7}  {:>6.2}",
        time_field(w.min_us),
        time_field(w.max_us),
        time_field(w.p99_us),
        cv
    )
}

/// A data row with the per-iteration columns after each placement (21 fields, as nccl-tests'
/// `-I 1` rows).
pub fn row_per_iter(r: &ResultRow) -> String {
    format!(
        "{}{}{}{}{}",
        preamble(r),
        placement(&r.out_of_place),
        per_iteration(&r.out_of_place),
        placement(&r.in_place),
        per_iteration(&r.in_place)
    )
}

fn placement(m: &Measured) -> String {
    let wrong = m
        .nwrong
        .map_or_else(|| "N/A".to_string(), |w| w.to_string());
    format!(
        "  {:>7}  {:>6.2}  {:>6.2}  {:>5}",
        time_field(m.time),
        m.alg_bw,
        m.bus_bw,
        wrong
    )
}

pub fn row(r: &ResultRow) -> String {
    format!(
        "{}{}{}",
        preamble(r),
        placement(&r.out_of_place),
        placement(&r.in_place)
    )
}

/// The fields every data row starts with: size count type redop root.
fn preamble(r: &ResultRow) -> String {
    format!(
        "{:>12}  {:>12}  {:>8}  {:>6}  {:>6}",
        r.size,
        r.count,
        r.dtype.name(),
        redop_name(r),
        r.root
    )
}

/// "float", or "float,half" for a run of several.
fn names<T: std::fmt::Display>(list: &[T], one: T) -> String {
    if list.is_empty() {
        one.to_string()
    } else {
        list.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// nccl-tests' redop column: the operator, or `none` for a collective that reduces nothing.
pub fn redop_name(r: &ResultRow) -> &'static str {
    if r.collective.reduces() {
        r.redop.name()
    } else {
        "none"
    }
}

/// The footer nccl-tests prints after a table: wrong values and the average bus bandwidth, with
/// OK or FAILED against the minimum when one is set.
pub fn footer(rows: &[&ResultRow], min_busbw: Option<f64>) -> String {
    let wrong = verdict::wrong_values(rows);
    let avg = verdict::average_busbw(rows);
    format!(
        "# Out of bounds values : {wrong} {}\n# Avg bus bandwidth    : {avg:.4} {}\n#\n",
        if wrong == 0 { "OK" } else { "FAILED" },
        min_busbw.map_or("", |min| verdict::min_bw_word(avg, min))
    )
}

/// A comment line with link efficiency (busbw / configured link rate, out of place) at the
/// table's largest size and its best, when the link rate is known.
pub fn link_efficiency(rows: &[&ResultRow]) -> Option<String> {
    let last = rows.iter().rev().find(|r| r.link_efficiency.is_some())?;
    let best = rows
        .iter()
        .filter_map(|r| r.link_efficiency)
        .fold(f64::MIN, f64::max);
    Some(format!(
        "# Link efficiency      : {:.1}% at {} bytes, best {:.1}% (busbw / link rate {:.0} Mbit/s)",
        last.link_efficiency? * 100.0,
        last.size,
        best * 100.0,
        last.link_rate_bps? / 1e6
    ))
}

/// The ping-pong table's header, printed after the all-reduce tables. Its data rows have 9
/// fields, so tools that keep nccl-tests' 13-field rows pass them by.
pub fn pingpong_header(ranks: [usize; 2]) -> String {
    format!(
        "#\n# Point-to-point (ping-pong, rank {} <-> {}; one-way = round trip / 2)\n\
#       size   iters   one-way       min       p50       p99       max   stdev      bw\n\
#        (B)              (us)      (us)      (us)      (us)      (us)    (us)  (GB/s)\n",
        ranks[0], ranks[1]
    )
}

pub fn pingpong_row(r: &PingPongRow) -> String {
    let w = &r.one_way;
    format!(
        "{:>12}  {:>6}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>6}  {:>6.3}",
        r.size,
        r.iterations,
        time_field(w.mean_us),
        time_field(w.min_us),
        time_field(w.p50_us),
        time_field(w.p99_us),
        time_field(w.max_us),
        time_field(w.stdev_us),
        r.bandwidth
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use topologies::Algorithm;
    use wire::stats::IterStats;

    fn measured(time: f64, nwrong: Option<u64>) -> Measured {
        Measured {
            time,
            alg_bw: 1.5,
            ..crate::test_rows::measured(2.25, time, time, nwrong)
        }
    }

    #[test]
    fn data_rows_have_thirteen_fields() {
        let r = crate::test_rows::row(
            Algorithm::Ring,
            1024,
            measured(12.5, Some(0)),
            measured(123456.0, None),
        );
        let line = row(&r);
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 13, "{line}");
        assert_eq!(fields[..5], ["1024", "256", "float", "sum", "-1"]);
        assert_eq!(fields[12], "N/A");
        assert!(table_header("ring", false)
            .lines()
            .all(|l| l.starts_with('#')));
        let wide = row_per_iter(&r);
        assert_eq!(wide.split_whitespace().count(), 21, "{wide}");
        assert!(table_header("ring", true).contains("i_cv%"));
        assert!(footer(&[&r], None).contains("Out of bounds values : 0 OK"));
        assert!(footer(&[&r], Some(2.0)).contains("Avg bus bandwidth    : 2.2500 OK"));
        assert!(footer(&[&r], Some(3.0)).contains("Avg bus bandwidth    : 2.2500 FAILED"));
    }

    #[test]
    fn ping_pong_rows_line_up_under_their_header() {
        let r = PingPongRow {
            size: 1 << 20,
            iterations: 20,
            one_way: IterStats::of(&[250.0, 260.5, 12_345.0]).unwrap(),
            bandwidth: 4.0,
            ranks: [0, 1],
            hosts: ["a".into(), "b".into()],
        };
        let line = pingpong_row(&r);
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 9, "{line}");
        assert_eq!(fields[..3], ["1048576", "20", "4285.2"]);
        assert_eq!(fields[8], "4.000");
        let header = pingpong_header([0, 1]);
        assert!(header.lines().all(|l| l.starts_with('#')));
        assert!(header.contains("rank 0 <-> 1"));
        // Each field ends where its column's header does.
        let names = header.lines().nth(2).unwrap();
        assert_eq!(line.len(), names.len(), "{names}\n{line}");
    }
}
