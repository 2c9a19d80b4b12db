//! Legacy `vars`: `$(NAME)` references in var-reference fields, resolved from
//! a field of a named object after all renames.

use crate::error::KustomizeError;
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustomization::{check_fields, field};
use crate::resid::{Gvk, ResId};
use crate::resource::Resource;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    pub target: ResId,
    pub field_path: String,
}

impl Var {
    pub fn parse(v: &Value) -> Result<Var, KustomizeError> {
        let m = v
            .as_object()
            .ok_or_else(|| KustomizeError::new(format!("a var must be a map, got {v}")))?;
        check_fields("Kustomization", m, &["name", "objref", "fieldref"])?;
        let name = field(m, "name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut target = ResId::default();
        if let Some(Value::Object(o)) = field(m, "objref") {
            let s = |n: &str| {
                field(o, n)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let api = s("apiVersion");
            let (g, ver) = crate::resid::split_api_version(&api);
            let (g, ver) = (g.to_string(), ver.to_string());
            target.gvk = Gvk {
                group: if g.is_empty() { s("group") } else { g },
                version: if ver.is_empty() { s("version") } else { ver },
                kind: s("kind"),
            };
            target.name = s("name");
            target.namespace = s("namespace");
        }
        let field_path = field(m, "fieldref")
            .and_then(Value::as_object)
            .and_then(|f| field(f, "fieldPath"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("metadata.name")
            .to_string();
        Ok(Var {
            name,
            target,
            field_path,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{{{} {} {{{}}}}}",
            self.name, self.target.gvk, self.field_path
        )
    }
}

/// Split a dotted field path, keeping `[...]` parts whole.
pub fn split_dotted(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                if depth == 1 && !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
                if depth == 0 {
                    out.push(std::mem::take(&mut cur));
                }
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Look up a dotted path (`spec.ports[0].port`, `a[name=x].b`).
pub fn lookup<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = obj;
    for seg in split_dotted(path) {
        node = step(node, &seg)?;
    }
    Some(node)
}

fn step<'a>(node: &'a Value, seg: &str) -> Option<&'a Value> {
    if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let items = node.as_array()?;
        if let Some((k, v)) = inner.split_once('=') {
            return items.iter().find(|i| match i.get(k) {
                Some(Value::String(s)) => s == v,
                Some(other) => crate::hash::scalar_text(other).as_deref() == Some(v),
                None => false,
            });
        }
        let idx: usize = inner.parse().ok()?;
        return items.get(idx);
    }
    match node {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// kustomize's MergeVars: each var must name at most one resource, which
/// then carries the var for resolution at the end of the build.
pub fn merge_vars(
    all: &mut Vec<Var>,
    incoming: &[Var],
    list: &mut [Resource],
) -> Result<(), KustomizeError> {
    for v in incoming {
        let t = &v.target;
        let strict = !t.namespace.is_empty() || t.gvk.is_cluster_scoped();
        let matched: Vec<usize> = (0..list.len())
            .filter(|&i| {
                let r = &list[i];
                r.prev_ids()
                    .into_iter()
                    .chain(std::iter::once(r.cur_id()))
                    .any(|id| {
                        if strict {
                            id.equals(t)
                        } else {
                            id.gvk == t.gvk && id.name == t.name
                        }
                    })
            })
            .collect();
        if matched.len() > 1 {
            return Err(KustomizeError::new(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                matched.len(),
                v.describe()
            )));
        }
        if let [i] = matched.as_slice() {
            list[*i].ref_vars.push(v.name.clone());
        }
    }
    for v in incoming {
        add_var(all, v.clone())?;
    }
    Ok(())
}

pub fn add_var(all: &mut Vec<Var>, v: Var) -> Result<(), KustomizeError> {
    if all.iter().any(|x| x.name == v.name) {
        return Err(KustomizeError::new(format!(
            "var '{}' already encountered",
            v.name
        )));
    }
    all.push(v);
    Ok(())
}

/// The text of a value as Go's `%v` prints it.
fn go_format(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// kustomize's `$(VAR)` expansion; a lone reference keeps the value's type.
pub fn expand(input: &str, map: &HashMap<String, Value>) -> Value {
    if !input.contains("$(") {
        return Value::String(input.to_string());
    }
    let bytes = input.as_bytes();
    let mut buf = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            buf.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance;
            match rest.as_bytes()[0] {
                b'$' => {
                    buf.push('$');
                    advance = 1;
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        let mapped = match map.get(name) {
                            Some(v) => v.clone(),
                            None => Value::String(format!("$({name})")),
                        };
                        if input.len() == name.len() + 3 && input.starts_with("$(") {
                            return mapped;
                        }
                        buf.push_str(&go_format(&mapped));
                        advance = close + 1;
                    }
                    None => {
                        buf.push_str("$(");
                        advance = 1;
                    }
                },
                _ => {
                    let ch = rest.chars().next().unwrap_or(' ');
                    buf.push('$');
                    buf.push(ch);
                    advance = ch.len_utf8();
                }
            }
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint <= input.len() {
        buf.push_str(&input[checkpoint..]);
    }
    Value::String(buf)
}

/// kustomize's ResolveVars.
pub fn resolve(
    list: &mut [Resource],
    vars: &[Var],
    specs: &[FieldSpec],
) -> Result<(), KustomizeError> {
    let mut map: HashMap<String, Value> = HashMap::new();
    for v in vars {
        let holder = list.iter().find(|r| r.ref_vars.contains(&v.name));
        let Some(holder) = holder else {
            return Err(KustomizeError::new(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.describe()
            )));
        };
        let val = lookup(&holder.obj, &v.field_path).ok_or_else(|| {
            KustomizeError::new(format!(
                "field specified in var '{}' not found in corresponding resource",
                v.describe()
            ))
        })?;
        map.insert(v.name.clone(), val.clone());
    }
    if map.is_empty() {
        return Ok(());
    }
    for r in list.iter_mut() {
        for fs in specs {
            fieldspec::apply(&mut r.obj, fs, Create::Nothing, &mut |node| {
                match node {
                    Value::String(s) => *node = expand(s, &map),
                    Value::Array(items) => {
                        for item in items.iter_mut() {
                            if let Value::String(s) = item {
                                *item = expand(s, &map);
                            }
                        }
                    }
                    Value::Object(m) => {
                        for (_, item) in m.iter_mut() {
                            if let Value::String(s) = item {
                                *item = expand(s, &map);
                            }
                        }
                    }
                    _ => {}
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_like_kustomize() {
        let mut m = HashMap::new();
        m.insert("A".to_string(), json!("x"));
        m.insert("N".to_string(), json!(5));
        assert_eq!(expand("$(A)-$(B)", &m), json!("x-$(B)"));
        assert_eq!(expand("$(N)", &m), json!(5));
        assert_eq!(expand("p$(N)", &m), json!("p5"));
        assert_eq!(expand("$$(A) $(A)", &m), json!("$(A) x"));
        assert_eq!(expand("no vars $$", &m), json!("no vars $$"));
    }

    #[test]
    fn looks_up_dotted_paths() {
        let o = json!({"spec": {"ports": [{"name": "a", "port": 80}]}});
        assert_eq!(lookup(&o, "spec.ports[0].port"), Some(&json!(80)));
        assert_eq!(lookup(&o, "spec.ports[name=a].port"), Some(&json!(80)));
    }
}
