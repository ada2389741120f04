//! `collbench k8s`'s command line.

use std::path::PathBuf;

use clap::Args;

use crate::launcher::cluster_args::K8S_PORT;

#[derive(Args, Debug, Clone)]
#[command(after_help = "Flags after -- go to the coordinator's `collbench run` \
(for example: -- -b 1K -e 64M --algo ring,rhd). Then:\n  \
kubectl apply -f DIR\n  kubectl logs -f job/<name>-coordinator\n  \
kubectl cp <namespace>/<coordinator pod>:/results/run ./results/k8s-run\n  \
kubectl delete -f DIR")]
pub struct K8sArgs {
    /// Bench-nodes (ranks): the Indexed Job's completions and parallelism.
    #[arg(long)]
    pub nodes: usize,
    /// Container image holding /usr/local/bin/collbench (see Containerfile).
    #[arg(long)]
    pub image: String,
    /// Directory to write the manifests to (created; the Secret's file gets mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// Namespace of every object.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Prefix of every object's name (a DNS label).
    #[arg(long, default_value = "collbench")]
    pub name: String,
    /// UDP port of the coordinator's control endpoint (and the Service).
    #[arg(long, default_value_t = K8S_PORT)]
    pub port: u16,
    /// imagePullPolicy of the pods.
    #[arg(long, default_value = "IfNotPresent")]
    pub pull_policy: String,
    /// Seconds the coordinator's pod stays up after the run, for `kubectl cp` of the results.
    #[arg(long, default_value_t = 600)]
    pub keep_seconds: u64,
    /// At most one bench-node per Kubernetes node (required pod anti-affinity).
    #[arg(long)]
    pub one_per_node: bool,
    /// Seconds pods get to start and register (image pulls count).
    #[arg(long, default_value_t = 600)]
    pub setup_timeout: u64,
    /// Overwrite manifests already in --out.
    #[arg(long)]
    pub force: bool,
    /// Flags for the coordinator's `collbench run`.
    #[arg(last = true)]
    pub run_args: Vec<String>,
}
