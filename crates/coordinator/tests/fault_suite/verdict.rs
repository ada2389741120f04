//! Judging one run: was its results file valid and complete, and was the culprit named?

use std::collections::BTreeSet;

use crate::inject::{Kind, Outcome};

/// Sizes of the rows the coordinator printed on stdout (a row is printed just before it is
/// written to the results file).
fn printed_sizes(stdout: &str) -> BTreeSet<u64> {
    stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split_whitespace().count() == 13)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Problems with the results file; empty when it is valid and holds every completed size.
pub fn results_problems(o: &Outcome) -> Vec<String> {
    let path = o.dir.join("results.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        // A coordinator killed before it made the file has nothing to lose.
        Err(_) if o.spec.kind == Kind::Coordinator && printed_sizes(&o.stdout).is_empty() => {
            return Vec::new()
        }
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return vec![format!("results.json is not JSON: {e}")],
    };
    let mut problems = Vec::new();
    let schema = crate::common::schema();
    let validator = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    if let Err(errors) = validator.validate(&value) {
        problems.extend(errors.map(|e| format!("schema: {e} at {}", e.instance_path)));
    }
    if let Err(e) = serde_json::from_value::<wire::results::ResultsFile>(value.clone()) {
        problems.push(format!("typed reader: {e}"));
    }
    let rows = value["results"].as_array().cloned().unwrap_or_default();
    for r in &rows {
        if r["nwrong"] != 0 || r["in_place"]["nwrong"] != 0 {
            problems.push(format!("row with wrong results: {r}"));
        }
    }
    let in_file: BTreeSet<u64> = rows.iter().filter_map(|r| r["size"].as_u64()).collect();
    let printed = printed_sizes(&o.stdout);
    let failed = o.status.is_some_and(|s| !s.success());
    match o.spec.kind {
        Kind::Coordinator => {
            // Killed between printing a row and writing it: at most that one row is missing.
            if !in_file.is_subset(&printed) || printed.difference(&in_file).count() > 1 {
                problems.push(format!("rows {in_file:?} in the file, {printed:?} printed"));
            }
        }
        _ => {
            if in_file != printed {
                problems.push(format!(
                    "rows {in_file:?} in the file, {printed:?} completed"
                ));
            }
            if failed && value["failure"].is_null() {
                problems.push("the run failed but no failure is recorded".into());
            }
            if !failed && !value["failure"].is_null() {
                problems.push(format!(
                    "a failure recorded for a run that passed: {}",
                    value["failure"]
                ));
            }
            if !failed && in_file.len() != crate::inject::SIZES.len() {
                problems.push(format!("the run passed with only {in_file:?}"));
            }
        }
    }
    problems
}

/// Whether a run that ended with an error blamed the faulted rank: in the failure record and
/// in the error message. `None` when there is no culprit to name (the coordinator was killed,
/// or a SIGKILL came after the sweep was done).
pub fn culprit_problem(o: &Outcome) -> Option<String> {
    if o.spec.kind == Kind::Coordinator {
        return None;
    }
    let rank = o.spec.rank;
    let failed = o.status.is_some_and(|s| !s.success());
    if !failed {
        return match o.spec.kind {
            // A signal that lands after the sweep is over fails nothing.
            Kind::Kill | Kind::Stop if !o.spec.hook && o.status.is_some() => None,
            _ if o.status.is_none() => Some("the run hung".into()),
            _ => Some("the fault fired but the run passed".into()),
        };
    }
    let text = std::fs::read_to_string(o.dir.join("results.json")).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let failure = &value["failure"];
    let mut wrong = Vec::new();
    if failure["rank"].as_u64() != Some(rank as u64) {
        wrong.push(format!("the failure record names rank {}", failure["rank"]));
    }
    if !o.stderr.contains(&format!("rank {rank} (")) {
        wrong.push("the error message does not name it".into());
    }
    if o.spec.hook {
        // A hook fires in that size's first iteration: the record says where.
        if failure["size"].as_u64() != Some(o.spec.size) || failure["algorithm"] != o.spec.algorithm
        {
            wrong.push(format!(
                "the record says {} {} instead of {} {}",
                failure["algorithm"], failure["size"], o.spec.algorithm, o.spec.size
            ));
        }
        if failure["host"].is_null() {
            wrong.push("no host".into());
        }
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "expected rank {rank}: {}; message: {}",
            wrong.join("; "),
            failure["message"]
        )
    })
}
