//! The sweep and the ping-pong: barriers (the last rank to arrive releases one), reports (a row
//! once every rank reported both placements of a size), the ping-pong's rows, and the moment each
//! size starts (for the `--fault` hooks).

use std::time::Instant;

use topologies::pingpong::{PING, PONG};
use topologies::Series;
use wire::control::{FromCoordinator, PingPongReport, Placement, Report};
use wire::results::{PingPongRow, ResultRow};
use wire::FromNode;

use crate::aggregate::{measure, pingpong_row, Timing};
use crate::io::Command;
use crate::run::{Phase, Run};
use crate::run_failure::RunFailure;

impl Run {
    /// A message in the barrier phases.
    pub(crate) fn sweep_message(
        &mut self,
        rank: usize,
        msg: FromNode,
        now: Instant,
    ) -> Result<(), RunFailure> {
        match (msg, &self.phase) {
            (FromNode::Arrive { epoch }, _) => {
                self.arrive(rank, epoch, now);
                Ok(())
            }
            (FromNode::Ready {}, _) => Ok(()),
            (FromNode::Report(r), Phase::Sweeping) => self.report(rank, r, now),
            (FromNode::PingPong(r), Phase::PingPong { .. }) => self.pingpong(rank, &r, now),
            (other, Phase::PingPong { .. }) => {
                Err(self.blame(rank, &format!("sent {other:?} during the ping-pong")))
            }
            (other, _) => Err(self.blame(rank, &format!("sent {other:?} during the sweep"))),
        }
    }

    /// `rank` reached barrier `epoch`; the last rank to reach it releases it. (Ranks that are
    /// done with the sweep may arrive at the ping-pong's first barrier before the sweep's last
    /// row is complete: the arrivals are kept across phases.)
    fn arrive(&mut self, rank: usize, epoch: u64, now: Instant) {
        self.liveness.arrived(rank, epoch, now);
        self.epoch = self.epoch.max(epoch);
        let set = self.arrivals.entry(epoch).or_default();
        set.insert(rank);
        if set.len() < self.spec.nranks {
            return;
        }
        self.arrivals.remove(&epoch);
        self.out
            .push(Command::Broadcast(FromCoordinator::Release { epoch }));
        if let Some(size) = self.epochs.size_at(epoch) {
            self.liveness.released(size, now);
        }
        if let Some((_, size, Placement::OutOfPlace, 0)) = self.epochs.position(epoch) {
            self.out.push(Command::SizeStarted { size });
        }
    }

    fn report(&mut self, rank: usize, r: Report, now: Instant) -> Result<(), RunFailure> {
        self.liveness.progress(now);
        let series = r.series;
        if !self.spec.series.contains(&series) || !self.spec.sizes.contains(&r.size) {
            return Err(self.blame(
                rank,
                &format!(
                    "reported {series} {} bytes, which is not in the plan",
                    r.size
                ),
            ));
        }
        let key = (series, r.size, r.placement);
        let p = self.spec.nranks;
        let slot = self.reports.entry(key).or_insert_with(|| vec![None; p]);
        slot[rank] = Some(r);
        let (series, size) = (key.0, key.1);
        let complete = |pl: Placement| {
            self.reports
                .get(&(series, size, pl))
                .is_some_and(|v| v.iter().all(Option::is_some))
        };
        if !(complete(Placement::OutOfPlace) && complete(Placement::InPlace)) {
            return Ok(());
        }
        let row = self.row(series, size)?;
        self.rows_done += 1;
        self.out.push(Command::Row(Box::new(row)));
        if self.rows_done == self.spec.rows() {
            self.out.push(Command::SweepDone);
            if self.spec.pingpong {
                self.phase = Phase::PingPong { done: 0 };
            } else {
                self.finish();
            }
        }
        Ok(())
    }

    /// The row of one case and size from every rank's reports of both placements. Its size and
    /// count are what moved: whole elements, and for the blocked collectives whole blocks
    /// (nccl-tests' rounding).
    fn row(&mut self, series: Series, size: u64) -> Result<ResultRow, RunFailure> {
        let algo = series.case;
        let iters = self.spec.iters as usize;
        let (p, esize) = (self.spec.nranks, series.dtype.size());
        let count = algo.collective.count_for(size, esize, p);
        let bytes = count * esize as u64;
        let bus_factor = algo.collective.bus_factor(p);
        let mut channels = None;
        let own_link_bps = self
            .spec
            .link_rate_bps
            .filter(|_| self.spec.own_links || one_rank_per_machine(&self.machines));
        let mut take = |reports: &mut std::collections::HashMap<_, Vec<Option<Report>>>,
                        pl: Placement|
         -> Result<_, RunFailure> {
            let list: Vec<Report> = reports
                .remove(&(series, size, pl))
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            channels = list.iter().map(|r| r.channels).max();
            let timing = Timing {
                iters,
                bytes,
                bus_factor,
                average: self.spec.average,
                own_link_bps,
            };
            measure(&list, &timing, &self.cores, &self.machines).map_err(|e| RunFailure {
                message: e.to_string(),
                case: Some(algo),
                size: Some(size),
                ..Default::default()
            })
        };
        let out_of_place = take(&mut self.reports, Placement::OutOfPlace)?;
        let in_place = take(&mut self.reports, Placement::InPlace)?;
        let link = self.spec.link_rate_bps;
        let root = if algo.collective.rooted() {
            self.spec.root as i64
        } else {
            -1
        };
        Ok(ResultRow {
            collective: algo.collective,
            algorithm: algo.algorithm,
            nranks: p,
            size: bytes,
            count,
            dtype: series.dtype,
            redop: series.op,
            root,
            channels,
            link_efficiency: link.map(|bps| out_of_place.bus_bw * 8e9 / bps),
            out_of_place,
            in_place,
            link_rate_bps: link,
            uplink_rate_bps: self.spec.uplink_rate_bps,
        })
    }

    fn pingpong(
        &mut self,
        rank: usize,
        r: &PingPongReport,
        now: Instant,
    ) -> Result<(), RunFailure> {
        self.liveness.progress(now);
        let Phase::PingPong { done } = self.phase else {
            return Ok(());
        };
        let want = self.spec.sizes.get(done).copied().unwrap_or(0);
        let row = self.pingpong_row(rank, r, want)?;
        self.out.push(Command::PingPongRow(row));
        if done + 1 == self.spec.sizes.len() {
            self.finish();
        } else {
            self.phase = Phase::PingPong { done: done + 1 };
        }
        Ok(())
    }

    /// The row of the report `rank` sent when size `want` was next.
    fn pingpong_row(
        &self,
        rank: usize,
        r: &PingPongReport,
        want: u64,
    ) -> Result<PingPongRow, RunFailure> {
        if rank != PING || r.size != want {
            return Err(self.blame(
                rank,
                &format!(
                    "reported a ping-pong of {} bytes; rank {PING} was to report {want} bytes",
                    r.size
                ),
            ));
        }
        let host = |rank: usize| self.roster.host_name(rank).unwrap_or_default();
        pingpong_row(
            r,
            self.spec.iters as usize,
            [PING, PONG],
            [host(PING), host(PONG)],
        )
        .map_err(|e| RunFailure {
            message: e.to_string(),
            rank: Some(rank),
            size: Some(r.size),
            ..Default::default()
        })
    }
}

/// Whether no two ranks ran on one machine (`machines[rank]`: its machine), so that each sent
/// over its machine's link alone.
fn one_rank_per_machine(machines: &[usize]) -> bool {
    let distinct: std::collections::BTreeSet<_> = machines.iter().collect();
    !machines.is_empty() && distinct.len() == machines.len()
}

#[cfg(test)]
mod tests {
    use super::one_rank_per_machine;

    #[test]
    fn ranks_have_a_machine_each_only_where_no_two_share_one() {
        assert!(one_rank_per_machine(&[0, 1, 2]));
        assert!(one_rank_per_machine(&[2, 0]));
        assert!(!one_rank_per_machine(&[0, 1, 0]));
        // Machines not known: nothing is claimed.
        assert!(!one_rank_per_machine(&[]));
    }
}
