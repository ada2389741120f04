//! The prose both reports (`report.md`, `report.html`) say about a run, as plain text: what
//! was run, the configured link rate, the notes on encryption, channels and definitions, and
//! the rows a rank's CPU set.

use wire::results::{ResultsFile, RunConfig};

use crate::sizes::format_size;

pub const DEFINITIONS: &str = "Times are the slowest rank's per iteration; busbw = algbw x \
     2(p-1)/p (nccl-tests' definitions).";

pub const UNENCRYPTED: &str = "Data plane unencrypted (--no-encryption): payloads in clear \
     after the TLS handshake, to attribute the cipher's cost; not comparable with encrypted runs.";

/// The warning of a run with injected jitter (`--fault jitter:DIST`).
pub fn jitter(c: &RunConfig) -> Option<String> {
    c.jitter.as_ref().map(|d| {
        format!(
            "Jitter injected (--fault jitter:{d}): every rank waited a draw from {d} before each \
             step's sends, so these times include that noise."
        )
    })
}

pub const MEASURED_BEFORE_FAILURE: &str =
    "Every row below was measured in full before the failure.";

pub const HOST_BOUND_INTRO: &str = "In these rows a rank's data plane kept more than 90% of the \
     cores it was given busy, or ranks sharing cores kept more than half of them busy together \
     (CPU time of their channel threads over the timed iterations), or their threads waited for \
     a core more than 10% of the time: the number is the host's, not the network's. A row whose \
     bus bandwidth reached 90% of each rank's own link is never listed.";

/// Started when, how many ranks where, what was reduced, which sizes and iterations.
pub fn summary(c: &RunConfig) -> String {
    format!(
        "Started {} · {} ranks · launcher {} · {} {} · sizes {}..{} (x{}) · {} warm-up + {} timed iterations · check {}",
        c.started_at,
        c.nranks,
        c.launcher,
        c.dtype,
        c.redop,
        format_size(c.minbytes),
        format_size(c.maxbytes),
        c.stepfactor,
        c.warmup_iters,
        c.iters,
        if c.check { "on" } else { "off" }
    )
}

/// The fabric's configured link rate (and uplinks', and an emulated node's NICs), when the run
/// knew it.
pub fn link_rate(c: &RunConfig) -> Option<String> {
    c.link_rate_bps.map(|rate| {
        format!(
            "Configured link rate: {:.0} Mbit/s{}{}.",
            rate / 1e6,
            c.uplink_rate_bps.map_or(String::new(), |u| format!(
                ", uplinks {:.0} Mbit/s",
                u / 1e6
            )),
            c.ranks_per_node
                .filter(|&g| g > 1)
                .map_or(String::new(), |g| format!(
                    "; {g} ranks per node, each on a link of its own (loopback between them)"
                ))
        )
    })
}

pub fn channels(c: &RunConfig) -> Option<String> {
    c.channels.map(|n| {
        format!(
            "Each rank ran {n} channel(s): its own UDP socket, QUIC endpoint, connections and \
             thread each, with its own part of the buffer."
        )
    })
}

/// The cores each rank was given, by rank (0 where unknown).
pub fn cores(c: &RunConfig) -> Vec<f64> {
    c.hosts.iter().map(|h| h.cores.unwrap_or(0.0)).collect()
}

/// For each row a rank's CPU set: "ring 1M: rank 2 used 3.9 of 4 cores: ...".
pub fn host_bound(file: &ResultsFile) -> Vec<String> {
    let cores = cores(&file.config);
    file.results
        .iter()
        .filter_map(|r| {
            super::table::host_warning(r, &cores).map(|w| {
                format!(
                    "{} {}: {}",
                    r.algorithm,
                    format_size(r.size),
                    w.trim_start_matches("# ")
                )
            })
        })
        .collect()
}
