//! The ping-pong phase (`collbench run --pingpong`): rank 0 sends each size of the sweep to
//! rank 1 and gets it back, over the data-plane link the all-reduce used, and reports the round
//! trips; the other ranks only meet the barriers.
//!
//! It runs after the all-reduce sweep: the sweep's barriers keep their numbers (the coordinator
//! reads the algorithm, size, placement and iteration from a barrier's number, and `--fault`
//! fires at a size's first all-reduce barrier), and a failure here cannot cost an all-reduce
//! row, which are all on disk by then. Each iteration waits at a barrier of every rank, as the
//! all-reduce's do, so a round trip starts on a quiet link, as an all-reduce does, and the
//! coordinator knows where every rank is. The exchange is [`topologies::pingpong`]'s schedule,
//! run by the same executor; nothing is reduced and there is nothing to check.

use std::sync::Arc;

use topologies::channels::channels_for;
use topologies::pingpong::{self, PING};
use wire::control::{PingPongReport, Plan};
use wire::FromNode;

use crate::channel_set::ChannelSet;
use crate::channel_work::PingPong;
use crate::control::Control;
use crate::NodeError;

/// The ranks rank `me` exchanges with in the ping-pong (none when the plan has no ping-pong).
pub fn pingpong_peers(plan: &Plan, me: usize) -> Vec<usize> {
    if !plan.pingpong {
        return Vec::new();
    }
    pingpong::schedule(plan.nranks as usize, 1).peers_of(me)
}

/// Runs every size of the ping-pong; `epoch` is the last barrier met and goes on from there.
/// A size runs on as many channels as the all-reduce of that size did, each carrying its part.
pub async fn run_pingpong(
    plan: &Plan,
    channels: &ChannelSet,
    control: &mut Control,
    epoch: &mut u64,
    me: usize,
) -> Result<(), NodeError> {
    for &size in &plan.sizes {
        let count = size as usize / plan.dtype.size();
        let used = channels_for(
            count,
            plan.dtype.size(),
            channels.len(),
            usize::try_from(plan.channel_min_bytes).unwrap_or(usize::MAX),
        );
        let mut round_trip_ns = Vec::with_capacity(plan.iters as usize);
        for it in 0..plan.warmup_iters + plan.iters {
            *epoch += 1;
            control.barrier(*epoch).await?;
            let round_trip = channels
                .pingpong(&Arc::new(PingPong {
                    nranks: plan.nranks as usize,
                    count,
                    channels: used,
                    dtype: plan.dtype,
                    op: plan.op,
                    size,
                    iteration: it,
                }))
                .await?;
            if it >= plan.warmup_iters {
                round_trip_ns.push(u64::try_from(round_trip.as_nanos()).unwrap_or(u64::MAX));
            }
        }
        if me == PING {
            control.send(FromNode::PingPong(PingPongReport {
                size,
                round_trip_ns,
            }))?;
        }
    }
    Ok(())
}
