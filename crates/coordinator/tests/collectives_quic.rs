//! Every collective by every algorithm over QUIC between separate processes, on one channel and
//! on several: exact results in both placements for p = 1..8, nccl-tests' sizes, counts, root
//! and bus factors in the rows, and a spoiled result caught.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

/// 8 to 7,000 bytes by x3: most sizes are not a whole number of blocks, so the blocked
/// collectives round them down (and the smallest to nothing at larger p).
fn run(p: usize, extra: &[&str]) -> (serde_json::Value, String) {
    let dir = tempdir(&format!("colls{p}{}", extra.len()));
    let out = collbench()
        .args(["run", "--np", &p.to_string()])
        .args([
            "--collective",
            "all",
            "--algo",
            "all",
            "-r",
            &(p / 2).to_string(),
        ])
        .args(["-b", "8", "-e", "7K", "-f", "3", "-n", "2", "-w", "1"])
        .args(["--segment", "64", "--out"])
        .arg(&dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "p={p}: {}", stderr(&out));
    (results(&dir), stdout(&out))
}

fn check_rows(p: usize, v: &serde_json::Value) {
    let rows = v["results"].as_array().unwrap();
    // all_reduce 8, all_gather 3, reduce_scatter 3, alltoall 3, broadcast 2, reduce 2,
    // sendrecv 1 algorithms; sizes 8, 24, 72, 216, 648, 1944, 5832.
    assert_eq!(rows.len(), 22 * 7, "p={p}");
    for r in rows {
        let what = format!("p={p} {} {} {}", r["collective"], r["algorithm"], r["size"]);
        assert_eq!(r["nwrong"], 0, "{what}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{what}");
        let c = r["collective"].as_str().unwrap();
        let (size, count) = (r["size"].as_u64().unwrap(), r["count"].as_u64().unwrap());
        assert_eq!(size, count * 4, "{what}");
        let blocked = matches!(c, "all_gather" | "reduce_scatter" | "alltoall");
        assert!(!blocked || count % p as u64 == 0, "{what}: whole blocks");
        let root = if matches!(c, "broadcast" | "reduce") {
            (p / 2) as i64
        } else {
            -1
        };
        assert_eq!(r["root"], root, "{what}");
        let (alg, bus) = (r["alg_bw"].as_f64().unwrap(), r["bus_bw"].as_f64().unwrap());
        let pf = p as f64;
        let factor = match c {
            "all_reduce" => 2.0 * (pf - 1.0) / pf,
            "all_gather" | "reduce_scatter" | "alltoall" => (pf - 1.0) / pf,
            _ => 1.0,
        };
        assert!((bus - alg * factor).abs() <= 1e-9 * alg.max(1.0), "{what}");
    }
}

#[test]
fn every_collective_is_exact_over_quic_for_p_1_to_8() {
    for p in 1..=8 {
        let (v, text) = run(p, &[]);
        check_rows(p, &v);
        let c = &v["config"];
        assert_eq!(c["collectives"].as_array().unwrap().len(), 7);
        assert_eq!(c["root"], (p / 2) as u64);
        assert!(text.contains("# Algorithm: alltoall pairwise"), "{text}");
        assert!(text.contains("# Comparison (broadcast)"), "{text}");
        // nccl-tests prints none as the operator of a collective that reduces nothing.
        let sendrecv = text
            .lines()
            .skip_while(|l| !l.contains("# Algorithm: sendrecv ring"))
            .nth(4)
            .unwrap();
        assert!(sendrecv.contains(" none "), "{sendrecv}");
    }
}

#[test]
fn channels_cut_every_block_and_stay_exact() {
    for p in [3, 4] {
        let (v, _) = run(p, &["--channels", "3", "--channel-min-bytes", "8"]);
        check_rows(p, &v);
        let most = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["channels"].as_u64())
            .max();
        assert_eq!(
            most,
            Some(3),
            "p={p}: the large sizes ran on three channels"
        );
    }
}

#[test]
fn a_spoiled_result_of_any_collective_is_caught() {
    for (collective, rank) in [("reduce_scatter", 2), ("alltoall", 1), ("broadcast", 3)] {
        let dir = tempdir(&format!("spoil-{collective}"));
        let out = collbench()
            .args(["run", "--np", "4", "--collective", collective])
            .args(["-b", "1K", "-e", "1K", "-n", "1", "-w", "0"])
            .args(["--fault", &format!("corrupt:{rank}@1K"), "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{collective}: a wrong result must fail the run"
        );
        let v = results(&dir);
        let r = &v["results"][0];
        assert_eq!(r["nwrong"], 1, "{collective}: {}", stdout(&out));
    }
}

/// Every type and operator at p = 3; the narrow types (which round and wrap soonest) at p = 5.
#[test]
fn every_type_and_operator_is_exact_for_every_collective() {
    for (p, types, ntypes) in [(3, "all", 10), (5, "int8,half,bfloat16", 3)] {
        let dir = tempdir(&format!("types{p}"));
        let out = collbench()
            .args(["run", "--np", &p.to_string(), "--collective", "all"])
            .args(["-d", types, "-o", "all", "-r", "1"])
            .args(["-b", "8", "-e", "72", "-f", "9", "-n", "1", "-w", "0"])
            .args(["--segment", "64", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "p={p}: {}", stderr(&out));
        let v = results(&dir);
        let rows = v["results"].as_array().unwrap();
        // Per type: all_reduce, reduce_scatter and reduce in five operators, the other four
        // collectives once; two sizes each.
        assert_eq!(rows.len(), ntypes * (3 * 5 + 4) * 2, "p={p}");
        for r in rows {
            let what = format!(
                "p={p} {} {} {} {} {}",
                r["collective"], r["algorithm"], r["type"], r["redop"], r["size"]
            );
            assert_eq!(r["nwrong"], 0, "{what}");
            assert_eq!(r["in_place"]["nwrong"], 0, "{what}");
        }
        assert_eq!(v["config"]["types"].as_array().unwrap().len(), ntypes);
        assert_eq!(v["config"]["redops"].as_array().unwrap().len(), 5);
    }
}
