//! kustomize's content hash for generated ConfigMaps and Secrets: a JSON
//! encoding with sorted keys and Go's string escaping, SHA-256, and the first
//! ten hex digits with a few letters swapped so the suffix is never a number.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Write a value as Go's `encoding/json` would (map keys sorted).
pub fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => flotilla_model::gojson::write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                flotilla_model::gojson::write_string(k, out);
                out.push(':');
                go_json(&m[*k], out);
            }
            out.push('}');
        }
    }
}

/// The text of a scalar as it would appear in YAML (strings unquoted).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn encode(hex: &str) -> String {
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

fn hex256(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn field_or_empty(obj: &Value, key: &str) -> Value {
    match obj.get(key) {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(v) => v.clone(),
    }
}

/// The hash suffix kustomize appends to a generated object's name.
pub fn hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    // kustomize looks the name up with the single key "metadata/name",
    // which never exists: the name is always hashed as "".
    let name = Value::String(String::new());
    let mut m = Map::new();
    let encoded = match kind {
        "ConfigMap" => {
            m.insert("kind".into(), Value::String("ConfigMap".into()));
            m.insert("name".into(), name);
            m.insert("data".into(), field_or_empty(obj, "data"));
            if let Some(b @ Value::Object(_)) = obj.get("binaryData") {
                m.insert("binaryData".into(), b.clone());
            }
            Value::Object(m)
        }
        "Secret" => {
            m.insert("kind".into(), Value::String("Secret".into()));
            m.insert("type".into(), field_or_empty(obj, "type"));
            m.insert("name".into(), name);
            m.insert("data".into(), field_or_empty(obj, "data"));
            if let Some(s @ Value::Object(_)) = obj.get("stringData") {
                m.insert("stringData".into(), s.clone());
            }
            Value::Object(m)
        }
        _ => obj.clone(),
    };
    let mut text = String::new();
    go_json(&encoded, &mut text);
    encode(&hex256(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configmap_hash_matches_kustomize() {
        // Values from kustomize's own hasher tests.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert_eq!(hash(&cm), "6ct58987ht");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": ""},
            "data": {"one": ""}});
        assert_eq!(hash(&cm), "9g67k2htb6");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"two": 2, "one": "", "three": 3}});
        assert_eq!(hash(&cm), "7757f9kkct");
    }

    #[test]
    fn go_escaping() {
        let mut s = String::new();
        go_json(&json!({"b": "<&>", "a": "\u{1}"}), &mut s);
        assert_eq!(s, r#"{"a":"\u0001","b":"\u003c\u0026\u003e"}"#);
    }
}
