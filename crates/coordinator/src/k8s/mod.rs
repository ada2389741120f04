//! `collbench k8s`: writes the manifests of a Kubernetes run ([`manifests`]) as JSON files,
//! with a fresh CA, certificates and token in the run's Secret. The Secret's file is written
//! with mode 0600; delete it with the run (`kubectl delete -f DIR`) once results are copied.

pub mod args;
pub mod manifests;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Parser;
use transport::credentials::{random_token, RunCredentials};

pub use args::K8sArgs;

use crate::cli::RunArgs;
use crate::options::RunOptions;
use crate::usage::UsageError;

/// The most ranks one run's Secret holds (a Secret is at most 1 MiB; a rank takes about 1.3 KiB).
pub const MAX_NODES: usize = 512;

/// Flags of `collbench run` that `collbench k8s` sets itself.
const OWN_FLAGS: &[&str] = &[
    "--np",
    "--nodes",
    "--launcher",
    "--listen",
    "--credentials",
    "--out",
    "--setup-timeout",
];

#[derive(Parser)]
#[command(name = "collbench run", no_binary_name = true)]
struct RunOnly {
    #[command(flatten)]
    run: RunArgs,
}

fn dns_label(flag: &str, s: &str, max: usize) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-');
    if !ok {
        bail!(UsageError(format!(
            "{flag}: '{s}' is not a DNS label of at most {max} characters (lowercase letters, \
             digits, '-', starting with a letter)"
        )));
    }
    Ok(())
}

/// Checks the flags (the coordinator's too, as `collbench run` would) and builds the spec.
pub fn spec(a: &K8sArgs) -> Result<manifests::Spec> {
    if a.nodes == 0 || a.nodes > MAX_NODES {
        bail!(UsageError(format!(
            "--nodes: {} is outside 1..={MAX_NODES} (one Secret holds every rank's credentials)",
            a.nodes
        )));
    }
    if a.image.trim().is_empty() || a.image.chars().any(char::is_whitespace) {
        bail!(UsageError(format!(
            "--image: '{}' is not an image reference",
            a.image
        )));
    }
    dns_label("--name", &a.name, 40)?;
    dns_label("--namespace", &a.namespace, 63)?;
    if !["Always", "IfNotPresent", "Never"].contains(&a.pull_policy.as_str()) {
        bail!(UsageError(format!(
            "--pull-policy: '{}' is not Always, IfNotPresent or Never",
            a.pull_policy
        )));
    }
    if a.port == 0 {
        bail!(UsageError("--port: 0 is not a port".into()));
    }
    if a.setup_timeout == 0 {
        bail!(UsageError(
            "--setup-timeout: must be at least 1 second".into()
        ));
    }
    for arg in &a.run_args {
        let flag = arg.split('=').next().unwrap_or(arg);
        if OWN_FLAGS.contains(&flag) {
            bail!(UsageError(format!(
                "'{arg}' after --: collbench k8s sets {flag} itself"
            )));
        }
    }
    let mut run = RunOnly::try_parse_from(&a.run_args)
        .map_err(|e| UsageError(format!("the flags after -- (for collbench run): {e}")))?
        .run;
    run.launcher = "k8s".into();
    run.nodes = Some(a.nodes);
    run.cluster.credentials = Some(manifests::CREDENTIALS_MOUNT.into());
    RunOptions::from_args(&run).context("the flags after -- (for collbench run)")?;
    Ok(manifests::Spec {
        name: a.name.clone(),
        namespace: a.namespace.clone(),
        image: a.image.clone(),
        pull_policy: a.pull_policy.clone(),
        nodes: a.nodes,
        port: a.port,
        run_args: a.run_args.clone(),
        keep_seconds: a.keep_seconds,
        one_per_node: a.one_per_node,
        setup_timeout: a.setup_timeout,
    })
}

fn write_file(path: &Path, text: &str, mode: u32, force: bool) -> Result<()> {
    if force {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => {}
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("writing {} (exists? --force overwrites)", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// `collbench k8s`.
pub fn run(a: &K8sArgs) -> Result<()> {
    let spec = spec(a)?;
    let run_id = format!("k8s-{}", &random_token()?[..12]);
    let creds =
        RunCredentials::generate(&run_id, spec.nodes).context("making the run's certificates")?;
    let files = crate::credentials_io::files(&creds, true);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    for (file, mut doc) in manifests::all(&spec, &files) {
        let secret = doc["kind"] == "Secret";
        // JSON manifests (kubectl reads them): what a comment would say goes in annotations.
        let mut note = format!("written by collbench k8s ({run_id})");
        if secret {
            note.push_str("; holds the run's keys: keep it private, delete it after the run");
        }
        doc["metadata"]["annotations"]["collbench/note"] = serde_json::Value::String(note);
        let text = serde_json::to_string_pretty(&doc).context("encoding a manifest")? + "\n";
        let mode = if secret { 0o600 } else { 0o644 };
        write_file(&a.out.join(file), &text, mode, a.force)?;
    }
    let dir = a.out.display();
    println!(
        "wrote the manifests of a {}-rank run to {dir}\n\
         \n  kubectl apply -f {dir}\
         \n  kubectl -n {ns} logs -f job/{svc}\
         \n  kubectl -n {ns} cp $(kubectl -n {ns} get pod -l job-name={svc} -o name | cut -d/ -f2):{res}/run ./results/{run_id}\
         \n  kubectl delete -f {dir}      # also deletes the Secret with the run's keys",
        spec.nodes,
        ns = spec.namespace,
        svc = spec.service(),
        res = manifests::RESULTS_MOUNT,
    );
    Ok(())
}
