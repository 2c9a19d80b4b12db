//! Output order: `sortOptions` from the kustomization, else the `--reorder`
//! flag (legacy by default).

use crate::Reorder;
use crate::error::KustomizeError;
use crate::kustomization::{check_fields, field};
use crate::resid::{Gvk, ResId};
use crate::resource::Resource;
use serde_json::Value;
use std::collections::HashMap;

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

pub fn gvk_sort_string(g: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

/// Position of a kind in the default legacy order (0 for unlisted kinds).
pub fn type_order(kind: &str) -> i64 {
    if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
        return i as i64 - ORDER_FIRST.len() as i64;
    }
    if let Some(i) = ORDER_LAST.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

fn id_sort_string(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let nm = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{ns}|{nm}", id.gvk)
}

fn legacy(list: &mut Vec<Resource>, first: &[String], last: &[String]) {
    let mut orders: HashMap<&str, i64> = HashMap::new();
    for (i, n) in first.iter().enumerate() {
        orders.insert(n, i as i64 - first.len() as i64);
    }
    for (i, n) in last.iter().enumerate() {
        orders.insert(n, 1 + i as i64);
    }
    // Sort keys computed once per resource.
    struct Key {
        gvk: Gvk,
        order: i64,
        gvk_string: String,
        id_string: String,
    }
    let mut keyed: Vec<(Key, Resource)> = std::mem::take(list)
        .into_iter()
        .map(|r| {
            let id = r.cur_id();
            let key = Key {
                order: orders.get(id.gvk.kind.as_str()).copied().unwrap_or(0),
                gvk_string: gvk_sort_string(&id.gvk),
                id_string: id_sort_string(&id),
                gvk: id.gvk,
            };
            (key, r)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        if a.gvk != b.gvk {
            if a.order != b.order {
                return a.order.cmp(&b.order);
            }
            if a.gvk.kind == "Namespace"
                && b.gvk.kind == "Namespace"
                && (a.gvk.group.is_empty() || b.gvk.group.is_empty())
            {
                return b.gvk_string.cmp(&a.gvk_string);
            }
            return a.gvk_string.cmp(&b.gvk_string);
        }
        a.id_string.cmp(&b.id_string)
    });
    *list = keyed.into_iter().map(|(_, r)| r).collect();
}

pub fn apply(
    list: &mut Vec<Resource>,
    sort_options: Option<&Value>,
    reorder: Reorder,
) -> Result<(), KustomizeError> {
    if let Some(so) = sort_options {
        let m = so
            .as_object()
            .ok_or_else(|| KustomizeError::new("sortOptions must be a map"))?;
        check_fields("sortOptions", m, &["order", "legacysortoptions"])?;
        let order = field(m, "order").and_then(Value::as_str).unwrap_or("");
        let lso = field(m, "legacySortOptions").filter(|v| !v.is_null());
        if order != "fifo" && order != "legacy" {
            return Err(KustomizeError::new(
                "the field 'sortOptions.order' must be one of [fifo, legacy]",
            ));
        }
        if order == "fifo" {
            if lso.is_some() {
                return Err(KustomizeError::new(
                    "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                ));
            }
            return Ok(());
        }
        let list_of = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (first, last) = match lso.and_then(Value::as_object) {
            Some(o) => (
                list_of(field(o, "orderFirst")),
                list_of(field(o, "orderLast")),
            ),
            None => (
                ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                ORDER_LAST.iter().map(|s| s.to_string()).collect(),
            ),
        };
        legacy(list, &first, &last);
        return Ok(());
    }
    if reorder == Reorder::Legacy {
        let first: Vec<String> = ORDER_FIRST.iter().map(|s| s.to_string()).collect();
        let last: Vec<String> = ORDER_LAST.iter().map(|s| s.to_string()).collect();
        legacy(list, &first, &last);
    }
    Ok(())
}
