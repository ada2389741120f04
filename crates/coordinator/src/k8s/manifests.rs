//! The Kubernetes objects of one run, as JSON values (pure; written as JSON files by the caller):
//!
//! - a Secret holding the run's credentials (`coordinator.env`, `rank-<r>.env`), mounted
//!   read-only into every pod;
//! - a headless Service (`clusterIP: None`) selecting the coordinator's pod, so
//!   `<name>-coordinator.<namespace>.svc` resolves to it; it publishes the address before the
//!   pod is ready, since readiness means nothing to a UDP endpoint;
//! - the coordinator, a Job of one pod running `collbench run --launcher k8s`, which keeps its
//!   pod up for `keep_seconds` after the run so its results can be copied out;
//! - the bench-nodes, an Indexed Job of `nodes` pods started together: pod i runs rank
//!   `JOB_COMPLETION_INDEX` = i and dials the coordinator through the Service's name.

use serde_json::{json, Value};

/// Where the Secret is mounted in every pod.
pub const CREDENTIALS_MOUNT: &str = "/var/run/collbench";
/// Where the coordinator writes results in its pod.
pub const RESULTS_MOUNT: &str = "/results";
/// The unprivileged user and group the containers run as.
pub const RUN_AS: u32 = 65532;

#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub namespace: String,
    pub image: String,
    pub pull_policy: String,
    pub nodes: usize,
    pub port: u16,
    /// `collbench run` flags for the coordinator (sizes, algorithms, ...).
    pub run_args: Vec<String>,
    pub keep_seconds: u64,
    /// Put at most one bench-node on each Kubernetes node.
    pub one_per_node: bool,
    pub setup_timeout: u64,
}

impl Spec {
    pub fn service(&self) -> String {
        format!("{}-coordinator", self.name)
    }
    pub fn secret(&self) -> String {
        format!("{}-credentials", self.name)
    }
    /// What nodes dial: the Service's name in the namespace, and the port.
    pub fn coordinator_address(&self) -> String {
        format!("{}.{}.svc:{}", self.service(), self.namespace, self.port)
    }
    fn labels(&self, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": "collbench",
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/component": component,
        })
    }
    fn metadata(&self, name: String, component: &str) -> Value {
        json!({"name": name, "namespace": self.namespace, "labels": self.labels(component)})
    }
}

fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
    })
}

fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
    })
}

fn credentials_volume(spec: &Spec) -> Value {
    // 0440: the owner (root) and the pod's fsGroup may read, nobody else; the volume is a
    // tmpfs private to the pod.
    json!({
        "name": "credentials",
        "secret": {"secretName": spec.secret(), "defaultMode": 0o440},
    })
}

fn credentials_mount() -> Value {
    json!({"name": "credentials", "mountPath": CREDENTIALS_MOUNT, "readOnly": true})
}

/// The Secret: `files` as (key, text) pairs.
pub fn secret(spec: &Spec, files: &[(String, String)]) -> Value {
    let data: serde_json::Map<String, Value> = files
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": spec.metadata(spec.secret(), "credentials"),
        "type": "Opaque",
        "stringData": data,
    })
}

pub fn service(spec: &Spec) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": spec.metadata(spec.service(), "coordinator"),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": spec.labels("coordinator"),
            "ports": [{"name": "control", "port": spec.port, "targetPort": spec.port, "protocol": "UDP"}],
        },
    })
}

/// The shell line the coordinator's container runs.
pub fn coordinator_script(spec: &Spec) -> String {
    use crate::launcher::ssh_remote::sh_line;
    let mut words: Vec<String> = [
        "collbench",
        "run",
        "--launcher",
        "k8s",
        "--np",
        &spec.nodes.to_string(),
        "--listen",
        &format!("0.0.0.0:{}", spec.port),
        "--credentials",
        CREDENTIALS_MOUNT,
        "--setup-timeout",
        &spec.setup_timeout.to_string(),
        "--out",
        &format!("{RESULTS_MOUNT}/run"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    words.extend(spec.run_args.iter().cloned());
    format!(
        "{}; rc=$?; echo \"collbench: run ended with status $rc; results stay in {RESULTS_MOUNT}/run for {keep} s (kubectl cp)\" >&2; sleep {keep}; exit $rc",
        sh_line(&words),
        keep = spec.keep_seconds
    )
}

pub fn coordinator(spec: &Spec) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": spec.metadata(spec.service(), "coordinator"),
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": spec.labels("coordinator")},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security(),
                    "containers": [{
                        "name": "coordinator",
                        "image": spec.image,
                        "imagePullPolicy": spec.pull_policy,
                        "command": ["/bin/sh", "-c", coordinator_script(spec)],
                        "ports": [{"name": "control", "containerPort": spec.port, "protocol": "UDP"}],
                        "securityContext": container_security(),
                        "volumeMounts": [
                            credentials_mount(),
                            {"name": "results", "mountPath": RESULTS_MOUNT},
                        ],
                    }],
                    "volumes": [credentials_volume(spec), {"name": "results", "emptyDir": {}}],
                },
            },
        },
    })
}

/// The bench-node arguments of every pod; `$(VAR)` is expanded by Kubernetes from the env.
pub fn node_args(spec: &Spec) -> Vec<String> {
    [
        "node",
        "--rank-from",
        "k8s",
        "--nranks",
        &spec.nodes.to_string(),
        "--coordinator",
        &spec.coordinator_address(),
        "--bind",
        "auto",
        "--credentials-dir",
        CREDENTIALS_MOUNT,
        "--host",
        "$(NODE_NAME)/$(POD_NAME)",
        "--setup-timeout",
        &spec.setup_timeout.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn nodes(spec: &Spec) -> Value {
    let mut pod = json!({
        "restartPolicy": "Never",
        "securityContext": pod_security(),
        "containers": [{
            "name": "node",
            "image": spec.image,
            "imagePullPolicy": spec.pull_policy,
            "command": ["collbench"],
            "args": node_args(spec),
            "env": [
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            "securityContext": container_security(),
            "volumeMounts": [credentials_mount()],
        }],
        "volumes": [credentials_volume(spec)],
    });
    if spec.one_per_node {
        pod["affinity"] = json!({
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": spec.labels("node")},
                    "topologyKey": "kubernetes.io/hostname",
                }],
            },
        });
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": spec.metadata(format!("{}-nodes", spec.name), "node"),
        "spec": {
            "completionMode": "Indexed",
            "completions": spec.nodes,
            "parallelism": spec.nodes,
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": spec.labels("node")},
                "spec": pod,
            },
        },
    })
}

/// Every object, with the file it goes to, in the order to apply them.
pub fn all(spec: &Spec, files: &[(String, String)]) -> Vec<(&'static str, Value)> {
    vec![
        ("00-secret.json", secret(spec, files)),
        ("10-service.json", service(spec)),
        ("20-coordinator.json", coordinator(spec)),
        ("30-nodes.json", nodes(spec)),
    ]
}
