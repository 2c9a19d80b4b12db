//! Turning objects into the text a person reads in a plan: noise stripped,
//! Secret values masked, only changed fields kept, as a unified YAML diff.

use serde_json::{Map, Value};

pub const MASK: &str = "***";
pub const MASK_CHANGED: &str = "*** (changed)";

/// Remove what the server maintains and nobody writes: status, managed
/// fields, uid, resourceVersion, timestamps, generation.
pub fn strip_server_fields(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(k);
        }
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            // May hold a full copy of the object (and so of a Secret).
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    obj
}

fn is_secret(obj: &Value) -> bool {
    obj["kind"].as_str() == Some("Secret") && obj["apiVersion"].as_str() == Some("v1")
}

/// Mask the values of a Secret (before, after), marking values that differ,
/// so a diff shows *which* keys change and never what they hold.
pub fn mask_secrets(before: Option<&mut Value>, after: Option<&mut Value>) {
    let secret =
        before.as_deref().is_some_and(is_secret) || after.as_deref().is_some_and(is_secret);
    if !secret {
        return;
    }
    let plain = |obj: &Option<&mut Value>, field: &str, key: &str| -> Option<Vec<u8>> {
        let v = obj.as_deref()?.get(field)?.get(key)?.as_str()?;
        Some(v.as_bytes().to_vec())
    };
    let mut before = before;
    let mut after = after;
    for field in ["data", "stringData"] {
        let keys: Vec<String> = [&before, &after]
            .iter()
            .filter_map(|o| o.as_deref()?.get(field)?.as_object())
            .flat_map(|m| m.keys().cloned())
            .collect();
        for key in keys {
            let changed = plain(&before, field, &key) != plain(&after, field, &key);
            for (side, mask) in [
                (&mut before, MASK),
                (&mut after, if changed { MASK_CHANGED } else { MASK }),
            ] {
                if let Some(slot) = side
                    .as_deref_mut()
                    .and_then(|o| o.get_mut(field))
                    .and_then(|m| m.get_mut(&key))
                {
                    *slot = Value::String(mask.to_owned());
                }
            }
        }
    }
    // `get_mut`, not indexing: `obj["metadata"]["annotations"]` on a Secret
    // without annotations would insert `annotations: null` into the plan.
    for obj in [before, after].into_iter().flatten() {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            && let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut)
        {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
}

/// Keep only what differs between `before` and `after` (recursively for
/// maps; list items compared by position, each kept whole when it differs,
/// whole lists when their lengths differ). Returns reduced (before, after).
pub fn changed_only(before: &Value, after: &Value) -> (Value, Value) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut rb = Map::new();
            let mut ra = Map::new();
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) if av == bv => {}
                    Some(av) => {
                        let (x, y) = changed_only(bv, av);
                        rb.insert(k.clone(), x);
                        ra.insert(k.clone(), y);
                    }
                    None => {
                        rb.insert(k.clone(), bv.clone());
                    }
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    ra.insert(k.clone(), av.clone());
                }
            }
            // Keep an item's `name` so a reduced list item stays recognisable.
            for key in ["name"] {
                if let (Some(bn), Some(an)) = (b.get(key), a.get(key))
                    && bn == an
                    && (!rb.is_empty() || !ra.is_empty())
                {
                    rb.insert(key.into(), bn.clone());
                    ra.insert(key.into(), an.clone());
                }
            }
            (Value::Object(rb), Value::Object(ra))
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
            let mut rb = Vec::new();
            let mut ra = Vec::new();
            for (bv, av) in b.iter().zip(a) {
                if bv != av {
                    let (x, y) = changed_only(bv, av);
                    rb.push(x);
                    ra.push(y);
                }
            }
            (Value::Array(rb), Value::Array(ra))
        }
        _ => (before.clone(), after.clone()),
    }
}

/// The YAML text of an object for display.
pub fn to_yaml(obj: &Value) -> String {
    flotilla_model::yaml::emit(obj)
}

/// A unified diff from live to desired state (headers `live` and `desired`).
pub fn unified_diff(before: &str, after: &str, context: usize) -> String {
    unified_diff_labeled(before, after, ("live", "desired"), context)
}

/// A unified diff between two texts, with `labels` as the file headers.
pub fn unified_diff_labeled(
    before: &str,
    after: &str,
    labels: (&str, &str),
    context: usize,
) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(context)
        .header(labels.0, labels.1)
        .to_string()
}

/// The diff of an update: only changed fields, Secrets masked.
pub fn update_diff(live: &Value, desired_result: &Value) -> String {
    let mut before = strip_server_fields(live);
    let mut after = strip_server_fields(desired_result);
    mask_secrets(Some(&mut before), Some(&mut after));
    let (b, a) = changed_only(&before, &after);
    unified_diff(&to_yaml(&b), &to_yaml(&a), 3)
}

/// The body of a create, Secrets masked, for display.
pub fn create_text(desired: &Value) -> String {
    let mut after = strip_server_fields(desired);
    mask_secrets(None, Some(&mut after));
    to_yaml(&after)
}

/// Colour a unified diff for a terminal.
pub fn colourise(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.lines() {
        let colour = if line.starts_with("+++") || line.starts_with("---") {
            "\x1b[1m"
        } else if line.starts_with('+') {
            "\x1b[32m"
        } else if line.starts_with('-') {
            "\x1b[31m"
        } else if line.starts_with("@@") {
            "\x1b[36m"
        } else {
            ""
        };
        if colour.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(colour);
            out.push_str(line);
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn update_diff_shows_only_changed_fields() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "uid": "u1", "resourceVersion": "7", "managedFields": []},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1", "args": ["x"]},
                {"name": "side", "image": "busybox"}]}}},
            "status": {"readyReplicas": 1}});
        let mut desired = live.clone();
        desired["spec"]["replicas"] = json!(3);
        desired["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        let d = update_diff(&live, &desired);
        assert!(d.contains("-  replicas: 1"), "{d}");
        assert!(d.contains("+  replicas: 3"), "{d}");
        assert!(d.contains("nginx:2") && d.contains("nginx:1"), "{d}");
        assert!(
            d.contains("name: web"),
            "changed list item keeps its name: {d}"
        );
        assert!(!d.contains("busybox"), "unchanged item dropped: {d}");
        assert!(!d.contains("args"), "unchanged field dropped: {d}");
        assert!(
            !d.contains("resourceVersion") && !d.contains("readyReplicas"),
            "{d}"
        );
    }

    #[test]
    fn secret_values_never_show() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}});
        let mut desired = live.clone();
        desired["data"]["password"] = json!("c2VjcmV0Mw==");
        desired["stringData"] = json!({"token": "plain-token-value"});
        let d = update_diff(&live, &desired);
        assert!(
            !d.contains("aHVudGVyMg")
                && !d.contains("c2VjcmV0Mw")
                && !d.contains("plain-token-value"),
            "{d}"
        );
        assert!(!d.contains("YWRtaW4"), "{d}");
        assert!(
            d.contains("password: '*** (changed)'") || d.contains("password: \"*** (changed)\""),
            "{d}"
        );
        assert!(!d.contains("user"), "unchanged key not shown: {d}");
        let c = create_text(&desired);
        assert!(
            !c.contains("c2VjcmV0Mw") && !c.contains("plain-token-value") && !c.contains("YWRtaW4"),
            "{c}"
        );
        assert!(c.contains("token"), "{c}");
    }

    #[test]
    fn secret_create_without_annotations_shows_no_null_annotations() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "ns"},
            "type": "Opaque", "data": {"password": "aHVudGVyMg=="}});
        let c = create_text(&secret);
        assert!(!c.contains("annotations"), "{c}");
        assert!(!c.contains("null"), "{c}");
        assert!(!c.contains("aHVudGVyMg"), "{c}");
        assert!(c.contains("name: s") && c.contains("password"), "{c}");

        let mut before = secret.clone();
        let mut after = secret.clone();
        mask_secrets(Some(&mut before), Some(&mut after));
        assert!(before["metadata"].get("annotations").is_none(), "{before}");
        assert!(after["metadata"].get("annotations").is_none(), "{after}");

        // Emptied by removing last-applied: dropped rather than shown as `{}`.
        let only_last_applied = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "data": {"k": "dg=="}});
        let mut masked = only_last_applied.clone();
        mask_secrets(None, Some(&mut masked));
        assert!(masked["metadata"].get("annotations").is_none(), "{masked}");
    }

    #[test]
    fn colour_only_marks_diff_lines() {
        let c = colourise("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n");
        assert!(c.contains("\x1b[31m-x") && c.contains("\x1b[32m+y") && c.contains("\n z\n"));
    }
}
