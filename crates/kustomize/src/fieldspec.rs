//! Field specs: which field of which kinds a transformer touches, the
//! built-in defaults (kustomize's "transformer configurations"), and the
//! path walk that visits (and optionally creates) those fields.

use crate::error::KustomizeError;
use crate::resid::Gvk;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk::default(),
            path: path.to_string(),
            create,
        }
    }

    pub fn from_value(v: &Value) -> Result<FieldSpec, KustomizeError> {
        let m = v
            .as_object()
            .ok_or_else(|| KustomizeError::new(format!("a fieldSpec must be a map, got {v}")))?;
        let mut fs = FieldSpec::new("", false);
        for (k, val) in m {
            let s = || val.as_str().map(str::to_string).unwrap_or_default();
            match k.to_ascii_lowercase().as_str() {
                "group" => fs.gvk.group = s(),
                "version" => fs.gvk.version = s(),
                "kind" => fs.gvk.kind = s(),
                "path" => fs.path = s(),
                "create" => fs.create = val.as_bool().unwrap_or(false),
                // Plugin configs are decoded leniently: other keys are ignored.
                _ => {}
            }
        }
        Ok(fs)
    }

    /// Whether this spec applies to an object (kind/group/version filter).
    pub fn applies_to(&self, obj: &Value) -> bool {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let (g, v) = crate::resid::split_api_version(api);
        (self.gvk.kind.is_empty() || self.gvk.kind == kind)
            && (self.gvk.group.is_empty() || self.gvk.group == g)
            && (self.gvk.version.is_empty() || self.gvk.version == v)
    }
}

/// kustomize's FsSlice.MergeAll: an incoming spec is dropped when an
/// existing one with the same path selects its GVK (so a kind-less spec
/// already present swallows kind-specific ones, and vice versa by order).
pub fn merge_specs(into: &mut Vec<FieldSpec>, more: &[FieldSpec]) -> Result<(), KustomizeError> {
    if more.is_empty() {
        return Ok(());
    }
    // Index the existing specs by path: lists are long, collisions rare.
    let mut by_path: std::collections::HashMap<String, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, x) in into.iter().enumerate() {
        by_path.entry(x.path.clone()).or_default().push(i);
    }
    for fs in more {
        let existing = by_path.get(&fs.path).and_then(|ix| {
            ix.iter()
                .map(|&i| &into[i])
                .find(|x| x.gvk.is_selected(&fs.gvk))
        });
        match existing {
            Some(existing) if existing.create != fs.create => {
                return Err(KustomizeError::new(format!(
                    "conflicting fieldspecs for path '{}' ({})",
                    fs.path, fs.gvk
                )));
            }
            Some(_) => {}
            None => {
                by_path.entry(fs.path.clone()).or_default().push(into.len());
                into.push(fs.clone());
            }
        }
    }
    Ok(())
}

/// kustomize's Gvk.IsLessThan: the legacy kind order, then group/version/kind.
pub fn gvk_less(a: &Gvk, b: &Gvk) -> std::cmp::Ordering {
    let (oa, ob) = (
        crate::sort::type_order(&a.kind),
        crate::sort::type_order(&b.kind),
    );
    oa.cmp(&ob)
        .then_with(|| crate::sort::gvk_sort_string(a).cmp(&crate::sort::gvk_sort_string(b)))
}

fn sort_specs(list: &mut [FieldSpec]) {
    list.sort_by(|a, b| gvk_less(&a.gvk, &b.gvk));
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameBackRef {
    pub gvk: Gvk,
    pub specs: Vec<FieldSpec>,
}

/// All field-spec lists, merged across a build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const DEFAULT_SPECS: &str = include_str!("default.specs");
const NAME_REFERENCE_SPECS: &str = include_str!("namereference.specs");

fn parse_spec_line(line: &str) -> Option<FieldSpec> {
    let mut parts = line.split_whitespace();
    let dash = |s: &str| {
        if s == "-" {
            String::new()
        } else {
            s.to_string()
        }
    };
    let group = dash(parts.next()?);
    let version = dash(parts.next()?);
    let kind = dash(parts.next()?);
    let path = parts.next()?.to_string();
    let create = parts.next() == Some("create");
    Some(FieldSpec {
        gvk: Gvk {
            group,
            version,
            kind,
        },
        path,
        create,
    })
}

impl TransformerConfig {
    /// kustomize's default field specs (parsed once per process, shared).
    pub fn builtin() -> Arc<TransformerConfig> {
        static BUILTIN: OnceLock<Arc<TransformerConfig>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Arc::new(TransformerConfig::parse_builtin()))
            .clone()
    }

    /// The empty configuration (shared, so merges into it can be cached).
    pub fn empty() -> Arc<TransformerConfig> {
        static EMPTY: OnceLock<Arc<TransformerConfig>> = OnceLock::new();
        EMPTY
            .get_or_init(|| Arc::new(TransformerConfig::default()))
            .clone()
    }

    pub fn is_empty(&self) -> bool {
        *self == TransformerConfig::default()
    }

    fn parse_builtin() -> TransformerConfig {
        let mut tc = TransformerConfig::default();
        let mut section = String::new();
        for line in DEFAULT_SPECS.lines() {
            if let Some(s) = line.strip_prefix('[') {
                section = s.trim_end_matches(']').to_string();
                continue;
            }
            let Some(fs) = parse_spec_line(line) else {
                continue;
            };
            if let Some(list) = tc.list_mut(&section) {
                list.push(fs);
            }
        }
        for line in NAME_REFERENCE_SPECS.lines() {
            if line.starts_with("  ") {
                if let (Some(fs), Some(last)) =
                    (parse_spec_line(line), tc.name_reference.last_mut())
                {
                    last.specs.push(fs);
                }
            } else {
                let p: Vec<&str> = line.split_whitespace().collect();
                if p.len() == 3 {
                    let dash = |s: &str| {
                        if s == "-" {
                            String::new()
                        } else {
                            s.to_string()
                        }
                    };
                    tc.name_reference.push(NameBackRef {
                        gvk: Gvk {
                            group: dash(p[0]),
                            version: dash(p[1]),
                            kind: p[2].to_string(),
                        },
                        specs: Vec::new(),
                    });
                }
            }
        }
        tc.sort();
        tc
    }

    fn list_mut(&mut self, section: &str) -> Option<&mut Vec<FieldSpec>> {
        Some(match section.to_ascii_lowercase().as_str() {
            "nameprefix" => &mut self.name_prefix,
            "namesuffix" => &mut self.name_suffix,
            "namespace" => &mut self.namespace,
            "commonlabels" => &mut self.common_labels,
            "labels" => &mut self.labels,
            "templatelabels" => &mut self.template_labels,
            "commonannotations" => &mut self.common_annotations,
            "varreference" => &mut self.var_reference,
            "images" => &mut self.images,
            "replicas" => &mut self.replicas,
            _ => return None,
        })
    }

    /// Parse a `configurations:` file (or CRD-derived config) and merge it in.
    pub fn merge_value(&mut self, v: &Value) -> Result<(), KustomizeError> {
        let Some(m) = v.as_object() else {
            if v.is_null() {
                return Ok(());
            }
            return Err(KustomizeError::new(
                "a transformer configuration must be a map",
            ));
        };
        for (key, list) in m {
            let items = match list {
                Value::Array(a) => a.as_slice(),
                Value::Null => &[],
                _ => {
                    return Err(KustomizeError::new(format!(
                        "json: cannot unmarshal {key} into a list of fieldSpecs"
                    )));
                }
            };
            if key.eq_ignore_ascii_case("nameReference") {
                for item in items {
                    let im = item.as_object().ok_or_else(|| {
                        KustomizeError::new("a nameReference entry must be a map")
                    })?;
                    let mut gvk = Gvk::default();
                    let mut specs = Vec::new();
                    for (k, val) in im {
                        let s = || val.as_str().unwrap_or("").to_string();
                        match k.to_ascii_lowercase().as_str() {
                            "group" => gvk.group = s(),
                            "version" => gvk.version = s(),
                            "kind" => gvk.kind = s(),
                            "fieldspecs" => {
                                for f in val.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                                    specs.push(FieldSpec::from_value(f)?);
                                }
                            }
                            other => {
                                return Err(KustomizeError::new(format!(
                                    "json: unknown field \"{other}\" in nameReference"
                                )));
                            }
                        }
                    }
                    self.name_reference.push(NameBackRef { gvk, specs });
                }
                continue;
            }
            let mut specs = Vec::new();
            for item in items {
                specs.push(FieldSpec::from_value(item)?);
            }
            match self.list_mut(key) {
                Some(list) => list.extend(specs),
                None => {
                    return Err(KustomizeError::new(format!(
                        "error unmarshaling JSON: while decoding JSON: json: unknown field \"{key}\""
                    )));
                }
            }
        }
        Ok(())
    }

    /// kustomize's nbrSlice.mergeOne.
    pub fn add_name_reference(&mut self, nbr: NameBackRef) -> Result<(), KustomizeError> {
        if let Some(existing) = self.name_reference.iter_mut().find(|x| x.gvk == nbr.gvk) {
            merge_specs(&mut existing.specs, &nbr.specs)?;
        } else {
            self.name_reference.push(nbr);
        }
        Ok(())
    }

    /// Sort every list as kustomize does after loading or merging.
    pub fn sort(&mut self) {
        for list in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.namespace,
            &mut self.common_labels,
            &mut self.labels,
            &mut self.template_labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            sort_specs(list);
        }
        self.name_reference.sort_by(|a, b| gvk_less(&a.gvk, &b.gvk));
    }

    /// kustomize's TransformerConfig.Merge: merge each list, then sort.
    pub fn merged(&self, other: &TransformerConfig) -> Result<TransformerConfig, KustomizeError> {
        // Merging a config into itself changes nothing (each spec selects itself).
        if self == other {
            return Ok(self.clone());
        }
        let mut m = self.clone();
        merge_specs(&mut m.name_prefix, &other.name_prefix)?;
        merge_specs(&mut m.name_suffix, &other.name_suffix)?;
        merge_specs(&mut m.namespace, &other.namespace)?;
        merge_specs(&mut m.common_annotations, &other.common_annotations)?;
        merge_specs(&mut m.common_labels, &other.common_labels)?;
        merge_specs(&mut m.labels, &other.labels)?;
        merge_specs(&mut m.template_labels, &other.template_labels)?;
        merge_specs(&mut m.var_reference, &other.var_reference)?;
        for nbr in &other.name_reference {
            m.add_name_reference(nbr.clone())?;
        }
        merge_specs(&mut m.images, &other.images)?;
        merge_specs(&mut m.replicas, &other.replicas)?;
        m.sort();
        Ok(m)
    }
}

/// Merges of shared configurations, memoised: in a large tree every
/// directory merges the same builtin configuration again and again.
#[derive(Default)]
pub struct MergeCache {
    done: HashMap<(usize, usize), CachedMerge>,
}

/// (left, right, result); the inputs are kept alive so their addresses stay unique.
type CachedMerge = (
    Arc<TransformerConfig>,
    Arc<TransformerConfig>,
    Arc<TransformerConfig>,
);

impl MergeCache {
    pub fn merge(
        &mut self,
        a: &Arc<TransformerConfig>,
        b: &Arc<TransformerConfig>,
    ) -> Result<Arc<TransformerConfig>, KustomizeError> {
        if Arc::ptr_eq(a, b) || b.is_empty() {
            return Ok(a.clone());
        }
        let key = (Arc::as_ptr(a) as usize, Arc::as_ptr(b) as usize);
        if let Some((_, _, r)) = self.done.get(&key) {
            return Ok(r.clone());
        }
        // Keep the left pointer when nothing changes, so later merges hit.
        let r = if **a == **b {
            a.clone()
        } else {
            let m = a.merged(b)?;
            if m == **a { a.clone() } else { Arc::new(m) }
        };
        self.done.insert(key, (a.clone(), b.clone(), r.clone()));
        Ok(r)
    }
}

/// Split a field path on `/`, honouring `\/` escapes.
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            cur.push('/');
            chars.next();
        } else if c == '/' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// What to create when a field on the path is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never create.
    Nothing,
    /// Create a map at the end of the path (labels, annotations).
    Map,
    /// Create a string at the end of the path (namespace, images).
    Scalar,
}

pub type Setter<'a> = dyn FnMut(&mut Value) -> Result<(), KustomizeError> + 'a;

/// Visit the field `fs.path` of `obj` (if `fs` applies to it), creating
/// missing fields when `fs.create` says so, and call `set` on each match.
pub fn apply(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Create,
    set: &mut Setter,
) -> Result<(), KustomizeError> {
    if !fs.applies_to(obj) {
        return Ok(());
    }
    let path = split_path(&fs.path);
    let create = if fs.create { create } else { Create::Nothing };
    walk(obj, &path, create, set).map_err(|e| {
        e.context(format!(
            "considering field '{}' of object {}",
            fs.path,
            crate::resid::ResId::of(obj)
        ))
    })
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: Create,
    set: &mut Setter,
) -> Result<(), KustomizeError> {
    if path.is_empty() {
        return set(node);
    }
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, path, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (field, is_seq) = match path[0].strip_suffix("[]") {
                Some(f) => (f, true),
                None => (path[0].as_str(), false),
            };
            let last = path.len() == 1;
            if !map.contains_key(field) {
                if create == Create::Nothing || is_seq {
                    return Ok(());
                }
                let fresh = if !last || create == Create::Map {
                    Value::Object(Map::new())
                } else {
                    Value::String(String::new())
                };
                map.insert(field.to_string(), fresh);
            }
            let Some(child) = map.get_mut(field) else {
                return Ok(());
            };
            if child.is_null() {
                if is_seq {
                    *child = Value::Array(Vec::new());
                } else if create != Create::Nothing {
                    if !last || create == Create::Map {
                        *child = Value::Object(Map::new());
                    } else {
                        *child = Value::String(String::new());
                    }
                } else {
                    return Ok(());
                }
            }
            walk(child, &path[1..], create, set)
        }
        _ => Err(KustomizeError::new("expected sequence or mapping node")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_config_has_every_section() {
        let tc = TransformerConfig::builtin();
        assert_eq!(tc.name_prefix.len(), 1);
        assert!(tc.common_labels.len() > 20);
        assert!(
            tc.name_reference
                .iter()
                .any(|n| n.gvk.kind == "ConfigMap" && n.specs.len() > 40)
        );
        assert!(tc.images.len() == 4 && tc.replicas.len() == 4);
    }

    #[test]
    fn walk_creates_and_visits_sequences() {
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "b"}]}}}});
        let fs = FieldSpec::new("spec/template/spec/containers[]/image", true);
        let mut seen = Vec::new();
        apply(&mut obj, &fs, Create::Scalar, &mut |v| {
            seen.push(v.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![json!("a"), json!("b")]);
        let fs = FieldSpec::new("metadata/labels", true);
        apply(&mut obj, &fs, Create::Map, &mut |v| {
            v.as_object_mut().unwrap().insert("x".into(), json!("y"));
            Ok(())
        })
        .unwrap();
        assert_eq!(obj["metadata"]["labels"]["x"], "y");
    }

    #[test]
    fn escaped_slash_stays_in_one_segment() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
    }
}
