//! Applying a message to the buffer as its bytes arrive, chunk by chunk.
//!
//! Network chunks can split an element; [`Applier`] keeps the partial element and completes it
//! from the next chunk, so the reduction runs while the rest of the message is still in flight.
//!
//! In an out-of-place iteration parts of the destination may not have been written yet: they
//! stand for the input (see [`crate::unwritten`]). A reduction into them computes
//! `input op received` in one pass.

use std::ops::Range;

use topologies::reduce::{reduce_from, reduce_into};
use topologies::{DataType, RecvAction, ReduceOp};

pub struct Applier<'a> {
    dtype: DataType,
    op: ReduceOp,
    action: RecvAction,
    /// Bytes of `dst` already written.
    done: usize,
    carry: [u8; 8],
    carry_len: usize,
    base: Option<Base<'a>>,
}

/// The input under a destination, and the byte ranges of the destination (relative to its
/// start, sorted) that still stand for it.
struct Base<'a> {
    input: &'a [u8],
    unwritten: Vec<Range<usize>>,
    /// The first of `unwritten` that does not end before the bytes applied so far.
    next: usize,
}

impl<'a> Applier<'a> {
    pub fn new(dtype: DataType, op: ReduceOp, action: RecvAction) -> Self {
        Applier {
            dtype,
            op,
            action,
            done: 0,
            carry: [0; 8],
            carry_len: 0,
            base: None,
        }
    }

    /// A reduction over a destination whose byte ranges `unwritten` (sorted, relative to its
    /// start) this iteration has not written: there the result is `input op received`, where
    /// `input` is the input's bytes under the whole destination. A copy overwrites the whole
    /// destination and ignores this.
    pub fn over_input(mut self, input: &'a [u8], unwritten: Vec<Range<usize>>) -> Self {
        if self.action == RecvAction::Reduce && !unwritten.is_empty() {
            self.base = Some(Base {
                input,
                unwritten,
                next: 0,
            });
        }
        self
    }

    /// Reduces `src` into `dst[at..]`; where the destination is unwritten, the result is
    /// `input op src` instead. Calls come in order of `at`.
    fn reduce_at(&mut self, dst: &mut [u8], at: usize, src: &[u8]) {
        let (dtype, op) = (self.dtype, self.op);
        let end = at + src.len();
        let Some(base) = &mut self.base else {
            reduce_into(dtype, op, &mut dst[at..end], src);
            return;
        };
        let mut pos = at;
        while pos < end {
            while base.unwritten.get(base.next).is_some_and(|r| r.end <= pos) {
                base.next += 1;
            }
            let (upto, unwritten) = match base.unwritten.get(base.next) {
                Some(r) if r.start <= pos => (r.end.min(end), true),
                Some(r) => (r.start.min(end), false),
                None => (end, false),
            };
            let (d, s) = (&mut dst[pos..upto], &src[pos - at..upto - at]);
            if unwritten {
                reduce_from(dtype, op, d, &base.input[pos..upto], s);
            } else {
                reduce_into(dtype, op, d, s);
            }
            pos = upto;
        }
    }

    /// Applies `chunk`, the next bytes of the message, to `dst` (the whole destination range).
    /// The caller guarantees the chunks add up to exactly `dst.len()` bytes.
    pub fn apply(&mut self, dst: &mut [u8], mut chunk: &[u8]) {
        if self.action == RecvAction::Copy {
            dst[self.done..self.done + chunk.len()].copy_from_slice(chunk);
            self.done += chunk.len();
            return;
        }
        let esize = self.dtype.size();
        if self.carry_len > 0 {
            let take = (esize - self.carry_len).min(chunk.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&chunk[..take]);
            self.carry_len += take;
            chunk = &chunk[take..];
            if self.carry_len < esize {
                return;
            }
            let carry = self.carry;
            self.reduce_at(dst, self.done, &carry[..esize]);
            self.done += esize;
            self.carry_len = 0;
        }
        let whole = chunk.len() / esize * esize;
        self.reduce_at(dst, self.done, &chunk[..whole]);
        self.done += whole;
        let rest = &chunk[whole..];
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topologies::pattern::fill;

    #[test]
    fn any_chunking_gives_the_same_result_as_one_piece() {
        for dtype in DataType::ALL {
            for op in ReduceOp::ALL {
                let a = fill(dtype, op, 1, 50);
                let b = fill(dtype, op, 2, 50);
                let mut whole = a.clone();
                reduce_into(dtype, op, &mut whole, &b);
                for cut in [1usize, 3, 5, 7, 13, 64, 1000] {
                    let mut dst = a.clone();
                    let mut ap = Applier::new(dtype, op, RecvAction::Reduce);
                    for piece in b.chunks(cut) {
                        ap.apply(&mut dst, piece);
                    }
                    assert_eq!(dst, whole, "{dtype} {op} cut {cut}");
                    let mut copy = a.clone();
                    let mut ap = Applier::new(dtype, op, RecvAction::Copy);
                    for piece in b.chunks(cut) {
                        ap.apply(&mut copy, piece);
                    }
                    assert_eq!(copy, b);
                }
            }
        }
    }

    #[test]
    fn unwritten_parts_reduce_the_input_and_written_parts_the_buffer() {
        for dtype in DataType::ALL {
            for op in ReduceOp::ALL {
                let e = dtype.size();
                let input = fill(dtype, op, 1, 40);
                let received = fill(dtype, op, 2, 40);
                let written = fill(dtype, op, 3, 40);
                // Elements 0..5 and 20..33 unwritten: they hold stale bytes that must not count.
                let unwritten = vec![0..5 * e, 20 * e..33 * e];
                let mut want = written.clone();
                for r in &unwritten {
                    want[r.clone()].copy_from_slice(&input[r.clone()]);
                }
                reduce_into(dtype, op, &mut want, &received);
                for cut in [1usize, 3, 7, 64, 1000] {
                    // Stale bytes (the rank-3 pattern) where nothing was written.
                    let mut dst = written.clone();
                    let mut ap = Applier::new(dtype, op, RecvAction::Reduce)
                        .over_input(&input, unwritten.clone());
                    for piece in received.chunks(cut) {
                        ap.apply(&mut dst, piece);
                    }
                    assert_eq!(dst, want, "{dtype} {op} cut {cut}");
                }
            }
        }
    }
}
