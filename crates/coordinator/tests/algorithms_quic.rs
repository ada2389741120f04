//! Every algorithm over QUIC between separate processes gives exact results at p = 2..8, and a
//! multi-algorithm run writes the comparison, the report and the plot.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

fn run_all(p: usize, extra: &[&str]) -> (serde_json::Value, String, TestDir) {
    let dir = tempdir(&format!("algos{p}{}", extra.len()));
    // 1, 3, 9, 27, 81 and 243 floats; 64-byte segments make tree and dbtree pipeline.
    let out = collbench()
        .args([
            "run",
            "--np",
            &p.to_string(),
            "--algo",
            "all",
            "-b",
            "4",
            "-e",
            "972",
            "-f",
            "3",
        ])
        .args(["-n", "2", "-w", "1", "--segment", "64", "--out"])
        .arg(&dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "p={p}: {}", stderr(&out));
    (results(&dir), stdout(&out), dir)
}

#[test]
fn every_algorithm_is_exact_over_quic_for_p_2_to_8() {
    for p in 2..=8 {
        let (v, text, dir) = run_all(p, &[]);
        let rows = v["results"].as_array().unwrap();
        assert_eq!(rows.len(), 8 * 6, "p={p}: eight algorithms x six sizes");
        for r in rows {
            assert_eq!(r["nwrong"], 0, "p={p} {} {}", r["algorithm"], r["size"]);
            assert_eq!(
                r["in_place"]["nwrong"], 0,
                "p={p} {} {}",
                r["algorithm"], r["size"]
            );
        }
        // The shapes hier, rail and torus2d ran with (the defaults for p) are recorded.
        let c = &v["config"];
        let g = c["group_size"].as_u64().unwrap();
        assert!(
            g >= 1 && (p as u64).is_multiple_of(g),
            "p={p}: group size {g}"
        );
        assert_eq!(
            c["grid"][0].as_u64().unwrap() * c["grid"][1].as_u64().unwrap(),
            p as u64
        );
        assert_eq!(
            (c["hier_inner"].as_str(), c["hier_outer"].as_str()),
            (Some("ring"), Some("ring"))
        );
        assert!(text.contains("# Comparison"), "p={p}: no comparison table");
        for algo in [
            "ring", "tree", "dbtree", "rhd", "rd", "hier", "torus2d", "rail",
        ] {
            assert!(
                text.contains(&format!("# Algorithm: {algo}")),
                "p={p}: no table for {algo}"
            );
        }
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(report.contains("## Comparison") && report.contains("busbw.svg"));
        let svg = std::fs::read_to_string(dir.join("busbw.svg")).unwrap();
        // One solid line per algorithm through every size, out of place (the legend's samples
        // have two points; the in-place lines are dashed, drawn as short pieces).
        let sizes = v["config"]["sizes"].as_array().unwrap().len();
        let lines = svg
            .split("<polyline")
            .skip(1)
            .filter(|p| {
                let points = p.split("points=\"").nth(1).unwrap_or("");
                let points = &points[..points.find('"').unwrap_or(0)];
                p.contains("stroke-width=\"2\"") && points.split_whitespace().count() == sizes
            })
            .count();
        assert_eq!(lines, 8, "one line per algorithm");
        for algo in [
            "ring", "tree", "dbtree", "rhd", "rd", "hier", "torus2d", "rail",
        ] {
            assert!(svg.contains(&format!("\n{algo}\n")), "{algo} in the legend");
            assert!(
                svg.contains(&format!("\n{algo} in place\n")),
                "{algo} in place in the legend"
            );
        }
    }
}

#[test]
fn a_topology_file_sets_hier_groups_and_the_torus_grid() {
    let dir = tempdir("topo");
    std::fs::create_dir_all(&dir).unwrap();
    let topo = dir.join("racks.toml");
    std::fs::write(
        &topo,
        "hier_level = \"rack\"\n[[host]]\nname = \"a\"\nrack = \"r0\"\nranks = 3\n[[host]]\nname = \"b\"\nrack = \"r1\"\nranks = 3\n",
    )
    .unwrap();
    let (v, _, out_dir) = run_all(
        6,
        &["--topology", topo.to_str().unwrap(), "--hier-inner", "rhd"],
    );
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["nwrong"] == 0));
    // Two racks of three: hier's groups and the torus rows follow them, and results.json says so.
    let c = &v["config"];
    assert_eq!(c["group_size"], 3);
    assert_eq!(c["grid"], serde_json::json!([3, 2]));
    assert_eq!(
        (c["hier_inner"].as_str(), c["hier_outer"].as_str()),
        (Some("rhd"), Some("ring"))
    );
    let _ = std::fs::remove_dir_all(&out_dir);

    // A topology that does not match -N, and a broken one, are refused before anything starts.
    let out = collbench()
        .args(["run", "--np", "4", "--topology"])
        .arg(&topo)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the topology file places 6"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&topo, "[[host]]\nname = \"a\"\nranks = -2\n").unwrap();
    let out = collbench()
        .args(["run", "--topology"])
        .arg(&topo)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("racks.toml:3: ranks:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shapes_that_do_not_tile_the_ranks_are_refused_up_front() {
    let out = collbench()
        .args(["run", "--np", "6", "--algo", "torus2d", "--grid", "4x2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--grid"), "{}", stderr(&out));
    let out = collbench()
        .args(["run", "--np", "6", "--algo", "hier", "--group-size", "4"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--group-size"), "{}", stderr(&out));
    let out = collbench()
        .args(["run", "--algo", "hier", "--hier-outer", "bogus"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--hier-outer"), "{}", stderr(&out));
}
