//! The cheap no-op check: does the live object already hold every field of
//! the desired object, with equal values, and does flotilla own exactly
//! those fields?
//!
//! Ownership comes from the live object's `managedFields` entry for manager
//! `flotilla` with operation `Apply` (`fieldsV1`). Lists are matched the way
//! server-side apply treats them: associative lists (`k:{...}` keys) item by
//! item, sets (`v:` keys) as sets, everything else atomically. Values are
//! compared after normalisation (numbers by value, resource quantities by
//! value, so `cpu: 0.5` equals `500m`).
//!
//! The answer is one-sided: [`Verdict::Same`] is certain; anything else means
//! "could not prove it", and the caller confirms with one dry-run apply.

use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Applying the desired object would change nothing.
    Same,
    /// It may change something; the reason names the first difference.
    Unsure(String),
}

/// The `fieldsV1` flotilla's apply owns on this live object, if any.
pub fn owned_fields(live: &Value) -> Option<&Value> {
    live["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| {
            e["manager"].as_str() == Some(crate::FIELD_MANAGER)
                && e["operation"].as_str() == Some("Apply")
                && e["subresource"].as_str().unwrap_or("").is_empty()
        })
        .map(|e| &e["fieldsV1"])
}

/// Compare `desired` (exactly as it would be applied) with `live`.
pub fn compare(desired: &Value, live: &Value) -> Verdict {
    let Some(fields) = owned_fields(live) else {
        return Verdict::Unsure("flotilla does not own any field yet".into());
    };
    // The managed-fields of an object whose apiVersion differs are recorded
    // against another version; compare only like with like.
    let entry_version = live["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|e| {
                e["manager"].as_str() == Some(crate::FIELD_MANAGER)
                    && e["operation"].as_str() == Some("Apply")
            })
        })
        .and_then(|e| e["apiVersion"].as_str());
    if entry_version != desired["apiVersion"].as_str() {
        return Verdict::Unsure("managed fields recorded for another API version".into());
    }
    match covers(desired, live, fields, "") {
        Ok(()) => Verdict::Same,
        Err(reason) => Verdict::Unsure(reason),
    }
}

fn field_children(fields: &Value) -> Option<&Map<String, Value>> {
    fields.as_object()
}

/// A fields node with no children (or only `.`) owns its value whole: a
/// scalar, an atomic map (`x-kubernetes-map-type: atomic`) or atomic list.
fn is_leaf(fields: &Value) -> bool {
    fields
        .as_object()
        .is_none_or(|m| m.keys().all(|k| k == "."))
}

/// Keep only the parts of `value` the field set `fields` covers.
pub fn project(value: &Value, fields: &Value) -> Value {
    if is_leaf(fields) {
        return value.clone();
    }
    let Some(f) = fields.as_object() else {
        return value.clone();
    };
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), project(v, f.get(&format!("f:{k}"))?))))
                .collect(),
        ),
        Value::Array(items) => {
            let keyed: Vec<(Map<String, Value>, &Value)> = f
                .iter()
                .filter_map(|(k, v)| Some((serde_json::from_str(k.strip_prefix("k:")?).ok()?, v)))
                .collect();
            let set: Vec<Value> = f
                .keys()
                .filter_map(|k| serde_json::from_str(k.strip_prefix("v:")?).ok())
                .collect();
            Value::Array(
                items
                    .iter()
                    .filter_map(|item| {
                        if let Some((_, sub)) = keyed.iter().find(|(key, _)| {
                            key.iter().all(|(kf, kv)| item.get(kf.as_str()) == Some(kv))
                        }) {
                            return Some(project(item, sub));
                        }
                        set.contains(item).then(|| item.clone())
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn covers(desired: &Value, live: &Value, fields: &Value, path: &str) -> Result<(), String> {
    if !path.is_empty() && is_leaf(fields) && (desired.is_object() || desired.is_array()) {
        // Owned whole: compare whole.
        return if values_equal(desired, live) {
            Ok(())
        } else {
            Err(format!("{path}: value differs"))
        };
    }
    match desired {
        Value::Object(d) => {
            let Some(l) = live.as_object() else {
                return Err(format!("{path}: not an object in the cluster"));
            };
            let f = field_children(fields).ok_or_else(|| format!("{path}: no owned fields"))?;
            let mut owned = 0;
            for (k, dv) in d {
                // apiVersion and kind are part of the request, not owned fields.
                if path.is_empty() && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                // Name and namespace are the object's identity, never owned.
                if path == ".metadata" && (k == "name" || k == "namespace") {
                    continue;
                }
                let child = format!("{path}.{k}");
                let empty = Value::Object(Map::new());
                let fv = match f.get(&format!("f:{k}")) {
                    Some(fv) => fv,
                    None if path.is_empty() && k == "metadata" => &empty,
                    None => return Err(format!("{child}: not owned by flotilla")),
                };
                owned += 1;
                let Some(lv) = l.get(k) else {
                    return Err(format!("{child}: missing in the cluster"));
                };
                covers(dv, lv, fv, &child)?;
            }
            let owned_in_cluster = f.keys().filter(|k| k.starts_with("f:")).count();
            let owned = owned
                - usize::from(
                    path.is_empty() && d.contains_key("metadata") && !f.contains_key("f:metadata"),
                );
            if owned_in_cluster != owned {
                return Err(format!(
                    "{path}: flotilla owns fields the desired object no longer sets"
                ));
            }
            Ok(())
        }
        Value::Array(d) => covers_list(d, live, fields, path),
        Value::Null => Err(format!("{path}: null in the desired object")),
        scalar => {
            if values_equal(scalar, live) {
                Ok(())
            } else {
                Err(format!("{path}: value differs"))
            }
        }
    }
}

fn covers_list(desired: &[Value], live: &Value, fields: &Value, path: &str) -> Result<(), String> {
    let Some(l) = live.as_array() else {
        return Err(format!("{path}: not a list in the cluster"));
    };
    let f = field_children(fields)
        .map(|m| m.iter().collect::<Vec<_>>())
        .unwrap_or_default();
    let keyed: Vec<(Map<String, Value>, &Value)> = f
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("k:")?;
            Some((serde_json::from_str::<Map<String, Value>>(key).ok()?, *v))
        })
        .collect();
    let set: Vec<Value> = f
        .iter()
        .filter_map(|(k, _)| serde_json::from_str::<Value>(k.strip_prefix("v:")?).ok())
        .collect();
    if !keyed.is_empty() {
        if keyed.len() != desired.len() {
            return Err(format!(
                "{path}: flotilla owns {} items, desired has {}",
                keyed.len(),
                desired.len()
            ));
        }
        for (i, item) in desired.iter().enumerate() {
            let Some(item_map) = item.as_object() else {
                return Err(format!("{path}[{i}]: not an object"));
            };
            // The owned key whose fields the desired item matches (a key
            // field the desired item leaves out was defaulted by the server).
            let matches: Vec<&(Map<String, Value>, &Value)> = keyed
                .iter()
                .filter(|(key, _)| {
                    key.iter()
                        .all(|(kf, kv)| item_map.get(kf).is_none_or(|dv| values_equal(dv, kv)))
                        && key.keys().any(|kf| item_map.contains_key(kf))
                })
                .collect();
            let [(key, item_fields)] = matches.as_slice() else {
                return Err(format!("{path}[{i}]: no single owned list item matches"));
            };
            let live_item = l
                .iter()
                .find(|li| {
                    key.iter()
                        .all(|(kf, kv)| values_equal(&li[kf.as_str()], kv))
                })
                .ok_or_else(|| format!("{path}[{i}]: missing in the cluster"))?;
            covers(item, live_item, item_fields, &format!("{path}[{i}]"))?;
        }
        Ok(())
    } else if !set.is_empty() {
        let same_members = set.len() == desired.len()
            && desired
                .iter()
                .all(|d| set.iter().any(|s| values_equal(d, s)))
            && desired.iter().all(|d| l.iter().any(|s| values_equal(d, s)));
        if same_members {
            Ok(())
        } else {
            Err(format!("{path}: set members differ"))
        }
    } else if values_equal(&Value::Array(desired.to_vec()), live) {
        // Atomic list: owned as a whole.
        Ok(())
    } else {
        Err(format!("{path}: list differs"))
    }
}

/// Equality after normalisation: numbers by value, quantities by value
/// (desired `1` or `"1000m"` equals live `"1"`), objects and lists deeply.
pub fn values_equal(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) => {
            a == b || matches!((parse_quantity(a), parse_quantity(b)), (Some(x), Some(y)) if x == y)
        }
        (Value::Number(a), Value::String(b)) => {
            matches!((a.as_f64(), parse_quantity(b)), (Some(x), Some(y)) if (x - y.as_f64()).abs() < f64::EPSILON * x.abs().max(1.0))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => desired == live,
    }
}

/// A Kubernetes resource quantity as an exact rational: (numerator, scale)
/// normalised so that equal quantities compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// Value in nano-units (10^-9); large enough for any realistic quantity.
    nanos: i128,
}

impl Quantity {
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / 1e9
    }
}

/// Parse `123`, `0.5`, `500m`, `1Gi`, `2e3`, `1.5k`; `None` for anything
/// else (so ordinary strings never compare as quantities).
pub fn parse_quantity(s: &str) -> Option<Quantity> {
    let s = s.trim();
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => (-1i128, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let number_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if frac_part.len() > 9 {
        return None;
    }
    let int: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let frac: i128 = if frac_part.is_empty() {
        0
    } else {
        format!("{frac_part:0<9}").parse().ok()?
    };
    let base = int.checked_mul(1_000_000_000)?.checked_add(frac)?;
    // (multiplier numerator, divisor) applied to the nano value.
    let (mul, div): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            if e >= 0 {
                (10i128.checked_pow(e.try_into().ok()?)?, 1)
            } else {
                (1, 10i128.checked_pow((-e).try_into().ok()?)?)
            }
        }
        _ => return None,
    };
    let scaled = base.checked_mul(mul)?;
    if scaled % div != 0 {
        // Finer than a nano-unit: not something a manifest states.
        return None;
    }
    Some(Quantity {
        nanos: sign * (scaled / div),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live_with(fields: Value, body: Value) -> Value {
        let mut live = body;
        live["metadata"]["managedFields"] = json!([
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
             "fieldsV1": {"f:status": {}}},
            {"manager": "flotilla", "operation": "Apply", "apiVersion": "apps/v1", "fieldsV1": fields},
        ]);
        live
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "web", "image": "nginx:1",
                                              "ports": [{"containerPort": 80}],
                                              "args": ["a", "b"],
                                              "resources": {"limits": {"cpu": 0.5, "memory": "1Gi"}}}]}}}})
    }

    fn fields() -> Value {
        json!({"f:metadata": {"f:labels": {"f:app": {}}},
               "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                   "f:metadata": {"f:labels": {"f:app": {}}},
                   "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                       ".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                       "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
                       "f:resources": {"f:limits": {"f:cpu": {}, "f:memory": {}}}}}}}}})
    }

    fn live() -> Value {
        let mut l = deployment();
        l["metadata"]["uid"] = json!("1234");
        l["metadata"]["namespace"] = json!("shop");
        l["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        l["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        l["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] =
            json!("500m");
        l["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] =
            json!("/dev/termination-log");
        l["status"] = json!({"replicas": 2});
        live_with(fields(), l)
    }

    #[test]
    fn unchanged_object_with_server_defaults_is_same() {
        // `selector` was owned atomically here (f:selector: {}), covered deeply.
        let mut f = fields();
        f["f:spec"]["f:selector"] = json!({"f:matchLabels": {"f:app": {}}});
        let l = live_with(f, live());
        assert_eq!(compare(&deployment(), &l), Verdict::Same);
    }

    #[test]
    fn atomic_maps_compare_whole() {
        // Deployment and Service selectors are atomic maps: `f:selector: {}`.
        let l = live();
        assert_eq!(compare(&deployment(), &l), Verdict::Same);
        let mut d = deployment();
        d["spec"]["selector"]["matchLabels"]["tier"] = json!("x");
        assert!(matches!(compare(&d, &l), Verdict::Unsure(r) if r.contains("selector")));
    }

    #[test]
    fn projection_keeps_only_owned_parts() {
        let l = live();
        let f = owned_fields(&l).unwrap();
        let p = project(&l, f);
        assert!(p["metadata"].get("uid").is_none() && p.get("status").is_none());
        assert_eq!(p["spec"]["replicas"], 2);
        assert!(p["spec"].get("strategy").is_none());
        let c = &p["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1");
        assert!(c.get("terminationMessagePath").is_none());
        assert_eq!(c["ports"][0]["containerPort"], 80);
    }

    #[test]
    fn drifted_owned_field_is_detected() {
        let mut f = fields();
        f["f:spec"]["f:selector"] = json!({"f:matchLabels": {"f:app": {}}});
        let mut l = live_with(f, live());
        l["spec"]["replicas"] = json!(5);
        assert!(
            matches!(compare(&deployment(), &l), Verdict::Unsure(r) if r.contains(".spec.replicas"))
        );
    }

    #[test]
    fn new_field_removed_field_and_new_list_item_are_unsure() {
        let mut f = fields();
        f["f:spec"]["f:selector"] = json!({"f:matchLabels": {"f:app": {}}});
        let l = live_with(f.clone(), live());
        let mut d = deployment();
        d["spec"]["paused"] = json!(true);
        assert!(matches!(compare(&d, &l), Verdict::Unsure(_)));
        let mut d = deployment();
        d["metadata"].as_object_mut().unwrap().remove("labels");
        assert!(matches!(compare(&d, &l), Verdict::Unsure(r) if r.contains("no longer")));
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array_mut()
            .unwrap()
            .push(json!({"containerPort": 81}));
        assert!(matches!(compare(&d, &l), Verdict::Unsure(_)));
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["b", "a"]);
        assert!(matches!(compare(&d, &l), Verdict::Unsure(r) if r.contains("args")));
    }

    #[test]
    fn objects_flotilla_never_applied_are_unsure() {
        let mut l = live();
        l["metadata"]["managedFields"] = json!([]);
        assert!(matches!(compare(&deployment(), &l), Verdict::Unsure(_)));
        let mut l = live();
        l["metadata"]["managedFields"][1]["apiVersion"] = json!("apps/v1beta1");
        assert!(matches!(compare(&deployment(), &l), Verdict::Unsure(_)));
    }

    #[test]
    fn sets_compare_as_sets() {
        let d = json!({"apiVersion": "v1", "kind": "X", "spec": {"finalizers": ["a", "b"]}});
        let mut l =
            json!({"apiVersion": "v1", "kind": "X", "spec": {"finalizers": ["b", "a", "c"]}});
        l["metadata"]["managedFields"] = json!([{"manager": "flotilla", "operation": "Apply", "apiVersion": "v1",
            "fieldsV1": {"f:spec": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}}}}]);
        assert_eq!(compare(&d, &l), Verdict::Same);
        let d2 = json!({"apiVersion": "v1", "kind": "X", "spec": {"finalizers": ["a"]}});
        assert!(matches!(compare(&d2, &l), Verdict::Unsure(_)));
    }

    #[test]
    fn quantities_normalise() {
        let q = |s| parse_quantity(s).unwrap();
        assert_eq!(q("500m"), q("0.5"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1k"), q("1000"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("-2"), q("-2000m"));
        assert_eq!(parse_quantity("web"), None);
        assert_eq!(parse_quantity("1.2.3"), None);
        assert_eq!(parse_quantity("10Xi"), None);
        assert!(values_equal(&json!(0.5), &json!("500m")));
        assert!(values_equal(&json!(2), &json!(2.0)));
        assert!(values_equal(&json!("2Gi"), &json!("2048Mi")));
        assert!(
            !values_equal(&json!("1"), &json!(1)),
            "a string never equals a number"
        );
        assert!(!values_equal(&json!("nginx:1"), &json!("nginx:2")));
    }
}
