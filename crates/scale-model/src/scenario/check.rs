//! From the file as written to a checked [`Scenario`]: ranges, units and consistency, each error
//! at the line of the value that is wrong.

use std::ops::Range;

use toml::Spanned;

use super::error::{Locator, ScenarioError};
use super::raw::{RawBytes, RawModel, RawMoe, RawScenario, RawTier, RawWorkload};
use super::workload::{DType, ModelWorkload, MoeWorkload, Pipeline, Sharding, Workload};
use super::{Cluster, Compute, IntraNode, Network, Scenario, Tier, Topology};
use crate::noise_form::Noise;
use crate::stack::StackProfile;
use crate::units::parse_size;

type Result<T> = std::result::Result<T, ScenarioError>;

pub(super) fn check(raw: RawScenario, at: &Locator<'_>) -> Result<Scenario> {
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(at.invalid(raw.name.span(), "name", "must not be empty"));
    }
    let rc = raw.cluster.into_inner();
    let gpus = count(at, &rc.gpus, "cluster.gpus")?;
    let gpus_per_node = count(at, &rc.gpus_per_node, "cluster.gpus_per_node")?;
    if gpus % gpus_per_node != 0 {
        return Err(at.invalid(
            rc.gpus.span(),
            "cluster.gpus",
            format!(
                "{gpus} GPUs is not a whole number of nodes of {gpus_per_node} \
                 (cluster.gpus_per_node); use a multiple of {gpus_per_node}"
            ),
        ));
    }
    let cluster = Cluster {
        gpus,
        gpus_per_node,
    };

    let intra_node = match raw.intra_node {
        Some(intra) => {
            let i = intra.into_inner();
            Some(IntraNode {
                bandwidth_gb_per_s: positive(
                    at,
                    &i.bandwidth_gb_per_s,
                    "intra_node.bandwidth_gb_per_s",
                )?,
                latency_us: non_negative(at, &i.latency_us, "intra_node.latency_us")?,
                in_switch_reduction: i.in_switch_reduction,
                topology: topology(at, i.topology.as_ref(), "intra_node.topology")?,
            })
        }
        None if gpus_per_node > 1 => {
            return Err(at.invalid(
                rc.gpus_per_node.span(),
                "intra_node",
                format!(
                    "nodes of {gpus_per_node} GPUs need an [intra_node] table with \
                     bandwidth_gb_per_s and latency_us"
                ),
            ))
        }
        None => None,
    };

    let net_span = raw.network.span();
    let rn = raw.network.into_inner();
    let nic_gbit_per_s = positive(at, &rn.nic_gbit_per_s, "network.nic_gbit_per_s")?;
    let latency_us = non_negative(at, &rn.latency_us, "network.latency_us")?;
    let tiers = check_tiers(at, &rn.tiers, &cluster, net_span)?;
    let network = Network {
        nic_gbit_per_s,
        latency_us,
        in_switch_reduction: rn.in_switch_reduction,
        tiers,
    };

    let compute = match raw.compute {
        Some(c) => Some(Compute {
            reduce_gb_per_s: positive(at, &c.reduce_gb_per_s, "compute.reduce_gb_per_s")?,
        }),
        None => None,
    };

    let workload = match raw.workload {
        Some(w) => {
            let span = w.span();
            Some(check_workload(at, w.into_inner(), span, &cluster)?)
        }
        None => None,
    };
    let stack = match raw.stack {
        Some(s) => Some(
            s.profile
                .get_ref()
                .parse::<StackProfile>()
                .map_err(|e| at.invalid(s.profile.span(), "stack.profile", e))?,
        ),
        None => None,
    };
    let noise = match raw.noise {
        Some(n) => Some(
            n.delay
                .get_ref()
                .parse::<Noise>()
                .map_err(|e| at.invalid(n.delay.span(), "noise.delay", e.to_string()))?,
        ),
        None => None,
    };
    Ok(Scenario {
        name,
        description: raw.description,
        cluster,
        intra_node,
        network,
        compute,
        workload,
        stack,
        noise,
    })
}

fn check_tiers(
    at: &Locator<'_>,
    raw: &[Spanned<RawTier>],
    cluster: &Cluster,
    net_span: Range<usize>,
) -> Result<Vec<Tier>> {
    let mut tiers: Vec<Tier> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let t = t.get_ref();
        let field = |f: &str| format!("network.tiers[{i}].{f}");
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(at.invalid(t.name.span(), field("name"), "must not be empty"));
        }
        let gpus = count(at, &t.gpus, &field("gpus"))?;
        if gpus % cluster.gpus_per_node != 0 {
            return Err(at.invalid(
                t.gpus.span(),
                field("gpus"),
                format!(
                    "{gpus} GPUs is not a whole number of nodes of {}",
                    cluster.gpus_per_node
                ),
            ));
        }
        if let Some(prev) = tiers.last() {
            if gpus <= prev.gpus || gpus % prev.gpus != 0 {
                return Err(at.invalid(
                    t.gpus.span(),
                    field("gpus"),
                    format!(
                        "{gpus} GPUs must be a larger multiple of the tier below ('{}', {} GPUs)",
                        prev.name, prev.gpus
                    ),
                ));
            }
        }
        if gpus > cluster.gpus {
            return Err(at.invalid(
                t.gpus.span(),
                field("gpus"),
                format!("{gpus} GPUs is more than the cluster's {}", cluster.gpus),
            ));
        }
        let oversubscription = finite(at, &t.oversubscription, &field("oversubscription"))?;
        if oversubscription < 1.0 {
            return Err(at.invalid(
                t.oversubscription.span(),
                field("oversubscription"),
                format!(
                    "{oversubscription} is below 1; write the down:up ratio (1 = full bisection, \
                     7 for 1:7)"
                ),
            ));
        }
        tiers.push(Tier {
            name,
            gpus,
            oversubscription,
            hop_latency_us: non_negative(at, &t.hop_latency_us, &field("hop_latency_us"))?,
            topology: topology(at, t.topology.as_ref(), &field("topology"))?,
        });
    }
    if let (Some(last), Some(raw_last)) = (tiers.last(), raw.last()) {
        if last.gpus != cluster.gpus {
            return Err(at.invalid(
                raw_last.get_ref().gpus.span(),
                format!("network.tiers[{}].gpus", tiers.len() - 1),
                format!(
                    "the top tier spans {} GPUs but the cluster has {}; the top tier must span \
                     the whole cluster",
                    last.gpus, cluster.gpus
                ),
            ));
        }
    } else if cluster.gpus > cluster.gpus_per_node {
        return Err(at.invalid(
            net_span,
            "network.tiers",
            "a cluster of more than one node needs at least one [[network.tiers]] entry",
        ));
    }
    Ok(tiers)
}

fn check_workload(
    at: &Locator<'_>,
    w: RawWorkload,
    span: Range<usize>,
    cluster: &Cluster,
) -> Result<Workload> {
    match (&w.bytes, &w.model) {
        (Some(_), Some(m)) => {
            return Err(at.invalid(
                m.span(),
                "workload.model",
                "give either workload.bytes or [workload.model], not both",
            ))
        }
        (None, None) => {
            return Err(at.invalid(
                span,
                "workload",
                "needs workload.bytes (with optional workload.ranks) or a [workload.model] table",
            ))
        }
        _ => {}
    }
    let ranks = match &w.ranks {
        Some(r) => {
            if w.model.is_some() {
                return Err(at.invalid(
                    r.span(),
                    "workload.ranks",
                    "with [workload.model] the group is the data-parallel degree dp; remove ranks",
                ));
            }
            let n = count(at, r, "workload.ranks")?;
            if n > cluster.gpus {
                return Err(at.invalid(
                    r.span(),
                    "workload.ranks",
                    format!("{n} ranks is more than the cluster's {} GPUs", cluster.gpus),
                ));
            }
            Some(n)
        }
        None => None,
    };
    let bytes = match &w.bytes {
        Some(b) => Some(byte_count(at, b)?),
        None => None,
    };
    if let (Some(moe), None) = (&w.moe, &w.model) {
        return Err(at.invalid(
            moe.span(),
            "workload.moe",
            "an MoE exchange belongs to a [workload.model] (its data and pipeline parallelism)",
        ));
    }
    let model = match w.model {
        Some(m) => Some(check_model(at, m.into_inner(), cluster)?),
        None => None,
    };
    let moe = match w.moe {
        Some(e) => Some(check_moe(at, e.into_inner(), cluster)?),
        None => None,
    };
    Ok(Workload {
        bytes,
        ranks,
        model,
        moe,
    })
}

fn dtype_of(at: &Locator<'_>, d: &Spanned<String>, field: &str) -> Result<DType> {
    DType::parse(d.get_ref().trim()).ok_or_else(|| {
        at.invalid(
            d.span(),
            field,
            format!(
                "unknown dtype '{}'; expected one of: fp32, fp16, bf16, fp8",
                d.get_ref()
            ),
        )
    })
}

/// A level's topology: a switch where the file names none.
fn topology(at: &Locator<'_>, v: Option<&Spanned<String>>, field: &str) -> Result<Topology> {
    let Some(v) = v else {
        return Ok(Topology::Switch);
    };
    Topology::parse(v.get_ref()).ok_or_else(|| {
        at.invalid(
            v.span(),
            field,
            format!(
                "unknown topology '{}'; expected one of: switch, ring, fully_connected \
                 (or ASTRA-sim's Switch, Ring, FullyConnected)",
                v.get_ref()
            ),
        )
    })
}

fn check_moe(at: &Locator<'_>, e: RawMoe, cluster: &Cluster) -> Result<MoeWorkload> {
    let ep = count(at, &e.ep, "workload.moe.ep")?;
    if ep > cluster.gpus {
        return Err(at.invalid(
            e.ep.span(),
            "workload.moe.ep",
            format!(
                "{ep} ranks is more than the cluster's {} GPUs",
                cluster.gpus
            ),
        ));
    }
    Ok(MoeWorkload {
        ep,
        layers: count(at, &e.layers, "workload.moe.layers")?,
        tokens_per_gpu: count(at, &e.tokens_per_gpu, "workload.moe.tokens_per_gpu")? as u64,
        hidden: count(at, &e.hidden, "workload.moe.hidden")? as u64,
        top_k: count(at, &e.top_k, "workload.moe.top_k")? as u64,
        dtype: dtype_of(at, &e.dtype, "workload.moe.dtype")?,
    })
}

/// The pipeline's activations: all three of micro_batches, micro_batch_tokens and hidden, or
/// none.
fn check_pipeline(at: &Locator<'_>, m: &RawModel, pp: usize) -> Result<Option<Pipeline>> {
    let fields = [&m.micro_batches, &m.micro_batch_tokens, &m.hidden];
    let given = fields.iter().filter(|f| f.is_some()).count();
    let (Some(mb), Some(tokens), Some(hidden)) = (fields[0], fields[1], fields[2]) else {
        if given == 0 {
            return Ok(None);
        }
        let span = fields
            .iter()
            .flat_map(|f| f.as_ref())
            .map(|f| f.span())
            .next();
        return Err(at.invalid(
            span.unwrap_or(0..0),
            "workload.model.micro_batches",
            "a pipeline's activations need micro_batches, micro_batch_tokens and hidden together",
        ));
    };
    if pp < 2 {
        return Err(at.invalid(
            mb.span(),
            "workload.model.micro_batches",
            "pipeline activations need pp of 2 or more",
        ));
    }
    Ok(Some(Pipeline {
        micro_batches: count(at, mb, "workload.model.micro_batches")?,
        micro_batch_tokens: count(at, tokens, "workload.model.micro_batch_tokens")? as u64,
        hidden: count(at, hidden, "workload.model.hidden")? as u64,
    }))
}

fn check_model(at: &Locator<'_>, m: RawModel, cluster: &Cluster) -> Result<ModelWorkload> {
    let params = positive(at, &m.params, "workload.model.params")?;
    let dtype = dtype_of(at, &m.dtype, "workload.model.dtype")?;
    let sharding = match &m.sharding {
        None => Sharding::Ddp,
        Some(s) => Sharding::parse(s.get_ref()).ok_or_else(|| {
            at.invalid(
                s.span(),
                "workload.model.sharding",
                format!(
                    "unknown sharding '{}'; expected ddp or zero3 (fsdp)",
                    s.get_ref()
                ),
            )
        })?,
    };
    let tp = count(at, &m.tp, "workload.model.tp")?;
    let pp = count(at, &m.pp, "workload.model.pp")?;
    let dp = count(at, &m.dp, "workload.model.dp")?;
    let total = tp.checked_mul(pp).and_then(|v| v.checked_mul(dp));
    if total.is_none_or(|t| t > cluster.gpus) {
        return Err(at.invalid(
            m.dp.span(),
            "workload.model.dp",
            format!(
                "tp x pp x dp = {tp} x {pp} x {dp} GPUs is more than the cluster's {}",
                cluster.gpus
            ),
        ));
    }
    let pipeline = check_pipeline(at, &m, pp)?;
    Ok(ModelWorkload {
        params,
        dtype,
        tp,
        pp,
        dp,
        sharding,
        pipeline,
    })
}

fn byte_count(at: &Locator<'_>, b: &Spanned<RawBytes>) -> Result<u64> {
    let bad = |msg: String| at.invalid(b.span(), "workload.bytes", msg);
    match b.get_ref() {
        RawBytes::Int(n) if *n > 0 => Ok(*n as u64),
        RawBytes::Int(n) => Err(bad(format!("{n} is not a positive byte count"))),
        RawBytes::Text(s) => match parse_size(s) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(format!(
                "'{s}' is not a byte count; write an integer or a number with K, M, G or T"
            ))),
        },
    }
}

fn count(at: &Locator<'_>, v: &Spanned<i64>, field: &str) -> Result<usize> {
    let n = *v.get_ref();
    if n < 1 {
        return Err(at.invalid(v.span(), field, format!("{n} must be at least 1")));
    }
    usize::try_from(n).map_err(|_| at.invalid(v.span(), field, format!("{n} is too large")))
}

fn finite(at: &Locator<'_>, v: &Spanned<f64>, field: &str) -> Result<f64> {
    let x = *v.get_ref();
    if !x.is_finite() {
        return Err(at.invalid(v.span(), field, format!("{x} is not a finite number")));
    }
    Ok(x)
}

fn positive(at: &Locator<'_>, v: &Spanned<f64>, field: &str) -> Result<f64> {
    let x = finite(at, v, field)?;
    if x <= 0.0 {
        return Err(at.invalid(
            v.span(),
            field,
            format!("{x} must be positive (a bandwidth or size above zero)"),
        ));
    }
    Ok(x)
}

fn non_negative(at: &Locator<'_>, v: &Spanned<f64>, field: &str) -> Result<f64> {
    let x = finite(at, v, field)?;
    if x < 0.0 {
        return Err(at.invalid(v.span(), field, format!("{x} must not be negative")));
    }
    Ok(x)
}
