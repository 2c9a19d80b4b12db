//! `replacements`: copy a field of one resource into fields of others.

use crate::error::KustomizeError;
use crate::kustomization::{check_fields, field};
use crate::loader::Loader;
use crate::resid::{Gvk, ResId};
use crate::resource::Resource;
use crate::selector::Selector;
use crate::vars::split_dotted;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default)]
pub struct FieldOptions {
    pub delimiter: String,
    pub index: i64,
    pub create: bool,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub select: Selector,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: FieldOptions,
}

#[derive(Debug, Clone)]
pub struct Replacement {
    pub source: ResId,
    pub source_path: String,
    pub source_options: FieldOptions,
    pub targets: Vec<Target>,
}

fn options(v: Option<&Value>) -> Result<FieldOptions, KustomizeError> {
    let Some(Value::Object(m)) = v else {
        return Ok(FieldOptions::default());
    };
    check_fields(
        "replacement options",
        m,
        &["delimiter", "index", "create", "encoding"],
    )?;
    Ok(FieldOptions {
        delimiter: field(m, "delimiter")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        index: field(m, "index").and_then(Value::as_i64).unwrap_or(0),
        create: field(m, "create").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn res_id(m: &Map<String, Value>) -> ResId {
    let s = |n: &str| {
        field(m, n)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    ResId {
        gvk: Gvk {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
        },
        name: s("name"),
        namespace: s("namespace"),
    }
}

fn parse_one(v: &Value) -> Result<Replacement, KustomizeError> {
    let m = v
        .as_object()
        .ok_or_else(|| KustomizeError::new(format!("a replacement must be a map, got {v}")))?;
    check_fields("replacement", m, &["source", "targets", "path"])?;
    let (Some(Value::Object(src)), Some(Value::Array(targets))) =
        (field(m, "source"), field(m, "targets"))
    else {
        return Err(KustomizeError::new(
            "replacements must specify a source and at least one target",
        ));
    };
    check_fields(
        "replacement source",
        src,
        &[
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "fieldpath",
            "options",
        ],
    )?;
    let mut out = Replacement {
        source: res_id(src),
        source_path: field(src, "fieldPath")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("metadata.name")
            .to_string(),
        source_options: options(field(src, "options"))?,
        targets: Vec::new(),
    };
    for t in targets {
        let tm = t
            .as_object()
            .ok_or_else(|| KustomizeError::new("a replacement target must be a map"))?;
        check_fields(
            "replacement target",
            tm,
            &["select", "reject", "fieldpaths", "options"],
        )?;
        let select = match field(tm, "select") {
            Some(s @ Value::Object(_)) => Selector::parse(s)?,
            _ => {
                return Err(KustomizeError::new(
                    "target must specify resources to select",
                ));
            }
        };
        let mut reject = Vec::new();
        if let Some(Value::Array(rs)) = field(tm, "reject") {
            for r in rs {
                reject.push(Selector::parse(r)?);
            }
        }
        let mut field_paths: Vec<String> = match field(tm, "fieldPaths") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        if field_paths.is_empty() {
            field_paths.push("metadata.name".into());
        }
        out.targets.push(Target {
            select,
            reject,
            field_paths,
            options: options(field(tm, "options"))?,
        });
    }
    Ok(out)
}

/// Read the `replacements:` list (inline entries and `path:` files).
pub fn load(entries: &[Value], ldr: &Loader) -> Result<Vec<Replacement>, KustomizeError> {
    let mut out = Vec::new();
    for e in entries {
        let path = e
            .as_object()
            .and_then(|m| field(m, "path"))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        if let Some(p) = path {
            let m = e.as_object().cloned().unwrap_or_default();
            if field(&m, "source").is_some() || field(&m, "targets").is_some() {
                return Err(KustomizeError::new(
                    "cannot specify both path and inline replacement",
                ));
            }
            let text = ldr.load_string(p)?;
            let docs = flotilla_model::yaml::parse_stream(&text)
                .map_err(|err| KustomizeError::new(format!("{p}: {}", err.message)))?;
            match docs.into_iter().next() {
                Some(Value::Array(items)) => {
                    for i in &items {
                        out.push(parse_one(i)?);
                    }
                }
                Some(v @ Value::Object(_)) => out.push(parse_one(&v)?),
                other => {
                    return Err(KustomizeError::new(format!(
                        "unsupported replacement type encountered within replacement path: {other:?}"
                    )));
                }
            }
        } else {
            out.push(parse_one(e)?);
        }
    }
    Ok(out)
}

fn ids(r: &Resource) -> Vec<ResId> {
    let mut v = vec![r.cur_id()];
    v.extend(r.prev_ids());
    v
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// All nodes a dotted path names, creating missing ones when asked.
fn path_nodes<'a>(
    node: &'a mut Value,
    segs: &[String],
    create: Option<&Value>,
    out: &mut Vec<&'a mut Value>,
) {
    if segs.is_empty() {
        out.push(node);
        return;
    }
    let seg = segs[0].as_str();
    let rest = &segs[1..];
    if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let Value::Array(items) = node else { return };
        let (k, v) = inner.split_once('=').unwrap_or(("", inner));
        let matches = |i: &Value| -> bool {
            if k.is_empty() {
                scalar_text(i).as_deref() == Some(v)
            } else {
                i.get(k).and_then(scalar_text).as_deref() == Some(v)
            }
        };
        if !items.iter().any(matches) {
            if create.is_none() || k.is_empty() {
                return;
            }
            let mut m = Map::new();
            m.insert(k.to_string(), Value::String(v.to_string()));
            items.push(Value::Object(m));
        }
        for item in items.iter_mut().filter(|i| matches(i)) {
            path_nodes(item, rest, create, out);
        }
        return;
    }
    match node {
        Value::Array(items) => {
            if seg == "*" {
                for i in items.iter_mut() {
                    path_nodes(i, rest, create, out);
                }
            } else if let Ok(idx) = seg.parse::<usize>()
                && let Some(i) = items.get_mut(idx)
            {
                path_nodes(i, rest, create, out);
            }
        }
        Value::Object(m) => {
            if seg == "*" {
                for (_, v) in m.iter_mut() {
                    path_nodes(v, rest, create, out);
                }
                return;
            }
            if !m.contains_key(seg) {
                let Some(template) = create else { return };
                let fresh = if rest.is_empty() {
                    match template {
                        Value::Object(_) => Value::Object(Map::new()),
                        Value::Array(_) => Value::Array(Vec::new()),
                        _ => Value::Null,
                    }
                } else if rest[0].starts_with('[') {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                };
                m.insert(seg.to_string(), fresh);
            }
            if let Some(child) = m.get_mut(seg) {
                if child.is_null() && !rest.is_empty() && create.is_some() {
                    *child = Value::Object(Map::new());
                }
                path_nodes(child, rest, create, out);
            }
        }
        _ => {}
    }
}

fn set_field(target: &mut Value, value: &Value, opts: &FieldOptions) -> Result<(), KustomizeError> {
    let mut value = value.clone();
    if !opts.delimiter.is_empty() {
        let Some(tv) = scalar_text(target) else {
            return Err(KustomizeError::new(
                "delimiter option can only be used with scalar nodes",
            ));
        };
        let mut parts: Vec<String> = tv
            .split(opts.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let v = scalar_text(&value).unwrap_or_default();
        if opts.index < 0 {
            parts.insert(0, v);
        } else if opts.index as usize >= parts.len() {
            parts.push(v);
        } else {
            parts[opts.index as usize] = v;
        }
        value = Value::String(parts.join(&opts.delimiter));
    }
    // A scalar target keeps its type; only the text changes.
    match (&*target, scalar_text(&value)) {
        (Value::String(_), Some(t)) => *target = Value::String(t),
        (Value::Number(_), Some(t)) => {
            *target = serde_json::from_str::<serde_json::Number>(&t)
                .map(Value::Number)
                .unwrap_or(Value::String(t))
        }
        (Value::Bool(_), Some(t)) => {
            *target = match t.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(t),
            }
        }
        _ => *target = value,
    }
    Ok(())
}

pub fn apply(list: &mut [Resource], reps: &[Replacement]) -> Result<(), KustomizeError> {
    for rep in reps {
        let sources: Vec<usize> = (0..list.len())
            .filter(|&i| {
                ids(&list[i])
                    .iter()
                    .any(|id| id.is_selected_by(&rep.source))
            })
            .collect();
        let src = match sources.as_slice() {
            [i] => *i,
            [] => {
                return Err(KustomizeError::new(format!(
                    "nothing selected by {}",
                    rep.source
                )));
            }
            _ => {
                return Err(KustomizeError::new(format!(
                    "multiple matches for selector {}",
                    rep.source
                )));
            }
        };
        let found = crate::vars::lookup(&list[src].obj, &rep.source_path)
            .filter(|v| match v {
                Value::Null => false,
                Value::Object(m) => !m.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            })
            .cloned()
            .ok_or_else(|| {
                KustomizeError::new(format!(
                    "fieldPath `{}` is missing for replacement source {}",
                    rep.source_path, rep.source
                ))
            })?;
        let value = if rep.source_options.delimiter.is_empty() {
            found
        } else {
            let text = scalar_text(&found).ok_or_else(|| {
                KustomizeError::new("delimiter option can only be used with scalar nodes")
            })?;
            let parts: Vec<&str> = text.split(rep.source_options.delimiter.as_str()).collect();
            let idx = rep.source_options.index;
            if idx < 0 || idx as usize >= parts.len() {
                return Err(KustomizeError::new(format!(
                    "options.index {idx} is out of bounds for value {text}"
                )));
            }
            Value::String(parts[idx as usize].to_string())
        };
        for t in &rep.targets {
            let select_id = ResId {
                gvk: t.select.gvk.clone(),
                name: t.select.name.clone(),
                namespace: t.select.namespace.clone(),
            };
            for r in list.iter_mut() {
                let only_meta = |s: &Selector| Selector {
                    gvk: Gvk::default(),
                    name: String::new(),
                    namespace: String::new(),
                    ..s.clone()
                };
                let one = std::slice::from_ref(r);
                if crate::selector::select(one, &only_meta(&t.select))?.is_empty() {
                    continue;
                }
                let mut rejected = false;
                for rj in &t.reject {
                    if rj.label_selector.is_empty() && rj.annotation_selector.is_empty() {
                        continue;
                    }
                    if !crate::selector::select(one, &only_meta(rj))?.is_empty() {
                        rejected = true;
                    }
                }
                if rejected {
                    continue;
                }
                let rids = ids(r);
                // A target is rejected when any of its ids (current or
                // previous) matches a reject selector.
                let rejected_id = t.reject.iter().any(|rj| {
                    let rid = ResId {
                        gvk: rj.gvk.clone(),
                        name: rj.name.clone(),
                        namespace: rj.namespace.clone(),
                    };
                    rid != ResId::default() && rids.iter().any(|id| id.is_selected_by(&rid))
                });
                let hit = !rejected_id && rids.iter().any(|id| id.is_selected_by(&select_id));
                if !hit {
                    continue;
                }
                for fp in &t.field_paths {
                    let segs = split_dotted(fp);
                    let mut nodes = Vec::new();
                    let create = t.options.create.then_some(&value);
                    path_nodes(&mut r.obj, &segs, create, &mut nodes);
                    if nodes.is_empty() {
                        return Err(KustomizeError::new(if t.options.create {
                            format!("unable to find or create field \"{fp}\" in replacement target")
                        } else {
                            format!("unable to find field \"{fp}\" in replacement target")
                        }));
                    }
                    for n in nodes {
                        set_field(n, &value, &t.options)?;
                    }
                }
            }
        }
    }
    Ok(())
}
