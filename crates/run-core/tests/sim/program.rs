//! What a simulated node does once it has the plan.

use std::rc::Rc;

use topologies::pingpong::{self, PING};
use wire::control::{Placement, Plan};

use super::node::Action;

/// A node's plan, action by action, in the order bench-node follows it: per algorithm, size and
/// placement a barrier, the warm-up and timed iterations, a barrier, the checked iteration, the
/// report; then per ping-pong size and iteration a barrier and the round trip.
pub fn program(plan: &Plan, rank: usize) -> Vec<Action> {
    let p = plan.nranks as usize;
    let elem = plan.dtype.size();
    let mut actions = Vec::new();
    let mut epoch = 0;
    for algorithm in plan.cases.iter().map(|c| c.algorithm) {
        for &size in &plan.sizes {
            let schedule = Rc::new(
                algorithm
                    .build(p, size as usize / elem, elem, &plan.build)
                    .expect("the case's algorithms build"),
            );
            for placement in Placement::BOTH {
                epoch += 1;
                actions.push(Action::Arrive(epoch));
                actions.push(Action::Iterate {
                    schedule: schedule.clone(),
                    times: plan.warmup_iters + plan.iters,
                    timed_from: plan.warmup_iters,
                });
                epoch += 1;
                actions.push(Action::Arrive(epoch));
                actions.push(Action::Iterate {
                    schedule: schedule.clone(),
                    times: 1,
                    timed_from: 1,
                });
                actions.push(Action::Report {
                    algorithm,
                    size,
                    placement,
                });
            }
        }
    }
    if plan.pingpong {
        for &size in &plan.sizes {
            let schedule = Rc::new(pingpong::schedule(p, size as usize / elem));
            for it in 0..plan.warmup_iters + plan.iters {
                epoch += 1;
                actions.push(Action::Arrive(epoch));
                actions.push(Action::Iterate {
                    schedule: schedule.clone(),
                    times: 1,
                    timed_from: u32::from(it < plan.warmup_iters),
                });
            }
            if rank == PING {
                actions.push(Action::PingPong { size });
            }
        }
    }
    actions
}
