//! The ping-pong phase of `--pingpong`: after the all-reduce sweep, every size once more, rank 0
//! sending to rank 1 and back; its barriers follow the sweep's (see bench-node's `pingpong` for
//! why it comes after). Rank 0 reports each size's round trips; the row is printed and written
//! like an all-reduce row, and a failure is named like one.

use std::time::Instant;

use topologies::pingpong::{PING, PONG};
use wire::control::{PingPongReport, BARRIERS_PER_MEASUREMENT};
use wire::results::PingPongRow;
use wire::FromNode;

use super::failure::RunFailure;
use super::Orchestrator;
use crate::aggregate::pingpong_row;
use crate::output::table;

impl Orchestrator {
    /// Barriers of the all-reduce sweep: every algorithm, size and placement.
    pub(super) fn sweep_epochs(&self) -> u64 {
        (self.opts.algorithms.len() * self.opts.sizes.len() * 2) as u64 * BARRIERS_PER_MEASUREMENT
    }

    /// The size and iteration of barrier `epoch` when it is one of the ping-pong's.
    pub(super) fn pingpong_position(&self, epoch: u64) -> Option<(u64, u64)> {
        if !self.opts.pingpong {
            return None;
        }
        let per = u64::from(self.opts.warmup_iters + self.opts.iters);
        let k = epoch.checked_sub(self.sweep_epochs() + 1)?;
        let size = *self.opts.sizes.get(usize::try_from(k / per).ok()?)?;
        Some((size, k % per))
    }

    pub(super) async fn pingpong(&mut self) -> Result<(), RunFailure> {
        let sizes = self.opts.sizes.clone();
        let mut done = 0;
        while done < sizes.len() {
            let (rank, msg) = self.next_message().await?;
            match msg {
                FromNode::PingPong(r) => {
                    self.liveness.progress(Instant::now());
                    let row = self.pingpong_row(rank, &r, sizes[done])?;
                    done += 1;
                    self.emit_pingpong(row, done == 1)?;
                }
                other => {
                    return Err(self.blame(rank, &format!("sent {other:?} during the ping-pong")))
                }
            }
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
        let host = |rank: usize| {
            self.slots
                .get(rank)
                .and_then(|s| s.as_ref())
                .map(|s| s.host.clone())
                .unwrap_or_default()
        };
        pingpong_row(
            r,
            self.opts.iters as usize,
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

    /// Prints a ping-pong row (after the table's header, for the first) and writes the results.
    fn emit_pingpong(&mut self, row: PingPongRow, first: bool) -> Result<(), RunFailure> {
        let Some(pr) = self.progress.as_mut() else {
            return Ok(());
        };
        if first {
            pr.println(table::pingpong_header(row.ranks).trim_end());
        }
        pr.println(&table::pingpong_row(&row));
        pr.step(&format!(
            "ping-pong {}",
            crate::sizes::format_size(row.size)
        ));
        self.note_refusals();
        self.writer
            .push_pingpong(row)
            .map_err(|e| RunFailure::new(format!("writing results: {e:#}")))
    }
}
