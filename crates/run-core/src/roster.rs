//! What is known of each rank: the PID it was started with, and what it said when it
//! registered and opened its channels.

use wire::results::RankHost;

use crate::channels::RankCpus;

/// A registered rank.
#[derive(Debug, Clone)]
pub struct Member {
    pub host: String,
    pub pid: u32,
    /// The control endpoint's address, then channel 0's once the channels are open.
    pub data_addr: String,
    pub data_addrs: Vec<String>,
    pub cpus: RankCpus,
    pub facts: wire::control::HostFacts,
}

#[derive(Debug, Clone)]
pub struct Roster {
    launched_pids: Vec<Option<u32>>,
    members: Vec<Option<Member>>,
}

impl Roster {
    pub fn new(nranks: usize, launched_pids: &[Option<u32>]) -> Roster {
        Roster {
            launched_pids: (0..nranks)
                .map(|r| launched_pids.get(r).copied().flatten())
                .collect(),
            members: vec![None; nranks],
        }
    }

    pub fn get(&self, rank: usize) -> Option<&Member> {
        self.members.get(rank)?.as_ref()
    }

    pub fn get_mut(&mut self, rank: usize) -> Option<&mut Member> {
        self.members.get_mut(rank)?.as_mut()
    }

    /// Takes `rank`'s registration; false when the rank is already taken (or out of range).
    pub fn join(&mut self, rank: usize, member: Member) -> bool {
        match self.members.get_mut(rank) {
            Some(slot @ None) => {
                *slot = Some(member);
                true
            }
            _ => false,
        }
    }

    /// The ranks not registered yet.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&r| self.members[r].is_none())
            .collect()
    }

    /// "host H, pid P" once registered; "pid P" of a process started here; "not registered".
    pub fn describe(&self, rank: usize) -> String {
        match (
            self.get(rank),
            self.launched_pids.get(rank).copied().flatten(),
        ) {
            (Some(m), _) => format!("host {}, pid {}", m.host, m.pid),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => "not registered".into(),
        }
    }

    pub fn host_name(&self, rank: usize) -> Option<String> {
        self.get(rank).map(|m| m.host.clone())
    }

    /// Every registered rank's CPUs, in rank order.
    pub fn cpus(&self) -> Vec<RankCpus> {
        self.members
            .iter()
            .flatten()
            .map(|m| m.cpus.clone())
            .collect()
    }

    /// Where each rank ran, for the results file.
    pub fn hosts(&self, cores: &[f64], bound: &[Vec<u32>]) -> Vec<RankHost> {
        self.members
            .iter()
            .enumerate()
            .filter_map(|(rank, m)| {
                m.as_ref().map(|m| RankHost {
                    rank,
                    host: m.host.clone(),
                    pid: m.pid,
                    data_addr: m.data_addr.clone(),
                    data_addrs: m.data_addrs.clone(),
                    cpus: Some(wire::cpus::format(&m.cpus.cpus)),
                    cores: cores.get(rank).copied(),
                    bound_cpus: bound
                        .get(rank)
                        .filter(|b| !b.is_empty())
                        .map(|b| wire::cpus::format(&b.iter().copied().collect())),
                    cpu_model: m.facts.cpu_model.clone(),
                    kernel: m.facts.kernel.clone(),
                    interface: m.facts.interface.clone(),
                    link_speed_mbps: m.facts.link_speed_mbps,
                })
            })
            .collect()
    }
}
