//! Which case (collective and algorithm), size, placement and barrier a barrier's number is: the
//! sweep's barriers come in a fixed order (case, size, placement, then the two barriers of a measurement), and the
//! ping-pong's follow, one per iteration of every size.

use topologies::pingpong::{PING, PONG};
use topologies::Case;
use wire::control::{Placement, BARRIERS_PER_MEASUREMENT};

#[derive(Debug, Clone)]
pub struct Epochs {
    cases: Vec<Case>,
    sizes: Vec<u64>,
    /// Barriers per ping-pong size (warm-up and timed iterations); none without a ping-pong.
    pingpong_per_size: Option<u64>,
}

pub fn placement_name(p: Placement) -> &'static str {
    match p {
        Placement::OutOfPlace => "out-of-place",
        Placement::InPlace => "in-place",
    }
}

impl Epochs {
    pub fn new(cases: &[Case], sizes: &[u64], pingpong_iters: Option<u32>) -> Epochs {
        Epochs {
            cases: cases.to_vec(),
            sizes: sizes.to_vec(),
            pingpong_per_size: pingpong_iters.map(u64::from),
        }
    }

    /// Which case, size, placement and barrier of it (0: before the timed iterations, 1:
    /// before the check) barrier `epoch` is.
    pub fn position(&self, epoch: u64) -> Option<(Case, u64, Placement, u64)> {
        let per = BARRIERS_PER_MEASUREMENT;
        let idx = epoch.checked_sub(1)? / per;
        let barrier = (epoch - 1) % per;
        let placement = Placement::BOTH[(idx % 2) as usize];
        let size_idx = (idx / 2) as usize % self.sizes.len().max(1);
        let algo_idx = (idx / 2) as usize / self.sizes.len().max(1);
        Some((
            *self.cases.get(algo_idx)?,
            *self.sizes.get(size_idx)?,
            placement,
            barrier,
        ))
    }

    /// Barriers of the sweep: every case, size and placement.
    pub fn sweep_epochs(&self) -> u64 {
        (self.cases.len() * self.sizes.len() * 2) as u64 * BARRIERS_PER_MEASUREMENT
    }

    /// The size and iteration of barrier `epoch` when it is one of the ping-pong's.
    pub fn pingpong_position(&self, epoch: u64) -> Option<(u64, u64)> {
        let per = self.pingpong_per_size?.max(1);
        let k = epoch.checked_sub(self.sweep_epochs() + 1)?;
        let size = *self.sizes.get(usize::try_from(k / per).ok()?)?;
        Some((size, k % per))
    }

    /// The size barrier `epoch` is for, in the sweep or the ping-pong.
    pub fn size_at(&self, epoch: u64) -> Option<u64> {
        match self.position(epoch) {
            Some((_, size, _, _)) => Some(size),
            None => self.pingpong_position(epoch).map(|(size, _)| size),
        }
    }

    /// " during ring 16384 bytes out-of-place (timed iterations)", " during the ping-pong (rank 0
    /// <-> 1) 16384 bytes iteration 0", or " before the sweep started".
    pub fn during(&self, epoch: u64) -> String {
        if let Some((a, s, pl, barrier)) = self.position(epoch) {
            let phase = if barrier == 0 {
                "timed iterations"
            } else {
                "check"
            };
            return format!(" during {a} {s} bytes {} ({phase})", placement_name(pl));
        }
        match self.pingpong_position(epoch) {
            Some((s, it)) => {
                format!(" during the ping-pong (rank {PING} <-> {PONG}) {s} bytes iteration {it}")
            }
            None => " before the sweep started".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topologies::Algorithm;

    #[test]
    fn barriers_follow_case_size_placement_then_the_ping_pong() {
        let ring = Case::all_reduce(Algorithm::Ring);
        let tree = Case::all_reduce(Algorithm::Tree);
        let e = Epochs::new(&[ring, tree], &[1024, 4096], Some(3));
        assert_eq!(e.position(0), None);
        assert_eq!(e.position(1), Some((ring, 1024, Placement::OutOfPlace, 0)));
        assert_eq!(e.position(4), Some((ring, 1024, Placement::InPlace, 1)));
        assert_eq!(e.position(5), Some((ring, 4096, Placement::OutOfPlace, 0)));
        assert_eq!(e.position(9), Some((tree, 1024, Placement::OutOfPlace, 0)));
        assert_eq!(e.sweep_epochs(), 16);
        assert_eq!(e.position(17), None);
        assert_eq!(e.pingpong_position(17), Some((1024, 0)));
        assert_eq!(e.pingpong_position(20), Some((4096, 0)));
        assert_eq!(e.pingpong_position(23), None);
        assert!(e
            .during(17)
            .contains("ping-pong (rank 0 <-> 1) 1024 bytes iteration 0"));
        assert_eq!(e.during(0), " before the sweep started");
        let no_pp = Epochs::new(&[ring], &[8], None);
        assert_eq!(no_pp.pingpong_position(5), None);
    }
}
