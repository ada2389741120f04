//! What-if variations of a scenario: `PATH=V1,V2,...` sets one field of the scenario to each
//! value in turn. A path names a field as the scenario file does, dot-separated
//! (`network.nic_gbit_per_s`, `intra_node.latency_us`), a tier by its name
//! (`network.tiers.cluster.oversubscription`), and may leave out the table the field is unique
//! in (`nic_gbit_per_s`, `tiers.cluster.oversubscription`). Every varied scenario is checked as
//! a scenario file is.

use toml::Value;

use super::Scenario;

/// One `--vary`: a field and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Vary {
    pub path: String,
    pub values: Vec<Value>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VaryError {
    #[error("'{0}': write PATH=VALUE,VALUE,... (for example nic_gbit_per_s=200,400,800)")]
    Syntax(String),
    #[error("'{path}': no such field in the scenario{hint}")]
    NoField { path: String, hint: String },
    #[error("'{path}' is in more than one table ({tables}); write the table too")]
    Ambiguous { path: String, tables: String },
    #[error("{path} = {value}: {reason}")]
    Invalid {
        path: String,
        value: String,
        reason: String,
    },
}

impl Vary {
    /// Parses `PATH=V1,V2,...`; each value is a TOML number, boolean or string (bare words are
    /// taken as strings).
    pub fn parse(spec: &str) -> Result<Vary, VaryError> {
        let syntax = || VaryError::Syntax(spec.to_string());
        let (path, values) = spec.split_once('=').ok_or_else(syntax)?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(syntax());
        }
        let values: Vec<Value> = values
            .split(',')
            .map(str::trim)
            .map(|v| {
                if v.is_empty() {
                    return Err(syntax());
                }
                Ok(v.parse::<Value>()
                    .ok()
                    .or_else(|| {
                        toml::from_str::<toml::Table>(&format!("v = {v}"))
                            .ok()?
                            .remove("v")
                    })
                    .unwrap_or_else(|| Value::String(v.to_string())))
            })
            .collect::<Result<_, _>>()?;
        Ok(Vary {
            path: path.to_string(),
            values,
        })
    }
}

/// Every combination of the variations' values, the first variation varying slowest.
pub fn combinations(varies: &[Vary]) -> Vec<Vec<(String, Value)>> {
    let mut out: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for v in varies {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                v.values.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push((v.path.clone(), value.clone()));
                    next
                })
            })
            .collect();
    }
    out
}

/// `base` with each `(path, value)` set, checked as a scenario file is.
pub fn with_values(
    base: &Scenario,
    assignments: &[(String, Value)],
) -> Result<Scenario, VaryError> {
    let invalid = |path: &str, value: &Value, reason: String| VaryError::Invalid {
        path: path.to_string(),
        value: value.to_string(),
        reason,
    };
    let mut doc = Value::try_from(base).map_err(|e| VaryError::Invalid {
        path: String::new(),
        value: String::new(),
        reason: e.to_string(),
    })?;
    for (path, value) in assignments {
        let slot = field(&mut doc, path)?;
        *slot = value.clone();
    }
    let text = toml::to_string(&doc).map_err(|e| VaryError::Invalid {
        path: String::new(),
        value: String::new(),
        reason: e.to_string(),
    })?;
    Scenario::parse(&text, &base.name).map_err(|e| {
        let (path, value) = assignments
            .last()
            .map(|(p, v)| (p.as_str(), v.clone()))
            .unwrap_or(("", Value::Boolean(false)));
        invalid(path, &value, reason_of(&e.to_string()))
    })
}

/// The reason in a scenario error's first line, without its `file:line:column: ` (a place in
/// the regenerated text, not in the user's file).
fn reason_of(error: &str) -> String {
    let line = error.lines().next().unwrap_or("");
    let mut parts = line.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(l), Some(c), Some(rest))
            if l.trim().parse::<u32>().is_ok() && c.trim().parse::<u32>().is_ok() =>
        {
            rest.trim().to_string()
        }
        _ => line.to_string(),
    }
}

/// The value a path names, resolved from the root or, failing that, inside the one top-level
/// table that holds it.
fn field<'a>(doc: &'a mut Value, path: &str) -> Result<&'a mut Value, VaryError> {
    let keys: Vec<&str> = path.split('.').collect();
    if resolve(doc, &keys).is_some() {
        return resolve_mut(doc, &keys).ok_or_else(|| VaryError::NoField {
            path: path.to_string(),
            hint: String::new(),
        });
    }
    let tables: Vec<String> = doc
        .as_table()
        .map(|t| {
            t.iter()
                .filter(|(_, v)| v.is_table())
                .filter(|(_, v)| resolve(v, &keys).is_some())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    match tables.as_slice() {
        [one] => {
            let one = one.clone();
            let table = doc.get_mut(&one).ok_or_else(|| VaryError::NoField {
                path: path.to_string(),
                hint: String::new(),
            })?;
            resolve_mut(table, &keys).ok_or_else(|| VaryError::NoField {
                path: path.to_string(),
                hint: String::new(),
            })
        }
        [] => Err(no_field(path, doc)),
        many => Err(VaryError::Ambiguous {
            path: path.to_string(),
            tables: many.join(", "),
        }),
    }
}

fn no_field(path: &str, doc: &Value) -> VaryError {
    let mut fields = Vec::new();
    leaves(doc, String::new(), &mut fields);
    VaryError::NoField {
        path: path.to_string(),
        hint: format!("; fields: {}", fields.join(", ")),
    }
}

/// Every leaf's path, tiers by name.
fn leaves(v: &Value, prefix: String, out: &mut Vec<String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Table(t) => {
            for (k, child) in t {
                leaves(child, join(k), out);
            }
        }
        Value::Array(items) if items.iter().all(Value::is_table) => {
            for item in items {
                let name = item.get("name").and_then(Value::as_str).unwrap_or("?");
                leaves(item, join(name), out);
            }
        }
        _ => out.push(prefix),
    }
}

/// The element of an array of tables whose `name` is `key`.
fn named(items: &[Value], key: &str) -> Option<usize> {
    items
        .iter()
        .position(|i| i.get("name").and_then(Value::as_str) == Some(key))
}

fn resolve<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let Some((first, rest)) = keys.split_first() else {
        return Some(v);
    };
    let next = match v {
        Value::Table(t) => t.get(*first)?,
        Value::Array(items) => &items[named(items, first)?],
        _ => return None,
    };
    // A leaf must be a value, not a table: a whole table is not varied.
    if rest.is_empty() && (next.is_table() || next.is_array()) {
        return None;
    }
    resolve(next, rest)
}

fn resolve_mut<'a>(v: &'a mut Value, keys: &[&str]) -> Option<&'a mut Value> {
    let Some((first, rest)) = keys.split_first() else {
        return Some(v);
    };
    let next = match v {
        Value::Table(t) => t.get_mut(*first)?,
        Value::Array(items) => {
            let i = named(items, first)?;
            &mut items[i]
        }
        _ => return None,
    };
    resolve_mut(next, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        Scenario::parse(
            "name = \"t\"\n[cluster]\ngpus = 64\ngpus_per_node = 8\n\
             [intra_node]\nbandwidth_gb_per_s = 450\nlatency_us = 0.5\n\
             [network]\nnic_gbit_per_s = 400\nlatency_us = 2\n\
             [[network.tiers]]\nname = \"rack\"\ngpus = 16\noversubscription = 1.0\nhop_latency_us = 1\n\
             [[network.tiers]]\nname = \"cluster\"\ngpus = 64\noversubscription = 2.0\nhop_latency_us = 1\n",
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn values_parse_as_toml_and_combine_first_slowest() {
        let a = Vary::parse("nic_gbit_per_s=200,400").unwrap();
        assert_eq!(a.values, vec![Value::Integer(200), Value::Integer(400)]);
        let b = Vary::parse("tiers.cluster.oversubscription = 1.0, 7").unwrap();
        assert_eq!(b.values, vec![Value::Float(1.0), Value::Integer(7)]);
        let c = combinations(&[a, b]);
        assert_eq!(c.len(), 4);
        assert_eq!(c[1][0].1, Value::Integer(200));
        assert_eq!(c[1][1].1, Value::Integer(7));
        for bad in ["nic", "=1", "a..b=1", "a=1,,2"] {
            assert!(
                matches!(Vary::parse(bad), Err(VaryError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_field_is_set_by_full_path_by_short_path_and_a_tier_by_name() {
        let s = base();
        let v = |p: &str, x: Value| with_values(&s, &[(p.to_string(), x)]);
        assert_eq!(
            v("network.nic_gbit_per_s", Value::Integer(800))
                .unwrap()
                .network
                .nic_gbit_per_s,
            800.0
        );
        assert_eq!(
            v("nic_gbit_per_s", Value::Float(200.0))
                .unwrap()
                .network
                .nic_gbit_per_s,
            200.0
        );
        let t = v("tiers.cluster.oversubscription", Value::Integer(7)).unwrap();
        assert_eq!(t.network.tiers[1].oversubscription, 7.0);
        assert_eq!(t.network.tiers[0].oversubscription, 1.0);
        assert_eq!(
            v("intra_node.bandwidth_gb_per_s", Value::Integer(900))
                .unwrap()
                .intra_node
                .unwrap()
                .bandwidth_gb_per_s,
            900.0
        );
        // Unique in no table, in two, or not a value: refused with the fields there are.
        match v("nic_gbit", Value::Integer(1)) {
            Err(VaryError::NoField { hint, .. }) => {
                assert!(hint.contains("network.nic_gbit_per_s"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            v("latency_us", Value::Integer(1)),
            Err(VaryError::Ambiguous { .. })
        ));
        assert!(matches!(
            v("network", Value::Integer(1)),
            Err(VaryError::NoField { .. })
        ));
        // A value the scenario's checks refuse is refused with its reason.
        match v("nic_gbit_per_s", Value::Integer(-5)) {
            Err(VaryError::Invalid { path, reason, .. }) => {
                assert_eq!(path, "nic_gbit_per_s");
                assert!(reason.starts_with("network.nic_gbit_per_s"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // The base is left as it was.
        assert_eq!(s, base());
    }
}
