//! The network executor: runs one rank's program of a schedule over the data-plane links.
//!
//! It follows the step semantics documented on `topologies::Step`: a step's sends are taken from
//! the buffer as it was when the step began and queued (never blocking), then its receives are
//! applied in order, each reduced or copied chunk by chunk as its bytes arrive, while the queued
//! sends are written out meanwhile. What is still queued when the program ends is written by
//! [`Links::flush`](crate::datalink::Links::flush). The same loop runs every algorithm.
//!
//! A send copies only what may change before QUIC has sent it. Out of place, the loop reads the
//! input where the iteration has not written the buffer yet ([`OutOfPlace`]) instead of copying
//! the input into the buffer first, and sends those parts of the input as they are (it never
//! changes). A range that the step before copied in unchanged and that this step sends on (a
//! ring's all-gather, a tree's broadcast) goes out as the bytes that arrived ([`Forwarding`]).

use std::ops::Range;

use bytes::Bytes;
use topologies::{DataType, RecvAction, ReduceOp, Step};

use crate::apply::Applier;
use crate::datalink::{Links, Part};
use crate::link_error::LinkError;
use crate::unwritten::Unwritten;

/// An out-of-place iteration's input, and the elements of the buffer it has not written yet
/// (which stand for the input until it does).
pub struct OutOfPlace<'a> {
    input: &'a Bytes,
    unwritten: Unwritten,
    esize: usize,
}

impl<'a> OutOfPlace<'a> {
    /// An iteration that has written nothing yet, over `input` (the whole buffer's worth).
    pub fn new(input: &'a Bytes, dtype: DataType) -> Self {
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

/// The messages the last step copied into the buffer, as they arrived, by element range: what
/// the buffer holds there until a receive writes over it.
#[derive(Default)]
pub struct Forwarding {
    received: Vec<(Range<usize>, Vec<Bytes>)>,
}

impl Forwarding {
    /// The bytes that arrived for exactly `range`, if the buffer still holds them there.
    fn take(&self, range: &Range<usize>) -> Option<&[Bytes]> {
        self.received
            .iter()
            .rev()
            .find(|(r, _)| r == range)
            .map(|(_, b)| b.as_slice())
    }
}

/// Drops what was kept for any range that `range` overlaps: the buffer no longer holds it.
fn overwritten(kept: &mut Vec<(Range<usize>, Vec<Bytes>)>, range: &Range<usize>) {
    kept.retain(|(r, _)| r.end <= range.start || range.end <= r.start);
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
    pub error: LinkError,
}

/// Runs `program` over `buf`; out of place, `source` says where the input still stands in for it.
/// `forwarding` carries what a step received to the next; a fresh one for each iteration.
pub async fn run_program(
    program: &[Step],
    buf: &mut [u8],
    mut source: Option<&mut OutOfPlace<'_>>,
    forwarding: &mut Forwarding,
    links: &mut Links,
    dtype: DataType,
    op: ReduceOp,
) -> Result<(), StepFailure> {
    let esize = dtype.size();
    for (step, s) in program.iter().enumerate() {
        for send in &s.sends {
            send_one(links, send, buf, source.as_deref(), forwarding, esize).map_err(|error| {
                StepFailure {
                    step,
                    peer: send.peer,
                    waiting: false,
                    error,
                }
            })?;
        }
        let mut received = Vec::new();
        for recv in &s.recvs {
            overwritten(&mut received, &recv.range);
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
            let mut kept = Vec::new();
            let keep = (recv.action == RecvAction::Copy).then_some(&mut kept);
            links
                .recv_into(recv.peer, dst, applier, keep)
                .await
                .map_err(|error| StepFailure {
                    step,
                    peer: recv.peer,
                    waiting: true,
                    error,
                })?;
            if recv.action == RecvAction::Copy {
                received.push((recv.range.clone(), kept));
            }
            if let Some(src) = source.as_deref_mut() {
                src.unwritten.mark_written(recv.range.clone());
            }
        }
        // What this step copied in is what the next may forward; older messages are let go
        // (keeping them would hold a second copy of the buffer).
        forwarding.received = received;
    }
    Ok(())
}

/// Queues the message `send` makes: what the step before copied in unchanged, as it arrived;
/// out of place, the input where the iteration has not written yet and the buffer elsewhere;
/// in place, the buffer (one slice: no list of parts to allocate).
fn send_one(
    links: &mut Links,
    send: &topologies::Send,
    buf: &[u8],
    source: Option<&OutOfPlace<'_>>,
    forwarding: &Forwarding,
    esize: usize,
) -> Result<(), LinkError> {
    if let Some(arrived) = forwarding.take(&send.range) {
        let parts: Vec<Part<'_>> = arrived.iter().cloned().map(Part::Shared).collect();
        return links.send(send.peer, &parts);
    }
    match source {
        None => links.send(send.peer, &[Part::Copy(&buf[bytes(&send.range, esize)])]),
        Some(src) => {
            let parts: Vec<Part<'_>> = src
                .unwritten
                .split(send.range.clone())
                .into_iter()
                .map(|(r, unwritten)| {
                    let b = bytes(&r, esize);
                    if unwritten {
                        Part::Shared(src.input.slice(b))
                    } else {
                        Part::Copy(&buf[b])
                    }
                })
                .collect();
            links.send(send.peer, &parts)
        }
    }
}
