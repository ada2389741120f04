//! Helpers for tests that run the real `collbench` binary.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn collbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_collbench"));
    c.env("RUST_LOG", "warn");
    c
}

pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("collbench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub fn schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("schema JSON")
}

/// Reads `dir/results.json`, validates it against the committed schema and returns it.
pub fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json exists");
    let value: serde_json::Value = serde_json::from_str(&text).expect("results.json is JSON");
    let schema = schema();
    let validator = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    if let Err(errors) = validator.validate(&value) {
        let msgs: Vec<String> = errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        panic!("results.json does not match results/schema.json: {msgs:#?}");
    }
    // The typed reader accepts it too.
    serde_json::from_value::<wire::results::ResultsFile>(value.clone()).expect("typed results");
    value
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The PIDs recorded for each rank.
pub fn pids(results: &serde_json::Value) -> Vec<u32> {
    results["config"]["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["pid"].as_u64().expect("pid") as u32)
        .collect()
}

/// True while a process with this PID exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}
