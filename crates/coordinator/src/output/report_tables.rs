//! The tables of a run's report as data (a head and rows of text), so that `report.md` and
//! `report.html` show the same cells: one table per algorithm, the comparison of algorithms, the
//! ping-pong sweep and where each rank ran.

use std::fmt::Write;

use wire::results::{PingPongRow, ResultRow, RunConfig};

use crate::sizes::format_size;

/// A table: its column heads, which columns hold numbers (right-aligned), and its rows.
pub struct Table {
    pub head: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Row>,
}

pub struct Row {
    pub cells: Vec<String>,
    /// The row measures the host's CPU, not the network (see [`super::table::cpu_warning`]).
    pub host_bound: bool,
}

impl Table {
    fn new(head: &[(&str, bool)]) -> Self {
        Table {
            head: head.iter().map(|(h, _)| (*h).to_string()).collect(),
            numeric: head.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, cells: Vec<String>) {
        self.rows.push(Row {
            cells,
            host_bound: false,
        });
    }

    /// The table in Markdown (pipes; numbers right-aligned).
    pub fn markdown(&self) -> String {
        let mut s = format!("| {} |\n|", self.head.join(" | "));
        for &n in &self.numeric {
            s.push_str(if n { "---:|" } else { "---|" });
        }
        s.push('\n');
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", r.cells.join(" | "));
        }
        s
    }
}

/// The busiest rank's cores used and given, marked where the row names ranks the host set,
/// and the mean CPU-seconds per GB over ranks, out of place.
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
            let mark = if o.cpu_bound_ranks.is_empty() && o.sched_bound_ranks.is_empty() {
                ""
            } else {
                " (host-bound)"
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

/// One algorithm's rows: size, times, bandwidths, errors, link efficiency, channels and CPU.
pub fn algorithm(rows: &[&ResultRow], cores: &[f64]) -> Table {
    let mut t = Table::new(&[
        ("size", true),
        ("time (us)", true),
        ("algbw (GB/s)", true),
        ("busbw (GB/s)", true),
        ("p50 (us)", true),
        ("p99 (us)", true),
        ("#wrong", true),
        ("in-place busbw", true),
        ("link eff.", true),
        ("channels", true),
        ("busiest rank (cores)", false),
        ("CPU-s/GB", true),
    ]);
    for r in rows {
        let o = &r.out_of_place;
        let (busy, per_gb) = cpu_cells(r, cores);
        t.push(vec![
            format_size(r.size),
            format!("{:.1}", o.time),
            format!("{:.3}", o.alg_bw),
            format!("{:.3}", o.bus_bw),
            format!("{:.1}", o.per_iter.p50_us),
            format!("{:.1}", o.per_iter.p99_us),
            o.nwrong.map_or("n/a".into(), |w| w.to_string()),
            format!("{:.3}", r.in_place.bus_bw),
            r.link_efficiency
                .map_or("-".into(), |e| format!("{:.1}%", e * 100.0)),
            r.channels.unwrap_or(1).to_string(),
            busy,
            per_gb,
        ]);
        if let Some(last) = t.rows.last_mut() {
            last.host_bound = super::table::host_warning(r, cores).is_some();
        }
    }
    t
}

pub const COMPARISON: &str =
    "Out-of-place time of each algorithm relative to the fastest at that size.";

/// The comparisons a report shows: one per collective measured by more than one algorithm,
/// titled, with that collective's rows.
pub fn comparisons(rows: &[ResultRow]) -> Vec<(String, Vec<ResultRow>)> {
    crate::compare::groups(rows)
        .into_iter()
        .map(|(name, of)| {
            let title = if name.is_empty() {
                "Comparison".to_string()
            } else {
                format!("Comparison: {name}")
            };
            (title, of)
        })
        .collect()
}

/// For each size, the fastest algorithm and every algorithm's out-of-place time relative to it.
pub fn comparison(rows: &[ResultRow]) -> Table {
    let c = crate::compare::compare(rows);
    let mut head = vec![("size", true), ("best", false)];
    head.extend(c.algorithms.iter().map(|a| (a.name(), true)));
    let mut t = Table::new(&head);
    for (size, best, ratios) in &c.sizes {
        let mut cells = vec![format_size(*size), best.name().to_string()];
        cells.extend(
            ratios
                .iter()
                .map(|r| r.map_or("-".into(), |r| format!("{r:.2}x"))),
        );
        t.push(cells);
    }
    t
}

/// Where each rank ran: host, PID, its data-plane address(es), its CPUs and the cores it was
/// given.
pub fn ranks(c: &RunConfig) -> Table {
    let mut t = Table::new(&[
        ("rank", true),
        ("host", false),
        ("pid", true),
        ("data-plane address", false),
        ("CPUs", false),
        ("cores given", true),
    ]);
    for h in &c.hosts {
        let more = h.data_addrs.len().saturating_sub(1);
        let addr = if more > 0 {
            format!("{} (+{more} channels)", h.data_addr)
        } else {
            h.data_addr.clone()
        };
        t.push(vec![
            h.rank.to_string(),
            h.host.clone(),
            h.pid.to_string(),
            addr,
            h.cpus.clone().unwrap_or_else(|| "-".into()),
            h.cores.map_or("-".into(), |c| format!("{c:.2}")),
        ]);
    }
    t
}

pub const PINGPONG: &str = "One-way time = round trip / 2; bandwidth = size / mean one-way time.";

/// "Point-to-point (ping-pong, rank 0 <-> 1)"; `rows` is not empty.
pub fn pingpong_title(rows: &[PingPongRow]) -> String {
    let [a, b] = rows.first().map_or([0, 0], |r| r.ranks);
    format!("Point-to-point (ping-pong, rank {a} <-> {b})")
}

/// The `--pingpong` sweep: one-way time (half the round trip) and bandwidth per size.
pub fn pingpong(rows: &[PingPongRow]) -> Table {
    let mut t = Table::new(&[
        ("size", true),
        ("one-way (us)", true),
        ("min (us)", true),
        ("p50 (us)", true),
        ("p99 (us)", true),
        ("bandwidth (GB/s)", true),
    ]);
    for r in rows {
        let w = &r.one_way;
        t.push(vec![
            format_size(r.size),
            format!("{:.1}", w.mean_us),
            format!("{:.1}", w.min_us),
            format!("{:.1}", w.p50_us),
            format!("{:.1}", w.p99_us),
            format!("{:.3}", r.bandwidth),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::{measured, row};
    use topologies::Algorithm;

    fn m(bus_bw: f64, nwrong: Option<u64>) -> wire::results::Measured {
        measured(bus_bw, 10.0, 12.0, nwrong)
    }

    #[test]
    fn markdown_has_a_head_an_alignment_line_and_a_line_per_row() {
        let rows = [
            row(Algorithm::Ring, 1024, m(1.0, Some(0)), m(1.0, Some(0))),
            row(Algorithm::Ring, 2048, m(2.0, Some(3)), m(2.0, Some(0))),
        ];
        let refs: Vec<&ResultRow> = rows.iter().collect();
        let md = algorithm(&refs, &[]).markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4, "{md}");
        assert!(lines[0].starts_with("| size | time (us) |"));
        assert!(lines[1].starts_with("|---:|"));
        assert!(
            lines[1].contains("|---|"),
            "the text column is left-aligned"
        );
        assert!(lines[3].starts_with("| 2K |") && lines[3].contains("| 3 |"));
    }

    #[test]
    fn the_comparison_names_the_fastest_and_every_ratio() {
        let rows = [
            row(Algorithm::Ring, 1024, m(1.0, Some(0)), m(1.0, Some(0))),
            row(Algorithm::Tree, 1024, m(1.0, Some(0)), m(1.0, Some(0))),
        ];
        let t = comparison(&rows);
        assert_eq!(t.head, ["size", "best", "ring", "tree"]);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].cells[2], "1.00x");
    }
}
