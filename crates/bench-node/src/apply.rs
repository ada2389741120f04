//! Applying a message to the buffer as its bytes arrive, chunk by chunk.
//!
//! Network chunks can split an element; [`Applier`] keeps the partial element and completes it
//! from the next chunk, so the reduction runs while the rest of the message is still in flight.

use topologies::{reduce::reduce_into, DataType, RecvAction, ReduceOp};

pub struct Applier {
    dtype: DataType,
    op: ReduceOp,
    action: RecvAction,
    /// Bytes of `dst` already written.
    done: usize,
    carry: [u8; 8],
    carry_len: usize,
}

impl Applier {
    pub fn new(dtype: DataType, op: ReduceOp, action: RecvAction) -> Self {
        Applier {
            dtype,
            op,
            action,
            done: 0,
            carry: [0; 8],
            carry_len: 0,
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
            let d = &mut dst[self.done..self.done + esize];
            reduce_into(self.dtype, self.op, d, &self.carry[..esize]);
            self.done += esize;
            self.carry_len = 0;
        }
        let whole = chunk.len() / esize * esize;
        reduce_into(
            self.dtype,
            self.op,
            &mut dst[self.done..self.done + whole],
            &chunk[..whole],
        );
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
            let a = fill(dtype, 1, 50);
            let b = fill(dtype, 2, 50);
            let mut whole = a.clone();
            reduce_into(dtype, ReduceOp::Sum, &mut whole, &b);
            for cut in [1usize, 3, 5, 7, 13, 64, 1000] {
                let mut dst = a.clone();
                let mut ap = Applier::new(dtype, ReduceOp::Sum, RecvAction::Reduce);
                for piece in b.chunks(cut) {
                    ap.apply(&mut dst, piece);
                }
                assert_eq!(dst, whole, "{dtype} cut {cut}");
                let mut copy = a.clone();
                let mut ap = Applier::new(dtype, ReduceOp::Sum, RecvAction::Copy);
                for piece in b.chunks(cut) {
                    ap.apply(&mut copy, piece);
                }
                assert_eq!(copy, b);
            }
        }
    }
}
