//! The run's start: every rank registers (a second claim on a rank is refused), the coordinator
//! decides the channel count from the cores each rank was given, every rank opens its channels
//! and says where, and the plan goes out with every rank's addresses.

use std::collections::BTreeSet;
use std::time::Instant;

use wire::control::{Corrupt, FromCoordinator, PeerInfo, Plan};
use wire::FromNode;

use crate::binding::bindings;
use crate::channels::{channels, cores_given, machine_of, RankCpus};
use crate::io::{Command, Registration};
use crate::roster::Member;
use crate::run::{Phase, Run};
use crate::run_failure::RunFailure;

impl Run {
    pub(crate) fn registered(&mut self, reg: Registration, now: Instant) -> Result<(), RunFailure> {
        let rank = reg.rank;
        if !matches!(self.phase, Phase::Registering { .. })
            || !self.roster.join(
                rank,
                Member {
                    host: reg.host,
                    pid: reg.pid,
                    data_addr: reg.data_addr,
                    data_addrs: Vec::new(),
                    cpus: RankCpus {
                        machine: reg.machine,
                        cpus: reg.cpus,
                        quota: reg.cpu_quota,
                    },
                    facts: reg.facts,
                },
            )
        {
            self.out.push(Command::Refuse { rank });
            return Ok(());
        }
        self.liveness.heard(rank, now);
        if self.roster.missing().is_empty() {
            self.cores = cores_given(&self.roster.cpus());
            self.machines = machine_of(&self.roster.cpus());
            let count = channels(self.spec.channels, &self.cores);
            self.channels = count;
            self.bound_cpus = if self.spec.cpu_bind {
                bindings(&self.roster.cpus())
            } else {
                vec![Vec::new(); self.spec.nranks]
            };
            for (rank, cpus) in self.bound_cpus.iter().enumerate() {
                let msg = FromCoordinator::OpenChannels {
                    count,
                    cpus: cpus.clone(),
                };
                self.out.push(Command::Send { rank, msg });
            }
            self.phase = Phase::Opening {
                since: now,
                count,
                open: BTreeSet::new(),
            };
        }
        Ok(())
    }

    /// A message while the ranks open their channels: only their addresses are expected.
    pub(crate) fn channels_message(
        &mut self,
        rank: usize,
        msg: FromNode,
        _now: Instant,
    ) -> Result<(), RunFailure> {
        let FromNode::Channels { addrs } = msg else {
            return Err(self.blame(rank, &format!("sent {msg:?} before the plan")));
        };
        let Phase::Opening { count, open, .. } = &mut self.phase else {
            return Ok(());
        };
        let count = *count;
        if addrs.len() != count as usize {
            return Err(self.blame(
                rank,
                &format!("opened {} channels, it was asked for {count}", addrs.len()),
            ));
        }
        open.insert(rank);
        let all = open.len() == self.spec.nranks;
        if let Some(m) = self.roster.get_mut(rank) {
            m.data_addr = addrs[0].clone();
            m.data_addrs = addrs;
        }
        if all {
            let poll_us = self.spec.poll_us.poll_us(&self.cores);
            self.out.push(Command::Started {
                hosts: self.roster.hosts(&self.cores, &self.bound_cpus),
                channels: count,
                cores: self.cores.clone(),
                poll_us,
            });
            let plan = self.plan(count, poll_us);
            self.out
                .push(Command::Broadcast(FromCoordinator::Plan(plan)));
            self.phase = Phase::Sweeping;
        }
        Ok(())
    }

    fn plan(&self, channels: u32, poll_us: u32) -> Plan {
        let s = &self.spec;
        Plan {
            run_id: s.run_id.clone(),
            nranks: s.nranks as u32,
            peers: (0..s.nranks)
                .map(|rank| PeerInfo {
                    rank: rank as u32,
                    data_addrs: self
                        .roster
                        .get(rank)
                        .map(|m| m.data_addrs.clone())
                        .unwrap_or_default(),
                    cert_der_b64: s.certs_b64.get(rank).cloned().unwrap_or_default(),
                })
                .collect(),
            series: s.series.clone(),
            root: s.root as u32,
            sizes: s.sizes.clone(),
            dtype: s.dtype,
            op: s.op,
            warmup_iters: s.warmup_iters,
            iters: s.iters,
            agg_iters: s.agg_iters,
            check: s.check_iters > 0,
            check_iters: s.check_iters.max(1),
            build: s.build,
            transport: s.transport,
            pingpong: s.pingpong,
            poll_us,
            channels,
            channel_min_bytes: s.channel_min_bytes,
            corrupt: s
                .corrupt
                .iter()
                .map(|&(rank, size)| Corrupt {
                    rank: rank as u32,
                    size,
                })
                .collect(),
            jitter: s.jitter,
        }
    }
}
