//! All-reduce algorithms as data.
//!
//! A [`Schedule`] says, for every rank and step, which element ranges go to which peer and what
//! happens to the ranges that arrive (reduced into the buffer or copied over it). Nothing here
//! does I/O: the same schedule is run by the in-memory [`executor`] in tests and by bench-node
//! over QUIC. Each algorithm's analytic cost form lives next to its schedule builder, and
//! [`timing_model`] replays a schedule in virtual time so tests can hold the two against each
//! other.
//!
//! The algorithms ([`Algorithm`]): [`ring`], binomial [`tree`], double binary tree ([`dbtree`]),
//! recursive halving-doubling ([`rhd`]), recursive doubling ([`rd`]), and the two-level
//! [`hier`] and [`torus2d`]. They are written with a few shared pieces: [`builder`] turns
//! sequential per-rank programs into steps, [`embed`] places a schedule built for k ranks on a
//! subset of ranks and a part of the buffer (how [`two_level`] composes phases), [`rounds`]
//! orders messages of concurrent flows, and [`fold`] extends power-of-two algorithms to any p.
//! [`pingpong`] is not an all-reduce: the two-rank exchange that measures one link, written with
//! the same steps.

pub mod algorithm;
pub mod alltoall;
pub mod blocked_hier;
pub mod blocked_rhd;
pub mod blocked_ring;
pub mod bruck;
pub mod builder;
pub mod channels;
pub mod collective;
mod collective_build;
pub mod cost;
pub mod datatype;
pub mod dbtree;
pub mod embed;
pub mod executor;
pub mod factor;
pub mod fold;
pub mod hier;
pub mod layout;
pub mod names;
pub mod noise;
pub mod partition;
pub mod pattern;
pub mod pingpong;
pub mod rail;
pub mod rd;
pub mod reduce;
pub mod rhd;
pub mod ring;
pub mod rng;
pub mod rooted;
pub mod rounds;
pub mod scatter_gather;
pub mod schedule;
pub mod sendrecv;
pub mod timing_model;
pub mod torus2d;
pub mod tree;
pub mod two_level;

pub use algorithm::{Algorithm, AlgorithmError, BuildOptions};
pub use collective::{Case, Collective, CollectiveError, Series};
pub use cost::CostTerms;
pub use datatype::{DataType, ReduceOp};
pub use schedule::{Recv, RecvAction, Schedule, ScheduleError, Send, Step};
