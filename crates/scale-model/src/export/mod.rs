//! Numbers in the forms planning tools read: ASTRA-sim's analytical network config, SimAI's
//! busbw table, and a plain JSON profile.

pub mod astra;
pub mod profile;
pub mod simai;

pub use astra::{astra_network, AstraNetwork};
pub use profile::Profile;
pub use simai::{simai_busbw, SimaiBusbw};
