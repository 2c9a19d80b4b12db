//! Patch/replacement target selectors: GVK, anchored name/namespace regexes,
//! and Kubernetes label/annotation selector expressions.

use crate::error::KustomizeError;
use crate::kustomization::{check_fields, field};
use crate::resid::Gvk;
use crate::resource::Resource;
use regex::Regex;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

impl Selector {
    pub fn parse(v: &Value) -> Result<Selector, KustomizeError> {
        let m = v.as_object().ok_or_else(|| {
            KustomizeError::new(format!("a target selector must be a map, got {v}"))
        })?;
        check_fields(
            "target",
            m,
            &[
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "labelselector",
                "annotationselector",
            ],
        )?;
        let s = |n: &str| {
            field(m, n)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Ok(Selector {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            name: s("name"),
            namespace: s("namespace"),
            label_selector: s("labelSelector"),
            annotation_selector: s("annotationSelector"),
        })
    }
}

/// Compile a regex once per thread: large trees repeat the same patterns.
pub fn cached_regex(pattern: &str) -> Result<Regex, regex::Error> {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, Regex>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    CACHE.with(|c| {
        if let Some(re) = c.borrow().get(pattern) {
            return Ok(re.clone());
        }
        let re = Regex::new(pattern)?;
        c.borrow_mut().insert(pattern.to_string(), re.clone());
        Ok(re)
    })
}

fn anchored(p: &str) -> Result<Option<Regex>, KustomizeError> {
    if p.is_empty() {
        return Ok(None);
    }
    cached_regex(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| KustomizeError::new(format!("invalid selector regex '{p}': {e}")))
}

/// Indices of the resources a selector picks.
pub fn select(list: &[Resource], s: &Selector) -> Result<Vec<usize>, KustomizeError> {
    let name_re = anchored(&s.name)?;
    let ns_re = anchored(&s.namespace)?;
    let labels = parse_label_selector(&s.label_selector)?;
    let annos = parse_label_selector(&s.annotation_selector)?;
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let cur = r.cur_id();
        let org = r.org_id();
        if let Some(re) = &ns_re
            && !re.is_match(org.effective_namespace())
            && !re.is_match(cur.effective_namespace())
        {
            continue;
        }
        if let Some(re) = &name_re
            && !re.is_match(&org.name)
            && !re.is_match(&cur.name)
        {
            continue;
        }
        let g = &cur.gvk;
        if (!s.gvk.group.is_empty() && s.gvk.group != g.group)
            || (!s.gvk.version.is_empty() && s.gvk.version != g.version)
            || (!s.gvk.kind.is_empty() && s.gvk.kind != g.kind)
        {
            continue;
        }
        if !matches(&labels, &r.labels()) || !matches(&annos, &r.annotations()) {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_label_selector(s: &str) -> Result<Vec<Req>, KustomizeError> {
    let mut reqs = Vec::new();
    for part in split_top(s) {
        let bad = || {
            KustomizeError::new(format!(
                "unable to parse requirement '{part}' of selector '{s}'"
            ))
        };
        if let Some(k) = part.strip_prefix('!') {
            reqs.push(Req::NotExists(k.trim().to_string()));
        } else if let Some((k, v)) = part.split_once("!=") {
            reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = part.split_once("==") {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = part.split_once('=') {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some(open) = part.find('(') {
            let head: Vec<&str> = part[..open].split_whitespace().collect();
            let inner = part[open + 1..]
                .trim_end()
                .strip_suffix(')')
                .ok_or_else(bad)?;
            let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
            match head.as_slice() {
                [k, "in"] => reqs.push(Req::In(k.to_string(), vals)),
                [k, "notin"] => reqs.push(Req::NotIn(k.to_string(), vals)),
                _ => return Err(bad()),
            }
        } else {
            reqs.push(Req::Exists(part.trim().to_string()));
        }
    }
    Ok(reqs)
}

fn matches(reqs: &[Req], m: &Map<String, Value>) -> bool {
    let get = |k: &str| m.get(k).and_then(Value::as_str);
    reqs.iter().all(|r| match r {
        Req::Eq(k, v) => get(k) == Some(v.as_str()),
        Req::Ne(k, v) => get(k) != Some(v.as_str()),
        Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        Req::Exists(k) => m.contains_key(k),
        Req::NotExists(k) => !m.contains_key(k),
    })
}
