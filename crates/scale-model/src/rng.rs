//! The deterministic random number generator the model's bootstrap and test data draw from
//! (topologies' SplitMix64, shared with the nodes' jitter).

pub use topologies::rng::SplitMix64;
