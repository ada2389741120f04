//! `collbench k8s`: the manifests validate offline against the Kubernetes schemas
//! (`kubernetes-validate --strict`, from PyPI; CI installs it), their rank and Service wiring
//! is what the nodes and the coordinator need, and the very commands the pods would run, taken
//! from the manifests, complete a sweep on this machine with the Secret's credentials.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const IMAGE: &str = "registry.example/collbench:0.1";

fn generate(out: &Path, extra: &[&str]) -> std::process::Output {
    collbench()
        .args([
            "k8s",
            "--nodes",
            "3",
            "--image",
            IMAGE,
            "--namespace",
            "bench",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// Reads a manifest back with PyYAML (what kubernetes-validate itself uses; JSON is YAML).
fn load_yaml(path: &Path) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "PyYAML (installed with kubernetes-validate) reads {}: {}",
        path.display(),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The value after `flag` in `args`.
fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args.iter().position(|a| a == flag).unwrap_or_else(|| {
        panic!("{flag} missing from {args:?}");
    });
    &args[i + 1]
}

fn matches(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .unwrap()
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn manifests_validate_and_wire_ranks_and_the_service() {
    let missing: Vec<String> = need_program("kubernetes-validate", "kubernetes-validate from PyPI")
        .into_iter()
        .collect();
    if !common::runnable("the Kubernetes manifest test", &missing) {
        return;
    }
    let dir = tempdir("k8s");
    let out = dir.join("manifests");
    let o = generate(
        &out,
        &[
            "--setup-timeout",
            "20",
            "--",
            "-b",
            "1K",
            "-e",
            "4K",
            "-n",
            "2",
            "-w",
            "1",
            "--channels",
            "2",
            "--channel-min-bytes",
            "512",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("kubectl apply -f"));

    let files = [
        "00-secret.json",
        "10-service.json",
        "20-coordinator.json",
        "30-nodes.json",
    ];
    let v = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(files.iter().map(|f| out.join(f)))
        .output()
        .expect("kubernetes-validate is installed (pip install kubernetes-validate; CI does)");
    assert!(
        v.status.success(),
        "kubernetes-validate --strict:\n{}{}",
        stdout(&v),
        stderr(&v)
    );
    assert_eq!(
        std::fs::metadata(out.join("00-secret.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let [secret, service, coordinator, nodes] = files.map(|f| load_yaml(&out.join(f)));

    // Nodes: an Indexed Job of 3 pods started together, rank from the completion index.
    let job = &nodes["spec"];
    assert_eq!(nodes["kind"], "Job");
    assert_eq!(job["completionMode"], "Indexed");
    assert_eq!(job["completions"], 3);
    assert_eq!(job["parallelism"], 3);
    let pod = &job["template"]["spec"];
    let node = &pod["containers"][0];
    let args = strings(&node["args"]);
    assert_eq!(after(&args, "--rank-from"), "k8s");
    assert_eq!(after(&args, "--nranks"), "3");
    assert!(!args.contains(&"--rank".to_string()));

    // The Service: headless, UDP, selecting the coordinator's pod and not the nodes'.
    assert_eq!(service["spec"]["clusterIP"], "None");
    assert_eq!(service["spec"]["publishNotReadyAddresses"], true);
    let port = &service["spec"]["ports"][0];
    assert_eq!(port["protocol"], "UDP");
    let coord_pod = &coordinator["spec"]["template"];
    assert!(matches(
        &service["spec"]["selector"],
        &coord_pod["metadata"]["labels"]
    ));
    assert!(!matches(
        &service["spec"]["selector"],
        &job["template"]["metadata"]["labels"]
    ));
    // Nodes dial the Service's DNS name on its port, where the coordinator listens.
    let svc_name = service["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        after(&args, "--coordinator"),
        format!("{svc_name}.bench.svc:{}", port["port"])
    );
    let coord = &coord_pod["spec"]["containers"][0];
    assert_eq!(coord["ports"][0]["containerPort"], port["targetPort"]);
    assert_eq!(coord["ports"][0]["protocol"], "UDP");
    let script = strings(&coord["command"]).pop().unwrap();
    assert!(
        script.starts_with(&format!(
            "collbench run --launcher k8s --np 3 --listen 0.0.0.0:{} ",
            port["port"]
        )),
        "{script}"
    );

    // The Secret holds every rank's credentials and the coordinator's, and both pods mount it
    // where their flags look.
    let secret_name = secret["metadata"]["name"].as_str().unwrap();
    let data = secret["stringData"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["coordinator.env", "rank-0.env", "rank-1.env", "rank-2.env"]
    );
    for (p, flag_dir) in [
        (pod, after(&args, "--credentials-dir").to_string()),
        (&coord_pod["spec"], "/var/run/collbench".to_string()),
    ] {
        assert_eq!(p["volumes"][0]["secret"]["secretName"], secret_name);
        let mount = &p["containers"][0]["volumeMounts"][0];
        assert_eq!(mount["name"], p["volumes"][0]["name"]);
        assert_eq!(mount["mountPath"], flag_dir.as_str());
        assert_eq!(mount["readOnly"], true);
    }
    assert!(
        script.contains("--credentials /var/run/collbench "),
        "{script}"
    );

    // Run the pods' own commands here: the Secret's files as its volume would hold them, the
    // coordinator's script, and each node's arguments with its completion index.
    let creds = dir.join("secret");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&creds)
        .unwrap();
    for (k, text) in data {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(creds.join(k))
            .unwrap();
        std::io::Write::write_all(&mut f, text.as_str().unwrap().as_bytes()).unwrap();
    }
    let free_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let results_dir = dir.join("results");
    let local_script = script
        .replacen("collbench", env!("CARGO_BIN_EXE_collbench"), 1)
        .replace(
            &format!("0.0.0.0:{}", port["port"]),
            &format!("127.0.0.1:{free_port}"),
        )
        .replace("/var/run/collbench", creds.to_str().unwrap())
        .replace("/results/run", results_dir.to_str().unwrap())
        .replace("sleep 600", "true");
    let mut coordinator_proc = Command::new("sh")
        .args(["-c", &local_script])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut node_procs = Vec::new();
    for index in 0..3 {
        let pod_name = format!("collbench-nodes-{index}-x");
        let local_args: Vec<String> = args
            .iter()
            .map(|a| match a.as_str() {
                "$(NODE_NAME)/$(POD_NAME)" => format!("k8s-node-a/{pod_name}"),
                "/var/run/collbench" => creds.to_str().unwrap().to_string(),
                // A name resolved at start, as the Service's is in the cluster.
                a if a.starts_with(svc_name) => format!("localhost:{free_port}"),
                a => a.to_string(),
            })
            .collect();
        node_procs.push(
            Command::new(env!("CARGO_BIN_EXE_collbench"))
                .args(&local_args)
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    let status = coordinator_proc.wait().unwrap();
    let node_status: Vec<_> = node_procs.iter_mut().map(|p| p.wait().unwrap()).collect();
    let mut err = String::new();
    std::io::Read::read_to_string(coordinator_proc.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "coordinator: {status}\n{err}");
    assert!(node_status.iter().all(|s| s.success()), "{node_status:?}");
    let results = results(&results_dir);
    assert_eq!(results["config"]["launcher"], "k8s");
    for (rank, h) in results["config"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(h["host"], format!("k8s-node-a/collbench-nodes-{rank}-x"));
    }
    // The run's flags reach the coordinator's pod: two channels, each size split over them.
    assert_eq!(results["config"]["channels"], 2);
    for row in results["results"].as_array().unwrap() {
        assert_eq!(row["nwrong"], 0, "{row}");
        assert_eq!(row["channels"], 2, "{row}");
    }
}

#[test]
fn bad_k8s_flags_are_named() {
    let dir = tempdir("k8s-bad");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--", "--np", "4"],
            "'--np' after --: collbench k8s sets --np itself",
        ),
        (&["--", "--algo", "nope"], "--algo"),
        (
            &["--name", "Bad_Name"],
            "--name: 'Bad_Name' is not a DNS label",
        ),
        (
            &["--pull-policy", "Sometimes"],
            "--pull-policy: 'Sometimes'",
        ),
    ];
    for (extra, want) in cases {
        let o = generate(&dir.join("m"), extra);
        assert!(!o.status.success(), "{extra:?}");
        assert!(stderr(&o).contains(want), "{extra:?}: {}", stderr(&o));
        assert!(!dir.join("m").join("00-secret.json").exists());
    }
    // An existing Secret file is not overwritten without --force.
    assert!(generate(&dir.join("m"), &[]).status.success());
    let again = generate(&dir.join("m"), &[]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("--force overwrites"),
        "{}",
        stderr(&again)
    );
    assert!(generate(&dir.join("m"), &["--force"]).status.success());
}
