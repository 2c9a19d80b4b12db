//! Field access on untyped objects, with the semantics of apimachinery's
//! `unstructured` helpers that kstatus relies on.
//!
//! Two families exist there and they differ on type mismatches, so both are
//! mirrored:
//! - `get_*_or` (kstatus `Get*Field`): anything missing or of the wrong type
//!   yields the default;
//! - `nested_*` (`unstructured.Nested*`): missing is `Ok(None)`, a value of
//!   the wrong type is an error (which kstatus turns into a failed compute).

use serde_json::Value;

/// Walks `path` like `NestedFieldNoCopy`: a missing key or a `null` on the way
/// is "not found"; a non-object on the way is an error. The leaf may be `null`.
pub(crate) fn lookup<'a>(obj: &'a Value, path: &[&str]) -> Result<Option<&'a Value>, String> {
    let mut current = obj;
    for (depth, field) in path.iter().enumerate() {
        match current {
            Value::Null => return Ok(None),
            Value::Object(map) => match map.get(*field) {
                Some(next) => current = next,
                None => return Ok(None),
            },
            other if depth == 0 => {
                return Err(format!(
                    "the object is a {}, expected an object",
                    json_type(other)
                ));
            }
            other => {
                return Err(format!(
                    ".{} is a {}, expected an object",
                    path[..depth].join("."),
                    json_type(other)
                ));
            }
        }
    }
    Ok(Some(current))
}

/// kstatus `GetIntField`: only integral JSON numbers that fit `i64` count.
pub(crate) fn get_int_or(obj: &Value, path: &[&str], default: i64) -> i64 {
    match lookup(obj, path) {
        Ok(Some(v)) => v.as_i64().unwrap_or(default),
        _ => default,
    }
}

/// kstatus `GetStringField`.
pub(crate) fn get_str_or<'a>(obj: &'a Value, path: &[&str], default: &'a str) -> &'a str {
    match lookup(obj, path) {
        Ok(Some(Value::String(s))) => s,
        _ => default,
    }
}

/// kstatus `GetBoolField`.
pub(crate) fn get_bool_or(obj: &Value, path: &[&str], default: bool) -> bool {
    match lookup(obj, path) {
        Ok(Some(Value::Bool(b))) => *b,
        _ => default,
    }
}

/// `unstructured.NestedInt64`.
pub(crate) fn nested_i64(obj: &Value, path: &[&str]) -> Result<Option<i64>, String> {
    match lookup(obj, path)? {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            format!(
                ".{} is a {}, expected an integer",
                path.join("."),
                json_type(v)
            )
        }),
    }
}

/// `unstructured.NestedString`.
pub(crate) fn nested_str<'a>(obj: &'a Value, path: &[&str]) -> Result<Option<&'a str>, String> {
    match lookup(obj, path)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!(
            ".{} is a {}, expected a string",
            path.join("."),
            json_type(v)
        )),
    }
}

/// The JSON type of a value, for error messages (never the value itself:
/// it could be a secret).
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "floating-point number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A status condition as kstatus reads it (`BasicCondition`). Borrowed:
/// computing health allocates nothing for the conditions it only inspects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawCondition<'a> {
    pub type_: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// The `.status.conditions` of an object, validated the way kstatus'
/// `GetObjectWithConditions` (a `FromUnstructured` conversion) validates them:
/// `null` anywhere reads as absent or empty, any other type mismatch is an
/// error. Unknown fields are ignored.
pub(crate) fn conditions(obj: &Value) -> Result<Vec<RawCondition<'_>>, String> {
    let status = match obj.get("status") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(status)) => status,
        Some(other) => {
            return Err(format!(
                ".status is a {}, expected an object",
                json_type(other)
            ));
        }
    };
    let list = match status.get("conditions") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(format!(
                ".status.conditions is a {}, expected a list",
                json_type(other)
            ));
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let cond = match item {
            Value::Null => {
                out.push(RawCondition::default());
                continue;
            }
            Value::Object(cond) => cond,
            other => {
                return Err(format!(
                    ".status.conditions[{index}] is a {}, expected an object",
                    json_type(other)
                ));
            }
        };
        let field = |name: &str| -> Result<&str, String> {
            match cond.get(name) {
                None | Some(Value::Null) => Ok(""),
                Some(Value::String(s)) => Ok(s),
                Some(other) => Err(format!(
                    ".status.conditions[{index}].{name} is a {}, expected a string",
                    json_type(other)
                )),
            }
        };
        out.push(RawCondition {
            type_: field("type")?,
            status: field("status")?,
            reason: field("reason")?,
            message: field("message")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_follows_nested_field_no_copy() {
        let obj = json!({"a": {"b": 1, "n": null}, "s": "x", "z": null});
        assert_eq!(lookup(&obj, &["a", "b"]), Ok(Some(&json!(1))));
        assert_eq!(lookup(&obj, &["a", "c"]), Ok(None));
        assert_eq!(lookup(&obj, &["z", "c"]), Ok(None));
        assert_eq!(lookup(&obj, &["a", "n"]), Ok(Some(&Value::Null)));
        assert!(lookup(&obj, &["s", "c"]).is_err());
    }

    #[test]
    fn get_fields_default_on_mismatch() {
        let obj = json!({"spec": {"replicas": "3", "f": 1.5, "i": 4, "b": true}});
        assert_eq!(get_int_or(&obj, &["spec", "replicas"], 1), 1);
        assert_eq!(get_int_or(&obj, &["spec", "f"], 7), 7);
        assert_eq!(get_int_or(&obj, &["spec", "i"], 7), 4);
        assert_eq!(get_str_or(&obj, &["spec", "i"], "d"), "d");
        assert!(get_bool_or(&obj, &["spec", "b"], false));
        assert!(get_bool_or(&obj, &["spec", "missing"], true));
    }

    #[test]
    fn nested_fields_error_on_mismatch() {
        let obj = json!({"metadata": {"generation": "2", "ok": 3}});
        assert!(nested_i64(&obj, &["metadata", "generation"]).is_err());
        assert_eq!(nested_i64(&obj, &["metadata", "ok"]), Ok(Some(3)));
        assert_eq!(nested_i64(&obj, &["metadata", "nope"]), Ok(None));
        assert!(nested_str(&obj, &["metadata", "ok"]).is_err());
    }

    #[test]
    fn conditions_validate_like_from_unstructured() {
        let ok = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "x"},
            null,
            {"type": "A", "reason": null}
        ]}});
        let conds = conditions(&ok).unwrap();
        assert_eq!(conds.len(), 3);
        assert_eq!(conds[0].type_, "Ready");
        assert_eq!(conds[0].status, "True");
        assert_eq!(conds[1], RawCondition::default());
        assert_eq!(conds[2].reason, "");

        assert!(conditions(&json!({"status": "x"})).is_err());
        assert!(conditions(&json!({"status": {"conditions": {}}})).is_err());
        assert!(conditions(&json!({"status": {"conditions": [{"status": true}]}})).is_err());
        assert!(conditions(&json!({"status": {"conditions": ["Ready"]}})).is_err());
        assert_eq!(conditions(&json!({"status": null})).unwrap(), vec![]);
        assert_eq!(conditions(&json!({})).unwrap(), vec![]);
    }
}
