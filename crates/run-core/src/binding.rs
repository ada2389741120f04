//! Which CPUs each rank's channel threads are bound to (`--cpu-bind`): every rank of a machine its
//! own slice of the CPUs the machine's ranks may use, as MPI launchers bind ranks to cores.
//!
//! Unbound, the kernel may wake two ranks' threads on one core and keep them there (a message
//! wakes its receiver on the sender's core): measured on a 2-core machine with two ranks, 10 of
//! 112 rows of 50 iterations ran with both ranks on one core, up to 2.4 times slower; bound, 2.
//!
//! Pure: the ranks' registrations in, CPU lists out.

use crate::channels::{by_machine, RankCpus};

/// The CPUs each rank's channel threads are bound to (channel i to `cpus[i % len]`), or an
/// empty list where it is left to the scheduler.
///
/// The ranks of a machine, in rank order, take consecutive slices of c CPUs of the sorted
/// union of their affinities, c = that union's size over their count (rounded down). A machine
/// whose ranks outnumber its CPUs binds nobody (each rank would get less than a core), and
/// neither does one where a rank's slice holds a CPU outside its own affinity (a workload
/// manager already placed the ranks apart).
pub fn bindings(ranks: &[RankCpus]) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); ranks.len()];
    for (cpus, members) in by_machine(ranks).values() {
        let cpus: Vec<u32> = cpus.iter().copied().collect();
        let per_rank = cpus.len() / members.len().max(1);
        if per_rank == 0 {
            continue;
        }
        let slices: Vec<&[u32]> = cpus.chunks(per_rank).collect();
        let fits = members
            .iter()
            .zip(&slices)
            .all(|(&rank, slice)| slice.iter().all(|c| ranks[rank].cpus.contains(c)));
        if !fits {
            continue;
        }
        for (&rank, slice) in members.iter().zip(slices) {
            out[rank] = slice.to_vec();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn rank(machine: &str, cpus: impl IntoIterator<Item = u32>) -> RankCpus {
        RankCpus {
            machine: machine.into(),
            cpus: cpus.into_iter().collect(),
            quota: None,
        }
    }

    #[test]
    fn ranks_of_a_machine_take_consecutive_slices() {
        let two = [rank("m", 0..2), rank("m", 0..2)];
        assert_eq!(bindings(&two), vec![vec![0], vec![1]]);
        // Four ranks on 16 CPUs: four each; an odd CPU left over stays free.
        let four: Vec<_> = (0..4).map(|_| rank("m", 0..17)).collect();
        let b = bindings(&four);
        assert_eq!(b[0], vec![0, 1, 2, 3]);
        assert_eq!(b[3], vec![12, 13, 14, 15]);
        // Machines apart: each from its own CPUs.
        let apart = [rank("a", [4, 6]), rank("b", 0..1), rank("a", [4, 6])];
        assert_eq!(bindings(&apart), vec![vec![4], vec![0], vec![6]]);
    }

    #[test]
    fn outnumbered_or_already_placed_ranks_are_left_alone() {
        // Four ranks on two CPUs: less than a core each.
        let crowded: Vec<_> = (0..4).map(|_| rank("m", 0..2)).collect();
        assert!(bindings(&crowded).iter().all(Vec::is_empty));
        // A workload manager gave each rank its own CPUs, not in rank order.
        let placed = [rank("m", 4..8), rank("m", 0..4)];
        assert!(bindings(&placed).iter().all(Vec::is_empty));
    }

    proptest! {
        /// No CPU is given to two ranks of a machine, every CPU given is in the rank's own
        /// affinity, and a machine binds all its ranks or none.
        #[test]
        fn slices_are_disjoint_and_allowed(
            ranks in proptest::collection::vec(
                (0usize..3, proptest::collection::btree_set(0u32..12, 1..12)),
                1..10,
            )
        ) {
            let ranks: Vec<RankCpus> = ranks
                .into_iter()
                .map(|(m, cpus)| rank(&format!("m{m}"), cpus))
                .collect();
            let b = bindings(&ranks);
            prop_assert_eq!(b.len(), ranks.len());
            let mut taken: BTreeMap<(&str, u32), usize> = BTreeMap::new();
            for (i, (r, cpus)) in ranks.iter().zip(&b).enumerate() {
                for c in cpus {
                    prop_assert!(r.cpus.contains(c), "rank {} given CPU {} outside its own", i, c);
                    prop_assert!(taken.insert((r.machine.as_str(), *c), i).is_none(), "CPU {} twice", c);
                }
                let mates = ranks.iter().zip(&b).filter(|(o, _)| o.machine == r.machine);
                let bound = mates.clone().filter(|(_, c)| !c.is_empty()).count();
                prop_assert!(bound == 0 || bound == mates.count());
            }
        }
    }
}
