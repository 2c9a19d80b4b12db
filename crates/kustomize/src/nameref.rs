//! Name-reference fixing: after renames (prefix, suffix, hash, namespace),
//! update every field that refers to a renamed object by its old name.

use crate::error::KustomizeError;
use crate::fieldspec::{self, Create, FieldSpec, TransformerConfig};
use crate::resid::{Gvk, NOT_A_NAMESPACE, ResId};
use crate::resource::Resource;
use serde_json::Value;

struct Cand {
    cur: ResId,
    org: ResId,
    prev: Vec<ResId>,
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
    Cand {
        cur: r.cur_id(),
        org: r.org_id(),
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
    referrer: &'a Cand,
    target: &'a Gvk,
    role_ref: Option<Gvk>,
}

impl Ctx<'_> {
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
                let r = &self.referrer.cur;
                if r.gvk.is_cluster_scoped() {
                    return true;
                }
                let x = &self.cands[i];
                x.cur.gvk.is_cluster_scoped() || x.kind == "ServiceAccount" || r.ns_equals(&x.cur)
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

    fn set_scalar(&self, node: &mut Value, pool: &[usize]) -> Result<(), KustomizeError> {
        let Value::String(old) = node else {
            return Ok(());
        };
        if let Some(i) = self.select(old, pool, false)? {
            *node = Value::String(self.cands[i].name.clone());
        }
        Ok(())
    }

    fn set_map(&self, node: &mut Value, pool: &[usize]) -> Result<(), KustomizeError> {
        let Some(m) = node.as_object_mut() else {
            return Ok(());
        };
        let Some(old) = m.get("name").and_then(Value::as_str).map(str::to_string) else {
            return Err(KustomizeError::new(
                "path config error; no 'name' field in node",
            ));
        };
        let filtered: Vec<usize> = match m.get("namespace").and_then(Value::as_str) {
            None => pool.to_vec(),
            Some(ns) => {
                let by_org: Vec<usize> = pool
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let e = self.cands[i].org.effective_namespace();
                        e != NOT_A_NAMESPACE && e == ns
                    })
                    .collect();
                if !by_org.is_empty() {
                    by_org
                } else {
                    pool.iter()
                        .copied()
                        .filter(|&i| {
                            let e = self.cands[i].cur.effective_namespace();
                            e != NOT_A_NAMESPACE && e == ns
                        })
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

    fn set(&self, node: &mut Value, pool: &[usize]) -> Result<(), KustomizeError> {
        match node {
            Value::Null => Ok(()),
            Value::String(_) => self.set_scalar(node, pool),
            Value::Object(_) => self.set_map(node, pool),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(_) => self.set_map(item, pool)?,
                        Value::String(_) => self.set_scalar(item, pool)?,
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
    for ri in 0..list.len() {
        let referrer = &cands[ri];
        // The resources this referrer could refer to.
        let pool: Vec<usize> = if referrer.cur.gvk.is_cluster_scoped() {
            (0..cands.len()).collect()
        } else {
            let rb = role_binding_namespaces(&list[ri])?;
            (0..cands.len())
                .filter(|&i| {
                    let id = &cands[i].cur;
                    id.gvk.is_cluster_scoped()
                        || id.ns_equals(&referrer.cur)
                        || rb.iter().any(|n| *n == cands[i].namespace)
                })
                .collect()
        };
        for nbr in &tc.name_reference {
            for spec in &nbr.specs {
                if !referrer.org.gvk.is_selected(&spec.gvk) {
                    continue;
                }
                let ctx = Ctx {
                    cands: &cands,
                    referrer,
                    target: &nbr.gvk,
                    role_ref: if spec.path.ends_with("roleRef/name") {
                        role_ref_gvk(&list[ri].obj)
                    } else {
                        None
                    },
                };
                let fs = FieldSpec::new(&spec.path, false);
                let id = referrer.cur.clone();
                fieldspec::apply(&mut list[ri].obj, &fs, Create::Nothing, &mut |node| {
                    ctx.set(node, &pool)
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
