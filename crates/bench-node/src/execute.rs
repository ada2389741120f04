//! The network executor: runs one rank's program of a schedule over the data-plane links.
//!
//! It follows the step semantics documented on `topologies::Step`: a step's sends are copied out
//! of the buffer when the step begins and queued (never blocking), then its receives are
//! applied in order, each reduced or copied chunk by chunk as its bytes arrive, while the queued
//! sends are written out meanwhile. What is still queued when the program ends is written by
//! [`Links::flush`](crate::datalink::Links::flush). The same loop runs every algorithm.

use topologies::{DataType, ReduceOp, Step};

use crate::apply::Applier;
use crate::datalink::Links;

/// Where a program stopped: the step and the peer it was dealing with.
#[derive(Debug)]
pub struct StepFailure {
    pub step: usize,
    pub peer: usize,
    pub waiting: bool,
    pub error: String,
}

pub async fn run_program(
    program: &[Step],
    buf: &mut [u8],
    links: &mut Links,
    dtype: DataType,
    op: ReduceOp,
) -> Result<(), StepFailure> {
    let esize = dtype.size();
    for (step, s) in program.iter().enumerate() {
        for send in &s.sends {
            let bytes = &buf[send.range.start * esize..send.range.end * esize];
            links.send(send.peer, bytes).map_err(|error| StepFailure {
                step,
                peer: send.peer,
                waiting: false,
                error,
            })?;
        }
        for recv in &s.recvs {
            let dst = &mut buf[recv.range.start * esize..recv.range.end * esize];
            links
                .recv_into(recv.peer, dst, Applier::new(dtype, op, recv.action))
                .await
                .map_err(|error| StepFailure {
                    step,
                    peer: recv.peer,
                    waiting: true,
                    error,
                })?;
        }
    }
    Ok(())
}
