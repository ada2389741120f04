//! Fuzzing the scenario parser (issue 7, item 5): arbitrary text and structure-aware mutations
//! of the shipped `scenarios/*.toml` (byte flips, splices, TOML and number tokens). Asserted: no
//! panic; every error names the file, line and column (and the field where the file is
//! well-formed); no single allocation beyond a bound proportional to the input (a counting
//! global allocator measures it). `scripts/fuzz.sh` runs a million or more inputs with
//! `COLLBENCH_FUZZ_CASES`.

#![allow(clippy::unwrap_used)]

use fuzz_harness::*;
use proptest::prelude::*;
use scale_model::scenario::{Scenario, ScenarioError};

// The shared harness: counting allocator, runner and mutations.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

// ---------------------------------------------------------------------------------------------
// Target.

const SHIPPED: [&str; 5] = [
    include_str!("../../../scenarios/lab.toml"),
    include_str!("../../../scenarios/llama3-24k.toml"),
    include_str!("../../../scenarios/h100-100k.toml"),
    include_str!("../../../scenarios/h200-2k.toml"),
    include_str!("../../../scenarios/h100-16k.toml"),
];

#[test]
fn fuzz_scenario_files() {
    let seeds: Vec<Vec<u8>> = SHIPPED.iter().map(|s| s.as_bytes().to_vec()).collect();
    for s in SHIPPED {
        Scenario::parse(s, "shipped.toml").unwrap();
    }
    fuzz(
        "scenario_files",
        3000,
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            bytes(256),
            mutated(seeds),
        ],
        |b| (64 << 10) + 32 * b.len(),
        |b| {
            let text = String::from_utf8_lossy(b);
            match Scenario::parse(&text, "s.toml") {
                Ok(s) => {
                    if s.cluster.gpus == 0
                        || s.cluster.gpus_per_node == 0
                        || s.cluster.gpus % s.cluster.gpus_per_node != 0
                        || s.network.nic_gbit_per_s.is_nan()
                        || s.network.nic_gbit_per_s <= 0.0
                    {
                        return Err(format!("accepted an inconsistent scenario {s:?}"));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = e.to_string();
                    let named = match &e {
                        ScenarioError::Invalid { field, .. } => !field.is_empty(),
                        ScenarioError::Syntax { message, .. } => !message.is_empty(),
                    };
                    if named && e.line() >= 1 && msg.starts_with("s.toml:") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("unclear error: {msg}"))
                    }
                }
            }
        },
    );
}
