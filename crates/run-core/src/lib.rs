//! run-core: one collbench run as a pure state machine, in the manner of quinn-proto.
//!
//! [`Run`] takes [`Input`]s (a rank registered, a node's message, a process exited, a timer
//! tick), each with the time it happened, and returns [`Command`]s (send, broadcast, kill, a row
//! to write, the run's end). It owns the plan, the barriers, the reports and their aggregation
//! ([`aggregate`], [`cpu_use`]), the channel count ([`channels`]) and polling ([`polling`]),
//! liveness ([`liveness`]) and blame ([`failure`]). It has no tokio, no sockets, no files and
//! no clock: the coordinator is the driver, and the fault tests replay runs in virtual time.

pub mod aggregate;
pub mod binding;
pub mod channels;
pub mod cpu_use;
pub mod epochs;
pub mod failure;
pub mod io;
pub mod liveness;
pub mod lost;
pub mod polling;
mod registration;
pub mod roster;
pub mod run;
pub mod run_failure;
pub mod spec;
mod sweep;

pub use io::{Command, Input, Registration};
pub use run::{Phase, Run};
pub use run_failure::RunFailure;
pub use spec::RunSpec;
