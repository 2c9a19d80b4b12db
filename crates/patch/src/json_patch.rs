//! JSON Patch (RFC 6902), as kustomize applies it (evanphx/json-patch v4):
//! beyond the RFC, array indices may be negative (counted from the end) or
//! zero-padded, `~` not followed by 0 or 1 is taken literally, a missing
//! `value` is `null`, and a `test` of `null` passes on a missing member.

use serde_json::Value;

use crate::PatchError;

/// Apply an RFC 6902 operations array to a copy of `doc`.
pub fn json_patch(doc: &Value, ops: &Value) -> Result<Value, PatchError> {
    let ops = ops.as_array().ok_or_else(|| PatchError::JsonPatch {
        index: 0,
        op: String::new(),
        pointer: String::new(),
        message: "the patch is not a list of operations".into(),
    })?;
    let mut doc = doc.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_op(&mut doc, op).map_err(|(pointer, message)| PatchError::JsonPatch {
            index,
            op: op
                .get("op")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            pointer,
            message,
        })?;
    }
    Ok(doc)
}

type OpError = (String, String);

fn str_field<'a>(op: &'a Value, name: &str) -> Result<&'a str, OpError> {
    op.get(name).and_then(Value::as_str).ok_or_else(|| {
        (
            String::new(),
            format!("the operation has no string `{name}`"),
        )
    })
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), OpError> {
    if !op.is_object() {
        return Err((String::new(), "the operation is not an object".into()));
    }
    let kind = str_field(op, "op")?;
    let path = str_field(op, "path")?;
    let at = |message: &str| (path.to_string(), message.to_string());
    let tokens = parse_pointer(path).map_err(|m| at(&m))?;
    let value = || op.get("value").cloned().unwrap_or(Value::Null);
    match kind {
        "add" => add(doc, &tokens, value()).map_err(|m| at(&m)),
        "remove" => remove(doc, &tokens).map(drop).map_err(|m| at(&m)),
        "replace" => {
            let v = value();
            if tokens.is_empty() {
                if !(v.is_object() || v.is_array()) {
                    return Err(at(
                        "the whole document can only be replaced by an object or array",
                    ));
                }
                *doc = v;
                return Ok(());
            }
            let target = get_mut(doc, &tokens).ok_or_else(|| at("the path does not exist"))?;
            *target = v;
            Ok(())
        }
        "move" | "copy" => {
            let from = str_field(op, "from")?;
            let from_tokens = parse_pointer(from).map_err(|m| (from.to_string(), m))?;
            let v = if kind == "move" {
                remove(doc, &from_tokens).map_err(|m| (from.to_string(), format!("`from`: {m}")))?
            } else {
                get(doc, &from_tokens)
                    .cloned()
                    .ok_or_else(|| (from.to_string(), "the `from` path does not exist".into()))?
            };
            add(doc, &tokens, v).map_err(|m| at(&m))
        }
        "test" => {
            let want = op.get("value").unwrap_or(&Value::Null);
            let have = if tokens.is_empty() {
                Some(&*doc)
            } else {
                let (last, parent) = tokens
                    .split_last()
                    .ok_or_else(|| at("the path does not exist"))?;
                match get(doc, parent) {
                    Some(Value::Object(m)) => m.get(last),
                    Some(Value::Array(a)) => Some(
                        existing_index(last, a.len())
                            .ok()
                            .and_then(|i| a.get(i))
                            .ok_or_else(|| at("the path does not exist"))?,
                    ),
                    _ => return Err(at("the path does not exist")),
                }
            };
            match have {
                Some(have) if json_equal(have, want) => Ok(()),
                // evanphx: a missing member tests equal to null
                None if want.is_null() => Ok(()),
                _ => Err(at("test failed: the value differs")),
            }
        }
        other => Err(at(&format!("unknown operation {other:?}"))),
    }
}

/// Split a JSON pointer into reference tokens, decoding `~1` then `~0`.
fn parse_pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err("a JSON pointer must be empty or start with '/'".into());
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Go's `strconv.Atoi`: optional sign, decimal digits.
fn parse_index(token: &str) -> Result<i64, String> {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid array index {token:?}"));
    }
    token
        .parse()
        .map_err(|_| format!("invalid array index {token:?}"))
}

/// The index of an existing element; negative counts from the end.
fn existing_index(token: &str, len: usize) -> Result<usize, String> {
    if token == "-" {
        return Err("'-' names no existing element".into());
    }
    let i = parse_index(token)?;
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let resolved = if i < 0 { i + n } else { i };
    if resolved < 0 || resolved >= n {
        return Err(format!("array index {i} is out of bounds (length {len})"));
    }
    usize::try_from(resolved)
        .map_err(|_| format!("array index {i} is out of bounds (length {len})"))
}

/// Where `add` inserts: `-` appends; negative counts from the new end.
fn insert_index(token: &str, len: usize) -> Result<usize, String> {
    if token == "-" {
        return Ok(len);
    }
    let i = parse_index(token)?;
    let n = i64::try_from(len).unwrap_or(i64::MAX).saturating_add(1);
    let resolved = if i < 0 { i + n } else { i };
    if resolved < 0 || resolved >= n {
        return Err(format!("array index {i} is out of bounds (length {len})"));
    }
    usize::try_from(resolved)
        .map_err(|_| format!("array index {i} is out of bounds (length {len})"))
}

fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |cur, t| match cur {
        Value::Object(m) => m.get(t),
        Value::Array(a) => a.get(existing_index(t, a.len()).ok()?),
        _ => None,
    })
}

fn get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(doc, |cur, t| match cur {
        Value::Object(m) => m.get_mut(t),
        Value::Array(a) => {
            let i = existing_index(t, a.len()).ok()?;
            a.get_mut(i)
        }
        _ => None,
    })
}

fn add(doc: &mut Value, tokens: &[String], v: Value) -> Result<(), String> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        return Err("cannot add at the document root (use replace)".into());
    };
    let parent = get_mut(doc, parent_tokens).ok_or("the parent of the path does not exist")?;
    match parent {
        Value::Object(m) => {
            m.insert(last.clone(), v);
            Ok(())
        }
        Value::Array(a) => {
            let i = insert_index(last, a.len())?;
            a.insert(i, v);
            Ok(())
        }
        _ => Err("the parent of the path is not an object or array".into()),
    }
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value, String> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    let parent = get_mut(doc, parent_tokens).ok_or("the path does not exist")?;
    match parent {
        Value::Object(m) => m
            .shift_remove(last)
            .ok_or_else(|| "the path does not exist".into()),
        Value::Array(a) => {
            let i = existing_index(last, a.len())?;
            Ok(a.remove(i))
        }
        _ => Err("the path does not exist".into()),
    }
}

/// JSON equality with numbers compared by value (1 == 1.0).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(doc: Value, ops: Value) -> Value {
        json_patch(&doc, &ops).unwrap()
    }

    fn err(doc: Value, ops: Value) -> String {
        json_patch(&doc, &ops).unwrap_err().to_string()
    }

    // RFC 6902 appendix A.
    #[test]
    fn rfc6902_appendix_a() {
        // A.1 add an object member
        assert_eq!(
            ok(
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz", "value": "qux"}])
            ),
            json!({"baz": "qux", "foo": "bar"})
        );
        // A.2 add an array element
        assert_eq!(
            ok(
                json!({"foo": ["bar", "baz"]}),
                json!([{"op": "add", "path": "/foo/1", "value": "qux"}])
            ),
            json!({"foo": ["bar", "qux", "baz"]})
        );
        // A.3 remove an object member
        assert_eq!(
            ok(
                json!({"baz": "qux", "foo": "bar"}),
                json!([{"op": "remove", "path": "/baz"}])
            ),
            json!({"foo": "bar"})
        );
        // A.4 remove an array element
        assert_eq!(
            ok(
                json!({"foo": ["bar", "qux", "baz"]}),
                json!([{"op": "remove", "path": "/foo/1"}])
            ),
            json!({"foo": ["bar", "baz"]})
        );
        // A.5 replace a value
        assert_eq!(
            ok(
                json!({"baz": "qux", "foo": "bar"}),
                json!([{"op": "replace", "path": "/baz", "value": "boo"}])
            ),
            json!({"baz": "boo", "foo": "bar"})
        );
        // A.6 move a value
        assert_eq!(
            ok(
                json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
                json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}])
            ),
            json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}})
        );
        // A.7 move an array element
        assert_eq!(
            ok(
                json!({"foo": ["all", "grass", "cows", "eat"]}),
                json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}])
            ),
            json!({"foo": ["all", "cows", "eat", "grass"]})
        );
        // A.8 test a value: success
        let doc = json!({"baz": "qux", "foo": ["a", 2, "c"]});
        assert_eq!(
            ok(
                doc.clone(),
                json!([{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}])
            ),
            doc
        );
        // A.9 test a value: error
        let e = err(
            json!({"baz": "qux"}),
            json!([{"op": "test", "path": "/baz", "value": "bar"}]),
        );
        assert!(e.contains("test failed") && e.contains("/baz"), "{e}");
        assert!(
            !e.contains("qux") && !e.contains("bar\""),
            "values leak into: {e}"
        );
        // A.10 add a nested member object
        assert_eq!(
            ok(
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}])
            ),
            json!({"foo": "bar", "child": {"grandchild": {}}})
        );
        // A.11 ignore unrecognized elements
        assert_eq!(
            ok(
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}])
            ),
            json!({"foo": "bar", "baz": "qux"})
        );
        // A.12 add to a nonexistent target
        let e = err(
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
        );
        assert!(e.contains("parent") && e.contains("/baz/bat"), "{e}");
        // A.14 ~ escape ordering
        assert_eq!(
            ok(
                json!({"/": 9, "~1": 10}),
                json!([{"op": "test", "path": "/~01", "value": 10}])
            ),
            json!({"/": 9, "~1": 10})
        );
        // A.15 comparing strings and numbers
        let e = err(
            json!({"/": 9, "~1": 10}),
            json!([{"op": "test", "path": "/~01", "value": "10"}]),
        );
        assert!(e.contains("test failed"), "{e}");
        // A.16 adding an array value
        assert_eq!(
            ok(
                json!({"foo": ["bar"]}),
                json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}])
            ),
            json!({"foo": ["bar", ["abc", "def"]]})
        );
    }

    #[test]
    fn escapes_copy_and_root() {
        assert_eq!(
            ok(
                json!({"metadata": {"annotations": {"a/b": "1", "c~d": "2"}}}),
                json!([
                    {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "x"},
                    {"op": "remove", "path": "/metadata/annotations/c~0d"},
                    {"op": "copy", "from": "/metadata/annotations/a~1b", "path": "/copied"}
                ])
            ),
            json!({"metadata": {"annotations": {"a/b": "x"}}, "copied": "x"})
        );
        assert_eq!(
            ok(
                json!({"a": 1}),
                json!([{"op": "replace", "path": "", "value": [1]}])
            ),
            json!([1])
        );
        // evanphx extensions: negative and zero-padded indices, literal bad
        // escapes, a missing value is null
        assert_eq!(
            ok(
                json!({"a": [1, 2, 3]}),
                json!([
                    {"op": "remove", "path": "/a/-1"},
                    {"op": "add", "path": "/a/-1", "value": 9},
                    {"op": "replace", "path": "/a/00", "value": 0},
                    {"op": "add", "path": "/b~2"}
                ])
            ),
            json!({"a": [0, 2, 9], "b~2": null})
        );
        assert_eq!(
            ok(
                json!({"a": 1.0}),
                json!([{"op": "test", "path": "/a", "value": 1}])
            ),
            json!({"a": 1.0})
        );
        // evanphx: testing null on a missing path passes
        assert_eq!(
            ok(
                json!({}),
                json!([{"op": "test", "path": "/a", "value": null}])
            ),
            json!({})
        );
    }

    #[test]
    fn errors_name_the_operation_and_path() {
        let e = err(json!({"a": 1}), json!([{"op": "remove", "path": "/b"}]));
        assert_eq!(
            e,
            "JSON patch operation 0 (remove \"/b\"): the path does not exist"
        );
        let e = err(
            json!({"a": 1}),
            json!([{"op": "add", "path": "/a", "value": 1}, {"op": "replace", "path": "/x/y", "value": 1}]),
        );
        assert!(
            e.starts_with("JSON patch operation 1 (replace \"/x/y\")"),
            "{e}"
        );
        let e = err(
            json!({"a": 1}),
            json!([{"op": "add", "path": "a", "value": 1}]),
        );
        assert!(e.contains("must be empty or start with '/'"), "{e}");
        let e = err(
            json!({"a": 1}),
            json!([{"op": "add", "path": "", "value": 1}]),
        );
        assert!(e.contains("root"), "{e}");
        let e = err(
            json!({"a": 1}),
            json!([{"op": "replace", "path": "", "value": 1}]),
        );
        assert!(e.contains("object or array"), "{e}");
        let e = err(
            json!({"a": [1]}),
            json!([{"op": "add", "path": "/a/2", "value": 1}]),
        );
        assert!(e.contains("out of bounds"), "{e}");
        let e = err(
            json!({"a": [1]}),
            json!([{"op": "remove", "path": "/a/x1"}]),
        );
        assert!(e.contains("invalid array index"), "{e}");
        let e = err(
            json!({"a": [1]}),
            json!([{"op": "remove", "path": "/a/-2"}]),
        );
        assert!(e.contains("out of bounds"), "{e}");
        let e = err(
            json!({"a": [1]}),
            json!([{"op": "test", "path": "/a/3", "value": null}]),
        );
        assert!(e.contains("does not exist"), "{e}");
        let e = err(json!({"a": [1]}), json!([{"op": "remove", "path": "/a/-"}]));
        assert!(e.contains("'-'"), "{e}");
        let e = err(
            json!({"a": {"b": 1}}),
            json!([{"op": "move", "from": "/a", "path": "/a/b/c"}]),
        );
        assert!(e.contains("parent of the path does not exist"), "{e}");
        let e = err(json!({}), json!([{"op": "frob", "path": "/a"}]));
        assert!(e.contains("unknown operation"), "{e}");
        let e = err(json!({}), json!({"op": "add"}));
        assert!(e.contains("not a list"), "{e}");
        let e = err(
            json!({}),
            json!([{"op": "copy", "from": "/nope", "path": "/a"}]),
        );
        assert!(e.contains("`from`"), "{e}");
    }
}
