//! All-reduce algorithms as data.
//!
//! A [`Schedule`] says, for every rank and step, which element ranges go to which peer and what
//! happens to the ranges that arrive (reduced into the buffer or copied over it). Nothing here
//! does I/O: the same schedule is run by the in-memory [`executor`] in tests and by bench-node
//! over QUIC. Each algorithm's analytic cost form lives next to its schedule builder, and
//! [`timing_model`] replays a schedule in virtual time so tests can hold the two against each
//! other.

pub mod algorithm;
pub mod cost;
pub mod datatype;
pub mod executor;
pub mod partition;
pub mod pattern;
pub mod reduce;
pub mod ring;
pub mod schedule;
pub mod timing_model;

pub use algorithm::{Algorithm, AlgorithmError, BuildOptions};
pub use cost::CostTerms;
pub use datatype::{DataType, ReduceOp};
pub use schedule::{Recv, RecvAction, Schedule, ScheduleError, Send, Step};
