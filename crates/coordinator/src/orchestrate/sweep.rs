//! The sweep: barriers (shared with the ping-pong phase), reports, rows, and the `--fault`
//! hooks.

use std::collections::HashMap;
use std::time::Instant;

use topologies::Algorithm;
use wire::control::{FromCoordinator, Placement, Report};
use wire::results::ResultRow;
use wire::FromNode;

use super::failure::RunFailure;
use super::wait::Deadline;
use super::Orchestrator;
use crate::aggregate::measure;
use crate::events::Event;
use crate::output::table;
use crate::progress::Progress;

impl Orchestrator {
    pub(super) async fn sweep(&mut self) -> Result<(), RunFailure> {
        let p = self.nranks;
        let total = (self.opts.algorithms.len() * self.opts.sizes.len()) as u64;
        let pingpong = if self.opts.pingpong {
            self.opts.sizes.len() as u64
        } else {
            0
        };
        self.progress = Some(Progress::new(total + pingpong));
        let mut reports: HashMap<(Algorithm, u64, Placement), Vec<Option<Report>>> = HashMap::new();
        let mut rows_done = 0u64;
        let mut algo_rows: Vec<ResultRow> = Vec::new();
        while rows_done < total {
            let (rank, msg) = self.next_message().await?;
            match msg {
                FromNode::Report(r) => {
                    self.liveness.progress(Instant::now());
                    if !self.opts.algorithms.contains(&r.algorithm)
                        || !self.opts.sizes.contains(&r.size)
                    {
                        return Err(self.blame(
                            rank,
                            &format!(
                                "reported {} {} bytes, which is not in the plan",
                                r.algorithm, r.size
                            ),
                        ));
                    }
                    let key = (r.algorithm, r.size, r.placement);
                    let slot = reports.entry(key).or_insert_with(|| vec![None; p]);
                    slot[rank] = Some(r);
                    let (algo, size) = (key.0, key.1);
                    let complete = |pl: Placement| {
                        reports
                            .get(&(algo, size, pl))
                            .is_some_and(|v| v.iter().all(Option::is_some))
                    };
                    if complete(Placement::OutOfPlace) && complete(Placement::InPlace) {
                        let row = self.row(algo, size, &mut reports)?;
                        rows_done += 1;
                        self.emit(row, &mut algo_rows)?;
                    }
                }
                FromNode::Ready {} => {}
                other => return Err(self.blame(rank, &format!("sent {other:?} during the sweep"))),
            }
        }
        if self.opts.algorithms.len() > 1 {
            let text = crate::compare::render(&self.writer.file.results);
            if let Some(pr) = &self.progress {
                pr.println(&text);
            }
        }
        Ok(())
    }

    /// The next message of a node in the barrier phases (sweep, ping-pong), once failures and
    /// barrier arrivals, which every phase handles alike, are dealt with. Silence and lack of
    /// progress are judged by the liveness watch (see `wait`).
    pub(super) async fn next_message(&mut self) -> Result<(usize, FromNode), RunFailure> {
        loop {
            let ev = self.next_event(Deadline::Liveness).await?;
            match self.common(ev)? {
                Some(Event::Node {
                    rank,
                    msg: FromNode::Arrive { epoch },
                }) => self.arrive(rank, epoch)?,
                Some(Event::Node { rank, msg }) => return Ok((rank, msg)),
                _ => {}
            }
        }
    }

    /// `rank` reached barrier `epoch`; the last rank to reach it releases it. (Ranks that are
    /// done with the sweep may arrive at the ping-pong's first barrier before the sweep's last
    /// row is complete: the arrivals are kept across phases.)
    pub(super) fn arrive(&mut self, rank: usize, epoch: u64) -> Result<(), RunFailure> {
        self.liveness.arrived(rank, epoch, Instant::now());
        self.epoch = self.epoch.max(epoch);
        let set = self.arrivals.entry(epoch).or_default();
        set.insert(rank);
        if set.len() == self.nranks {
            self.arrivals.remove(&epoch);
            self.broadcast(&FromCoordinator::Release { epoch })?;
            if let Some(size) = self.size_at(epoch) {
                self.liveness.released(size, Instant::now());
            }
            self.fire_faults(epoch);
        }
        Ok(())
    }

    fn row(
        &mut self,
        algo: Algorithm,
        size: u64,
        reports: &mut HashMap<(Algorithm, u64, Placement), Vec<Option<Report>>>,
    ) -> Result<ResultRow, RunFailure> {
        let iters = self.opts.iters as usize;
        let cores = &self.cores;
        let mut channels = None;
        let mut take = |pl: Placement| -> Result<_, RunFailure> {
            let list: Vec<Report> = reports
                .remove(&(algo, size, pl))
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            channels = list.iter().map(|r| r.channels).max();
            measure(&list, iters, size, cores).map_err(|e| RunFailure {
                message: e.to_string(),
                algorithm: Some(algo),
                size: Some(size),
                ..Default::default()
            })
        };
        let out_of_place = take(Placement::OutOfPlace)?;
        let in_place = take(Placement::InPlace)?;
        let link = self.fabric.link_rate_bps;
        Ok(ResultRow {
            algorithm: algo,
            nranks: self.nranks,
            size,
            count: size / self.opts.dtype.size() as u64,
            dtype: self.opts.dtype,
            redop: self.opts.op,
            root: -1,
            channels,
            link_efficiency: link.map(|bps| out_of_place.bus_bw * 8e9 / bps),
            out_of_place,
            in_place,
            link_rate_bps: link,
            uplink_rate_bps: self.fabric.uplink_rate_bps,
        })
    }

    /// Prints a finished row (with its table's header and footer) and writes the results files.
    fn emit(&mut self, row: ResultRow, algo_rows: &mut Vec<ResultRow>) -> Result<(), RunFailure> {
        let Some(pr) = self.progress.as_mut() else {
            return Ok(());
        };
        if algo_rows
            .first()
            .is_some_and(|r| r.algorithm != row.algorithm)
        {
            algo_rows.clear();
        }
        if algo_rows.is_empty() {
            pr.println(table::table_header(row.algorithm.name()).trim_end());
        }
        pr.println(&table::row(&row));
        if let Some(warning) = table::cpu_warning(&row, &self.cores) {
            pr.println(&warning);
        }
        let last_size = self.opts.sizes.last() == Some(&row.size);
        pr.step(&format!(
            "{} {}",
            row.algorithm,
            crate::sizes::format_size(row.size)
        ));
        algo_rows.push(row.clone());
        if last_size {
            let refs: Vec<&ResultRow> = algo_rows.iter().collect();
            pr.println(table::footer(&refs).trim_end());
            if let Some(line) = table::link_efficiency(&refs) {
                pr.println(&line);
            }
        }
        self.note_refusals();
        self.writer
            .push(row)
            .map_err(|e| RunFailure::new(format!("writing results: {e:#}")))
    }

    /// Fires the `--fault` hooks of a size once its first barrier is released.
    fn fire_faults(&mut self, epoch: u64) {
        if let Some((_, size, Placement::OutOfPlace, 0)) = self.position(epoch) {
            let nodes = &self.nodes;
            let pid_of = |rank: usize| nodes.get(rank).and_then(|n| n.pid);
            for line in self.faults.size_started(size, &pid_of) {
                if let Some(pr) = &self.progress {
                    pr.println(&format!("# {line}"));
                }
            }
        }
    }
}
