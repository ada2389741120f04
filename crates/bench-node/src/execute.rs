//! The network executor: runs one rank's program of a schedule over the data-plane links.
//!
//! It follows the step semantics documented on `topologies::Step`: a step's sends are copied out
//! of the buffer when the step begins and queued (never blocking), then its receives are
//! applied in order, each reduced or copied chunk by chunk as its bytes arrive, while the queued
//! sends are written out meanwhile. What is still queued when the program ends is written by
//! [`Links::flush`](crate::datalink::Links::flush). The same loop runs every algorithm.
//!
//! Out of place, the loop reads the input where the iteration has not written the buffer yet
//! ([`OutOfPlace`]) instead of copying the input into the buffer first.

use std::ops::Range;

use topologies::{DataType, ReduceOp, Step};

use crate::apply::Applier;
use crate::datalink::Links;
use crate::unwritten::Unwritten;

/// An out-of-place iteration's input, and the elements of the buffer it has not written yet
/// (which stand for the input until it does).
pub struct OutOfPlace<'a> {
    input: &'a [u8],
    unwritten: Unwritten,
    esize: usize,
}

impl<'a> OutOfPlace<'a> {
    /// An iteration that has written nothing yet, over `input` (the whole buffer's worth).
    pub fn new(input: &'a [u8], dtype: DataType) -> Self {
        let esize = dtype.size();
        OutOfPlace {
            input,
            unwritten: Unwritten::all(input.len() / esize),
            esize,
        }
    }

    /// Copies the input into every part of `buf` the program did not write, so that `buf`
    /// holds the whole result.
    pub fn finish(self, buf: &mut [u8]) {
        for r in self.unwritten.ranges() {
            let b = bytes(r, self.esize);
            buf[b.clone()].copy_from_slice(&self.input[b]);
        }
    }
}

fn bytes(elements: &Range<usize>, esize: usize) -> Range<usize> {
    elements.start * esize..elements.end * esize
}

/// Where a program stopped: the step and the peer it was dealing with.
#[derive(Debug)]
pub struct StepFailure {
    pub step: usize,
    pub peer: usize,
    pub waiting: bool,
    pub error: String,
}

/// Runs `program` over `buf`; out of place, `source` says where the input still stands in for it.
pub async fn run_program(
    program: &[Step],
    buf: &mut [u8],
    mut source: Option<&mut OutOfPlace<'_>>,
    links: &mut Links,
    dtype: DataType,
    op: ReduceOp,
) -> Result<(), StepFailure> {
    let esize = dtype.size();
    for (step, s) in program.iter().enumerate() {
        for send in &s.sends {
            // In place (no source) the message is one slice: no list of parts to allocate.
            let sent = match source.as_deref() {
                None => links.send(send.peer, &[&buf[bytes(&send.range, esize)]]),
                Some(src) => {
                    let parts: Vec<&[u8]> = src
                        .unwritten
                        .split(send.range.clone())
                        .into_iter()
                        .map(|(r, unwritten)| {
                            let from = if unwritten { src.input } else { &*buf };
                            &from[bytes(&r, esize)]
                        })
                        .collect();
                    links.send(send.peer, &parts)
                }
            };
            sent.map_err(|error| StepFailure {
                step,
                peer: send.peer,
                waiting: false,
                error,
            })?;
        }
        for recv in &s.recvs {
            let mut applier = Applier::new(dtype, op, recv.action);
            if let Some(src) = source.as_deref() {
                let offset = recv.range.start;
                let unwritten = src
                    .unwritten
                    .within(recv.range.clone())
                    .iter()
                    .map(|r| bytes(&(r.start - offset..r.end - offset), esize))
                    .collect();
                applier = applier.over_input(&src.input[bytes(&recv.range, esize)], unwritten);
            }
            let dst = &mut buf[bytes(&recv.range, esize)];
            links
                .recv_into(recv.peer, dst, applier)
                .await
                .map_err(|error| StepFailure {
                    step,
                    peer: recv.peer,
                    waiting: true,
                    error,
                })?;
            if let Some(src) = source.as_deref_mut() {
                src.unwritten.mark_written(recv.range.clone());
            }
        }
    }
    Ok(())
}
