//! Name-reference fixing: after renames (prefix, suffix, hash, namespace),
//! update every field that refers to a renamed object by its old name.

use crate::error::KustomizeError;
use crate::fieldspec::{self, Create, FieldSpec, TransformerConfig};
use crate::resid::{Gvk, NOT_A_NAMESPACE, ResId};
use crate::resource::Resource;
use serde_json::Value;
use std::collections::HashMap;

struct Cand {
    cur: ResId,
    org: ResId,
    prev: Vec<ResId>,
    cluster_scoped: bool,
    cur_ns: String,
    org_ns: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    name: String,
    namespace: String,
    kind: String,
}

fn same_ending(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return a.is_empty() && b.is_empty();
    }
    let n = a.len().min(b.len());
    a[a.len() - n..] == b[b.len() - n..]
}

fn ps_equal(c: &Cand, r: &Cand, allow_empty: bool) -> bool {
    if allow_empty {
        let pe = c.prefixes.is_empty() || r.prefixes.is_empty();
        let se = c.suffixes.is_empty() || r.suffixes.is_empty();
        (pe || same_ending(&c.prefixes, &r.prefixes))
            && (se || same_ending(&c.suffixes, &r.suffixes))
    } else {
        same_ending(&c.prefixes, &r.prefixes) && same_ending(&c.suffixes, &r.suffixes)
    }
}

fn cand(r: &Resource) -> Cand {
    let cur = r.cur_id();
    let org = r.org_id();
    Cand {
        cluster_scoped: cur.gvk.is_cluster_scoped(),
        cur_ns: cur.effective_namespace().to_string(),
        org_ns: org.effective_namespace().to_string(),
        cur,
        org,
        prev: r.prev_ids(),
        prefixes: r.prefixes.clone(),
        suffixes: r.suffixes.clone(),
        name: r.name().to_string(),
        namespace: r.namespace().to_string(),
        kind: r.kind().to_string(),
    }
}

/// Namespaces of ServiceAccount subjects of a RoleBinding.
fn role_binding_namespaces(r: &Resource) -> Result<Vec<String>, KustomizeError> {
    let mut out = Vec::new();
    if r.kind() != "RoleBinding" {
        return Ok(out);
    }
    if let Some(Value::Array(subjects)) = r.obj.get("subjects") {
        for s in subjects {
            let (Some(ns), Some(kind)) = (s.get("namespace"), s.get("kind")) else {
                continue;
            };
            if kind.as_str() == Some("ServiceAccount") {
                match ns.as_str() {
                    Some(n) => out.push(n.to_string()),
                    None => {
                        return Err(KustomizeError::new(format!(
                            "Invalid Input: namespace is blank for resource \"{}\"",
                            r.cur_id()
                        )));
                    }
                }
            }
        }
    }
    Ok(out)
}

struct Ctx<'a> {
    cands: &'a [Cand],
    /// Candidates by each of their previous names.
    by_prev_name: &'a HashMap<String, Vec<usize>>,
    referrer: &'a Cand,
    /// Namespaces of the referrer's ServiceAccount subjects (RoleBinding).
    rb_namespaces: &'a [String],
    target: &'a Gvk,
    role_ref: Option<Gvk>,
}

impl Ctx<'_> {
    /// kustomize's SubsetThatCouldBeReferencedByResource, as a predicate.
    fn in_pool(&self, i: usize) -> bool {
        if self.referrer.cluster_scoped {
            return true;
        }
        let c = &self.cands[i];
        c.cluster_scoped
            || c.cur_ns == self.referrer.cur_ns
            || self.rb_namespaces.contains(&c.namespace)
    }

    /// Pool members that once had the name `old`.
    fn named(&self, old: &str) -> Vec<usize> {
        self.by_prev_name
            .get(old)
            .map(|v| v.iter().copied().filter(|&i| self.in_pool(i)).collect())
            .unwrap_or_default()
    }

    fn select(
        &self,
        old: &str,
        pool: &[usize],
        with_ns: bool,
    ) -> Result<Option<usize>, KustomizeError> {
        let mut c: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| self.cands[i].prev.iter().any(|p| p.name == old))
            .filter(|&i| {
                self.cands[i]
                    .prev
                    .iter()
                    .any(|p| p.gvk.is_selected(self.target))
            })
            .filter(|&i| match &self.role_ref {
                Some(g) => self.cands[i].prev.iter().any(|p| p.gvk.is_selected(g)),
                None => true,
            })
            .filter(|&i| {
                if self.referrer.cluster_scoped {
                    return true;
                }
                let x = &self.cands[i];
                x.cluster_scoped || x.kind == "ServiceAccount" || x.cur_ns == self.referrer.cur_ns
            })
            .collect();
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&i| ps_equal(&self.cands[i], self.referrer, true));
        if c.len() > 1 {
            c.retain(|&i| ps_equal(&self.cands[i], self.referrer, false));
        }
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ => {
                let first = &self.cands[c[0]];
                let same = c.iter().all(|&i| {
                    self.cands[i].name == first.name
                        && (!with_ns || self.cands[i].namespace == first.namespace)
                });
                if same {
                    Ok(Some(c[0]))
                } else {
                    let ids: Vec<String> =
                        c.iter().map(|&i| self.cands[i].cur.to_string()).collect();
                    Err(KustomizeError::new(format!(
                        "found multiple possible referrals: {}",
                        ids.join(", ")
                    )))
                }
            }
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), KustomizeError> {
        let Value::String(old) = node else {
            return Ok(());
        };
        let pool = self.named(old);
        if let Some(i) = self.select(old, &pool, false)? {
            *node = Value::String(self.cands[i].name.clone());
        }
        Ok(())
    }

    fn set_map(&self, node: &mut Value) -> Result<(), KustomizeError> {
        let Some(m) = node.as_object_mut() else {
            return Ok(());
        };
        let Some(old) = m.get("name").and_then(Value::as_str).map(str::to_string) else {
            return Err(KustomizeError::new(
                "path config error; no 'name' field in node",
            ));
        };
        let named = self.named(&old);
        let filtered: Vec<usize> = match m.get("namespace").and_then(Value::as_str) {
            None => named,
            Some(ns) => {
                // kustomize groups the whole pool by original namespace and
                // uses that group when it exists, else the current one.
                let org_group_exists = ns != NOT_A_NAMESPACE
                    && (0..self.cands.len()).any(|i| self.cands[i].org_ns == ns && self.in_pool(i));
                if org_group_exists {
                    named
                        .into_iter()
                        .filter(|&i| self.cands[i].org_ns == ns)
                        .collect()
                } else {
                    named
                        .into_iter()
                        .filter(|&i| ns != NOT_A_NAMESPACE && self.cands[i].cur_ns == ns)
                        .collect()
                }
            }
        };
        let Some(i) = self.select(&old, &filtered, true)? else {
            return Ok(());
        };
        let c = &self.cands[i];
        if c.name == old && c.namespace.is_empty() {
            return Ok(());
        }
        m.insert("name".into(), Value::String(c.name.clone()));
        if !c.namespace.is_empty() {
            m.insert("namespace".into(), Value::String(c.namespace.clone()));
        }
        Ok(())
    }

    fn set(&self, node: &mut Value) -> Result<(), KustomizeError> {
        match node {
            Value::Null => Ok(()),
            Value::String(_) => self.set_scalar(node),
            Value::Object(_) => self.set_map(node),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(_) => self.set_map(item)?,
                        Value::String(_) => self.set_scalar(item)?,
                        Value::Null => {}
                        other => {
                            return Err(KustomizeError::new(format!(
                                "{other} is expected to be either a string or a map of string"
                            )));
                        }
                    }
                }
                Ok(())
            }
            _ => Err(KustomizeError::new(
                "node must be a scalar, sequence or map",
            )),
        }
    }
}

fn role_ref_gvk(obj: &Value) -> Option<Gvk> {
    let rr = obj.get("roleRef")?;
    Some(Gvk {
        group: rr.get("apiGroup")?.as_str()?.to_string(),
        version: String::new(),
        kind: rr.get("kind")?.as_str()?.to_string(),
    })
}

/// kustomize's FixBackReferences.
pub fn fix(list: &mut [Resource], tc: &TransformerConfig) -> Result<(), KustomizeError> {
    let cands: Vec<Cand> = list.iter().map(cand).collect();
    let mut by_prev_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in cands.iter().enumerate() {
        let mut names: Vec<&str> = c.prev.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            by_prev_name.entry(n.to_string()).or_default().push(i);
        }
    }
    for ri in 0..list.len() {
        let referrer = &cands[ri];
        let rb_namespaces = if referrer.cluster_scoped {
            Vec::new()
        } else {
            role_binding_namespaces(&list[ri])?
        };
        if by_prev_name.is_empty() {
            // Nothing was renamed: no reference can need fixing.
            continue;
        }
        for nbr in &tc.name_reference {
            for spec in &nbr.specs {
                if !referrer.org.gvk.is_selected(&spec.gvk) {
                    continue;
                }
                let ctx = Ctx {
                    cands: &cands,
                    by_prev_name: &by_prev_name,
                    referrer,
                    rb_namespaces: &rb_namespaces,
                    target: &nbr.gvk,
                    role_ref: if spec.path.ends_with("roleRef/name") {
                        role_ref_gvk(&list[ri].obj)
                    } else {
                        None
                    },
                };
                let fs = FieldSpec::new(&spec.path, false);
                let id = &referrer.cur;
                fieldspec::apply(&mut list[ri].obj, &fs, Create::Nothing, &mut |node| {
                    ctx.set(node)
                })
                .map_err(|e| {
                    e.context(format!(
                        "updating name reference in '{}' field of '{id}'",
                        spec.path
                    ))
                })?;
            }
        }
    }
    Ok(())
}
