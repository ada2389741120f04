//! A small YAML writer for JSON values: block mappings and sequences, scalars in JSON's
//! syntax (every JSON scalar is a YAML flow scalar), multi-line text as a literal block. Enough
//! for Kubernetes manifests, with no YAML library to trust.

use serde_json::Value;

/// `value` as a YAML document (without the `---` line).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => mapping(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => sequence(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// Text that reads back the same from a literal block (`|`): lines without edge whitespace or
/// control characters, ending in exactly one newline.
fn literal_ok(s: &str) -> bool {
    s.ends_with('\n')
        && !s.ends_with("\n\n")
        && s.lines().all(|l| {
            !l.is_empty()
                && l.trim() == l
                && !l.chars().any(|c| c.is_control())
                && !l.starts_with('#')
        })
}

fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::String(s) if s.contains('\n') && literal_ok(s) => {
            let mut out = "|".to_string();
            for line in s.lines() {
                out.push('\n');
                pad(&mut out, indent + 2);
                out.push_str(line);
            }
            out
        }
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn mapping(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first key of a sequence item follows its "- " on the same line.
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&key(k));
        out.push(':');
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                pad(out, indent + 2);
                mapping(out, inner, indent + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                pad(out, indent);
                sequence(out, items, indent);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other, indent));
                out.push('\n');
            }
        }
    }
}

fn sequence(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if is_block(item) => mapping(out, m, indent + 2),
            Value::Array(a) if is_block(item) => sequence(out, a, indent + 2),
            other => {
                out.push_str(&scalar(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_documents_look_like_hand_written_yaml() {
        let v = json!({
            "apiVersion": "v1",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "collbench"}},
            "spec": {
                "ports": [{"name": "control", "port": 29400}],
                "args": ["node", "--rank", "$(X)"],
                "empty": {},
                "none": [],
                "flag": true
            },
            "data": {"rank-0.env": "A=1\nB=2\n", "odd": " x\n"}
        });
        // serde_json's maps keep keys sorted.
        let want = r#"apiVersion: "v1"
data:
  odd: " x\n"
  rank-0.env: |
    A=1
    B=2
metadata:
  labels:
    app.kubernetes.io/name: "collbench"
  name: "x"
spec:
  args:
  - "node"
  - "--rank"
  - "$(X)"
  empty: {}
  flag: true
  none: []
  ports:
  - name: "control"
    port: 29400
"#;
        assert_eq!(to_yaml(&v), want);
    }

    #[test]
    fn sequences_of_sequences_and_odd_keys() {
        let v = json!({"a": [[1, 2], {"k": [3]}], "0bad key": 1});
        assert_eq!(
            to_yaml(&v),
            "\"0bad key\": 1\na:\n- - 1\n  - 2\n- k:\n  - 3\n"
        );
    }
}
