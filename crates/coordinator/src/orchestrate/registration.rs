//! Registration: every rank connects back, proves who it is (checked by the control server) and
//! is given its slot; a second claim on a rank is refused.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tracing::warn;
use wire::{FromCoordinator, FromNode};

use super::failure::RunFailure;
use super::wait::Deadline;
use super::{Orchestrator, Slot};
use crate::channels::RankCpus;
use crate::events::{Event, Registered};

impl Orchestrator {
    fn missing(&self, have: &BTreeSet<usize>) -> Vec<usize> {
        (0..self.nranks).filter(|r| !have.contains(r)).collect()
    }

    pub(super) async fn register(&mut self) -> Result<(), RunFailure> {
        let mut registered = BTreeSet::new();
        while registered.len() < self.nranks {
            let unregistered =
                |o: &Self, limit: Duration| o.unregistered(&o.missing(&registered), limit);
            let ev = self
                .next_event(Deadline::Fixed(
                    self.opts.cluster.setup_timeout,
                    &unregistered,
                ))
                .await?;
            match self.common(ev)? {
                Some(Event::Registered(reg)) => {
                    let Registered {
                        rank,
                        host,
                        pid,
                        data_addr,
                        cpus,
                        machine,
                        cpu_quota,
                        conn,
                        send,
                    } = *reg;
                    if registered.contains(&rank) {
                        warn!(
                            rank,
                            "refused a second registration for a rank already taken"
                        );
                        conn.close(0x52u32.into(), b"rank already taken");
                        continue;
                    }
                    registered.insert(rank);
                    self.liveness.heard(rank, Instant::now());
                    let cpus = RankCpus {
                        machine,
                        cpus,
                        quota: cpu_quota,
                    };
                    self.slots[rank] = Some(Slot::new(host, pid, data_addr, cpus, conn, send));
                }
                Some(Event::Node { rank, msg }) => {
                    return Err(self.blame(rank, &format!("sent {msg:?} before the plan")))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Asks every rank to open `count` channels and waits until each has said where they are.
    pub(super) async fn open_channels(&mut self, count: u32) -> Result<(), RunFailure> {
        self.broadcast(&FromCoordinator::OpenChannels { count })?;
        let mut open = BTreeSet::new();
        while open.len() < self.nranks {
            let waiting = |o: &Self, limit: Duration| o.channels_not_open(&o.missing(&open), limit);
            let ev = self
                .next_event(Deadline::Fixed(self.opts.cluster.setup_timeout, &waiting))
                .await?;
            match self.common(ev)? {
                Some(Event::Node {
                    rank,
                    msg: FromNode::Channels { addrs },
                }) => {
                    if addrs.len() != count as usize {
                        return Err(self.blame(
                            rank,
                            &format!("opened {} channels, it was asked for {count}", addrs.len()),
                        ));
                    }
                    if let Some(slot) = self.slots[rank].as_mut() {
                        slot.data_addr = addrs[0].clone();
                        slot.data_addrs = addrs;
                    }
                    open.insert(rank);
                }
                Some(Event::Node { rank, msg }) => {
                    return Err(self.blame(rank, &format!("sent {msg:?} before the plan")))
                }
                _ => {}
            }
        }
        Ok(())
    }
}
