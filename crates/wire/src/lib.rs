//! What travels between the collbench coordinator and its bench-nodes, and what is written to
//! disk.
//!
//! - [`frame`]: the versioned framing of control-plane messages (pure: bytes in, bytes out).
//! - [`control`]: the messages and their validation.
//! - [`cpus`]: CPU sets in the kernel's list syntax.
//! - [`results`]: the result file types (`results.json`), shared by the writer and by the scale
//!   model's reader.
//! - [`stats`]: per-iteration statistics and bandwidths with nccl-tests' definitions.
//! - [`histogram`]: HDR histograms to and from text.

pub mod control;
pub mod cpus;
pub mod frame;
pub mod histogram;
pub mod results;
pub mod stats;

pub use control::{FromCoordinator, FromNode, Plan, WireError};
