//! nccl-tests command lines, as people run them, given to `collbench run` unchanged: each either
//! runs (checked with --dry-run: every flag validated, nothing started) or is refused with exit
//! status 2 and a message naming the flag and the reason. A few run for real, small.
//!
//! Sources: nccl-tests' README (its examples and its list of arguments) and command lines from
//! public scripts and issues that run all_reduce_perf (health checks, CI jobs, benchmarks).

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

/// (the all_reduce_perf arguments, None if collbench runs them, or the flag it refuses)
const LINES: [(&str, Option<&str>); 23] = [
    // nccl-tests README: a single node with 8 GPUs.
    ("-b 8 -e 256M -f 2 -g 8", Some("-g/--ngpus")),
    // nccl-tests README: mpirun -np 64 -N 8 ./build/all_reduce_perf ... (one GPU per process).
    ("-b 8 -e 8G -f 2 -g 1", None),
    // A container health check.
    ("-b 8 -e 128M -f 2 -g 8", Some("-g/--ngpus")),
    // A cluster benchmark script, one GPU per task.
    ("-t 1 -g 1 -b 2M -e 32M -d float -o sum", None),
    // A CI job's bandwidth gate, 8 MiB only.
    ("-b 8M -e 8M -f 2 -g 1", None),
    ("-b 8M -e 8M -f 2 -g 2", Some("-g/--ngpus")),
    // A node health check: one size, checked.
    ("-b 1G -f 2 -g 1 -e 1G -c 1", None),
    // nccl-tests' argument list: a fixed increment between sizes.
    ("-b 1M -e 64M -i 1M", None),
    // Every data type or operator at once: a table each, as nccl-tests.
    ("-b 8 -e 128M -f 2 -d all", None),
    ("-b 8 -e 128M -f 2 -o all", None),
    // A size that is not a whole number of the largest type's elements.
    ("-b 4 -e 128M -f 2 -d all", Some("-b/--minbytes")),
    ("-b 8 -e 128M -f 2 -o prod", None),
    // More iterations for small messages.
    ("-b 8 -e 1M -f 2 -n 100 -w 10", None),
    // Averaging over ranks, cycles, aggregated iterations.
    ("-b 8 -e 128M -f 2 -a 1", None),
    ("-b 1M -e 1M -N 5", None),
    ("-b 8 -e 8K -f 2 -m 10", None),
    // Blocking collectives with a barrier after each iteration.
    ("-b 8 -e 128M -f 2 -z 1", Some("-z/--blocking")),
    // CUDA graphs, buffer registration, the memory report: GPU features.
    ("-b 8 -e 128M -f 2 -G 10", Some("-G/--cudagraph")),
    ("-b 8 -e 128M -f 2 -R 1", Some("-R/--local_register")),
    ("-b 8 -e 128M -f 2 -M 1", Some("-M/--memory")),
    // Per-iteration timing, a timeout, parallel init, CPU time.
    ("-b 8 -e 1M -f 2 -I 1", None),
    ("-b 8 -e 128M -f 2 -g 1 -T 60 -p 1 -C 1", None),
    // JSON output, as nccl-tests writes it.
    ("-b 8 -e 128M -f 2 -J results.json", None),
];

#[test]
fn nccl_tests_command_lines_run_or_are_refused_with_the_reason() {
    for (line, refused) in LINES {
        let out = collbench()
            .arg("run")
            .args(line.split_whitespace())
            .arg("--dry-run")
            .output()
            .unwrap();
        let err = stderr(&out);
        match refused {
            None => {
                assert_eq!(out.status.code(), Some(0), "'{line}' should run: {err}");
                assert!(stdout(&out).contains("nothing was started"), "{line}");
            }
            Some(flag) => {
                assert_eq!(
                    out.status.code(),
                    Some(2),
                    "'{line}' should be refused: {err}"
                );
                assert!(
                    err.starts_with(&format!("collbench: error: {flag}")),
                    "'{line}' should name {flag}: {err}"
                );
                assert!(err.len() > flag.len() + 40, "'{line}': a reason: {err}");
            }
        }
    }
}

#[test]
fn cycles_aggregation_averaging_steps_and_per_iteration_columns_run() {
    let dir = tempdir("nccl-flags");
    let out = collbench()
        .args([
            "run", "--np", "2", "-b", "1K", "-e", "3K", "-i", "1K", "-n", "2", "-w", "1",
        ])
        .args([
            "-N", "2", "-m", "3", "-a", "1", "-I", "1", "-g", "1", "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("note: -g 1"), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("step: 1024(bytes)") && text.contains("agg iters: 3"),
        "{text}"
    );
    assert_eq!(
        text.matches("# Algorithm: ring").count(),
        2,
        "a table per cycle:\n{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len(), 6, "3 sizes x 2 cycles:\n{text}");
    for r in &rows {
        assert_eq!(
            r.split_whitespace().count(),
            21,
            "per-iteration columns: {r}"
        );
    }
    let v = results(&dir);
    let c = &v["config"];
    assert_eq!(
        (
            &c["run_cycles"],
            &c["agg_iters"],
            &c["average"],
            &c["stepbytes"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(3),
            &serde_json::json!("mean"),
            &serde_json::json!(1024)
        )
    );
    let sizes: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1024, 2048, 3072, 1024, 2048, 3072]);
}
