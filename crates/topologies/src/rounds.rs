//! Schedules written as messages tagged with the round in which they may leave.
//!
//! Where an algorithm runs several flows at once (two trees; reduce and broadcast), the
//! per-rank program is not obvious: a rank has to interleave the flows, and two ranks that
//! exchange messages in more than one flow must agree on their order, since the messages between
//! a pair pair up first-in first-out. Tagging every message with a round settles both: in round
//! R each rank posts its round-R sends, then applies its round-R receives, and ties within a
//! round are broken by a key that both ends see. If every message's round is later than the
//! rounds of the messages whose data it carries, the schedule is correct and cannot deadlock:
//! the unapplied message first in (round, key) order was sent (its sender had applied every
//! receive of earlier rounds) and is next for its receiver (which has applied everything before
//! it). Rounds that estimate when a message can leave also make the order efficient; they are
//! not barriers, since a rank waits only for its own receives.

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::schedule::{Rank, RecvAction};

struct Message<K> {
    round: usize,
    key: K,
    from: Rank,
    to: Rank,
    range: Range<usize>,
    action: RecvAction,
}

/// Messages collected in any order and appended to a schedule round by round.
pub struct Rounds<K> {
    messages: Vec<Message<K>>,
}

impl<K: Ord> Default for Rounds<K> {
    fn default() -> Self {
        Rounds {
            messages: Vec::new(),
        }
    }
}

impl<K: Ord> Rounds<K> {
    /// In `round`, `from` sends `range` to `to`, which applies `action`. `key` orders the
    /// messages of a round; it must differ between messages of a round that share a rank.
    pub fn push(
        &mut self,
        round: usize,
        key: K,
        from: Rank,
        to: Rank,
        range: Range<usize>,
        action: RecvAction,
    ) {
        self.messages.push(Message {
            round,
            key,
            from,
            to,
            range,
            action,
        });
    }

    /// Appends every rank's sends and receives to `b`, round by round.
    pub fn append_to(self, b: &mut ScheduleBuilder) {
        let mut messages = self.messages;
        messages.sort_by(|x, y| (x.round, &x.key).cmp(&(y.round, &y.key)));
        for round in messages.chunk_by(|x, y| x.round == y.round) {
            for m in round {
                b.send(m.from, m.to, m.range.clone());
            }
            for m in round {
                b.recv(m.to, m.from, m.range.clone(), m.action);
            }
        }
    }
}
