//! The builtin field transformers: namespace, name prefix/suffix, labels,
//! annotations, images and replicas.

use crate::error::KustomizeError;
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustomization::{check_fields, field};
use crate::resid::Gvk;
use crate::resource::{Resource, ensure_object};
use serde_json::Value;

fn set_string(node: &mut Value, s: &str) {
    *node = Value::String(s.to_string());
}

/// NamespaceTransformer.
pub fn namespace(
    list: &mut [Resource],
    ns: &str,
    specs: &[FieldSpec],
    subjects_mode: &str,
    unset_only: bool,
) -> Result<(), KustomizeError> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in list.iter_mut() {
        if r.is_empty() {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        let api = gvk.api_version();
        let mut fss: Vec<FieldSpec> = specs
            .iter()
            .filter(|fs| fs.path != "metadata/namespace")
            .filter(|fs| !(api != "v1" && fs.path == "metadata/name"))
            .cloned()
            .collect();
        let mut setter = |v: &mut Value| {
            if unset_only && v.as_str().is_some_and(|s| !s.is_empty()) {
                return Ok(());
            }
            set_string(v, ns);
            Ok(())
        };
        if !gvk.is_cluster_scoped() {
            fieldspec::apply(
                &mut r.obj,
                &FieldSpec::new("metadata/namespace", true),
                Create::Scalar,
                &mut setter,
            )?;
        }
        if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
            fss.retain(|fs| {
                !(fs.path == "subjects/namespace"
                    && (fs.gvk.kind == "RoleBinding" || fs.gvk.kind == "ClusterRoleBinding"))
            });
            if let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") {
                for s in subjects.iter_mut() {
                    let Some(sm) = s.as_object_mut() else {
                        continue;
                    };
                    let hit = match subjects_mode {
                        "none" => false,
                        "allServiceAccounts" => {
                            sm.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                        }
                        _ => sm.get("name").and_then(Value::as_str) == Some("default"),
                    };
                    if hit {
                        let cur = sm.get("namespace").and_then(Value::as_str).unwrap_or("");
                        if !unset_only || cur.is_empty() {
                            sm.insert("namespace".into(), Value::String(ns.to_string()));
                        }
                    }
                }
            }
        }
        for fs in &fss {
            fieldspec::apply(&mut r.obj, fs, Create::Scalar, &mut setter)
                .map_err(|e| e.context("namespace transformation failed"))?;
        }
    }
    let ids: Vec<_> = list.iter().map(Resource::cur_id).collect();
    for (i, id) in ids.iter().enumerate() {
        if ids.iter().enumerate().any(|(j, o)| j != i && o.equals(id)) {
            return Err(KustomizeError::new(format!(
                "namespace transformation produces ID conflict: {id}"
            )));
        }
    }
    Ok(())
}

fn skip_for_prefix(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
        || gvk.kind == "Namespace"
}

/// PrefixTransformer / SuffixTransformer.
pub fn prefix_suffix(
    list: &mut [Resource],
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) -> Result<(), KustomizeError> {
    for r in list.iter_mut() {
        let org = r.org_id();
        if skip_for_prefix(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                if !prefix.is_empty() {
                    r.prefixes.push(prefix.to_string());
                }
                if !suffix.is_empty() {
                    r.suffixes.push(suffix.to_string());
                }
                if !prefix.is_empty() || !suffix.is_empty() {
                    r.store_previous_id();
                }
            }
            fieldspec::apply(&mut r.obj, fs, Create::Nothing, &mut |v| {
                if let Value::String(s) = v {
                    *s = format!("{prefix}{s}{suffix}");
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Set map entries (labels/annotations) at every field spec.
pub fn set_entries(
    list: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), KustomizeError> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    for r in list.iter_mut() {
        for fs in specs {
            fieldspec::apply(&mut r.obj, fs, Create::Map, &mut |v| {
                let m = ensure_object(v);
                for (k, val) in &sorted {
                    m.insert(k.clone(), Value::String(val.clone()));
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Label pairs and the field specs they go to.
pub type LabelEntry = (Vec<(String, String)>, Vec<FieldSpec>);

/// One `labels:` entry resolved to its pairs and field specs.
pub fn label_entry(
    entry: &Value,
    tc: &crate::fieldspec::TransformerConfig,
) -> Result<LabelEntry, KustomizeError> {
    let m = entry
        .as_object()
        .ok_or_else(|| KustomizeError::new("a labels entry must be a map"))?;
    check_fields(
        "Kustomization",
        m,
        &["pairs", "includeselectors", "includetemplates", "fields"],
    )?;
    let pairs = match field(m, "pairs") {
        Some(p) => crate::kustomization::string_map("labels.pairs", p)?,
        None => Vec::new(),
    };
    let mut fss = Vec::new();
    if let Some(Value::Array(fields)) = field(m, "fields") {
        for f in fields {
            fss.push(FieldSpec::from_value(f)?);
        }
    }
    fieldspec::merge_specs(&mut fss, &tc.labels)?;
    let flag = |n: &str| field(m, n).and_then(Value::as_bool).unwrap_or(false);
    if flag("includeSelectors") {
        fieldspec::merge_specs(&mut fss, &tc.common_labels)?;
    } else {
        if flag("includeTemplates") {
            fieldspec::merge_specs(&mut fss, &tc.template_labels)?;
        }
        fieldspec::merge_specs(&mut fss, &[FieldSpec::new("metadata/labels", true)])?;
    }
    Ok((pairs, fss))
}

/// An `images:` entry.
#[derive(Debug, Clone, Default)]
pub struct ImageRule {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
}

impl ImageRule {
    pub fn parse(v: &Value) -> Result<ImageRule, KustomizeError> {
        let m = v.as_object().ok_or_else(|| {
            KustomizeError::new(format!("an images entry must be a map, got {v}"))
        })?;
        check_fields("Kustomization", m, &["name", "newname", "newtag", "digest"])?;
        let s = |n: &str| match field(m, n) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        Ok(ImageRule {
            name: s("name"),
            new_name: s("newName"),
            new_tag: s("newTag"),
            digest: s("digest"),
        })
    }
}

/// Split an image reference into name, tag and digest, as kustomize does.
pub fn split_image(image: &str) -> (String, String, String) {
    let (search, offset) = match image.find('/') {
        Some(i) if i > 0 => (&image[i..], i),
        _ => (image, 0),
    };
    let id = search.find('@');
    let ic = search.find(':');
    match (id, ic) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (Some(d), c) if c.is_none() || Some(d) < c => {
            let d = d + offset;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(d), Some(c)) => {
            let (d, c) = (d + offset, c + offset);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (None, Some(c)) => {
            let c = c + offset;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (Some(_), None) => (image.to_string(), String::new(), String::new()),
    }
}

/// kustomize matches images with the regex `^NAME(@sha256)?(:[a-zA-Z0-9_.{}-]*)?$`.
/// Names are nearly always plain (letters, digits, `/`, `-`, `_`, `:` and
/// `.`, where `.` matches any character); those are matched without a regex.
pub struct ImageMatcher {
    name: Vec<char>,
    regex: Option<regex::Regex>,
}

impl ImageMatcher {
    pub fn new(name: &str) -> Result<ImageMatcher, KustomizeError> {
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | ':' | '.' | '@'));
        let regex = if plain {
            None
        } else {
            Some(
                crate::selector::cached_regex(&format!(
                    "^{name}(@sha256)?(:[a-zA-Z0-9_.{{}}-]*)?$"
                ))
                .map_err(|e| KustomizeError::new(format!("invalid image name '{name}': {e}")))?,
            )
        };
        Ok(ImageMatcher {
            name: name.chars().collect(),
            regex,
        })
    }

    pub fn is_match(&self, s: &str) -> bool {
        if let Some(re) = &self.regex {
            return re.is_match(s);
        }
        let mut chars = s.chars();
        for &n in &self.name {
            match chars.next() {
                Some(c) if n == '.' || c == n => {}
                _ => return false,
            }
        }
        let rest = chars.as_str();
        let rest = rest.strip_prefix("@sha256").unwrap_or(rest);
        match rest.strip_prefix(':') {
            None => rest.is_empty(),
            Some(tag) => tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '{' | '}' | '-')),
        }
    }
}

fn update_image(value: &mut Value, rule: &ImageRule, re: &ImageMatcher) {
    let Value::String(s) = value else { return };
    if !re.is_match(s) {
        return;
    }
    let (mut name, mut tag, mut digest) = split_image(s);
    if !rule.new_name.is_empty() {
        name = rule.new_name.clone();
    }
    if !rule.new_tag.is_empty() && !rule.digest.is_empty() {
        tag = rule.new_tag.clone();
        digest = rule.digest.clone();
    } else if !rule.new_tag.is_empty() {
        tag = rule.new_tag.clone();
        digest.clear();
    } else if !rule.digest.is_empty() {
        tag.clear();
        digest = rule.digest.clone();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    *s = name;
}

fn legacy_images(node: &mut Value, rule: &ImageRule, re: &ImageMatcher) {
    match node {
        Value::Object(m) => {
            for key in ["containers", "initContainers"] {
                if let Some(Value::Array(cs)) = m.get_mut(key) {
                    for c in cs.iter_mut() {
                        if let Some(img) = c.get_mut("image") {
                            update_image(img, rule, re);
                        }
                    }
                }
            }
            for (_, v) in m.iter_mut() {
                legacy_images(v, rule, re);
            }
        }
        Value::Array(items) => {
            for i in items {
                legacy_images(i, rule, re);
            }
        }
        _ => {}
    }
}

/// ImageTagTransformer.
pub fn images(
    list: &mut [Resource],
    rule: &ImageRule,
    specs: &[FieldSpec],
) -> Result<(), KustomizeError> {
    let re = ImageMatcher::new(&rule.name)?;
    for r in list.iter_mut() {
        legacy_images(&mut r.obj, rule, &re);
        for fs in specs {
            fieldspec::apply(&mut r.obj, fs, Create::Nothing, &mut |v| {
                update_image(v, rule, &re);
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// ReplicaCountTransformer.
pub fn replicas(
    list: &mut [Resource],
    entry: &Value,
    specs: &[FieldSpec],
) -> Result<(), KustomizeError> {
    let m = entry.as_object().ok_or_else(|| {
        KustomizeError::new(format!("a replicas entry must be a map, got {entry}"))
    })?;
    check_fields("Kustomization", m, &["name", "count"])?;
    let name = field(m, "name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let count = field(m, "count").cloned().unwrap_or(Value::from(0));
    let mut found = false;
    for fs in specs {
        for r in list.iter_mut() {
            let ids: Vec<_> = r
                .prev_ids()
                .into_iter()
                .chain(std::iter::once(r.cur_id()))
                .collect();
            if !ids
                .iter()
                .any(|id| id.name == name && id.gvk.is_selected(&fs.gvk))
            {
                continue;
            }
            found = true;
            fieldspec::apply(&mut r.obj, fs, Create::Scalar, &mut |v| {
                *v = count.clone();
                Ok(())
            })?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|f| f.gvk.to_string()).collect();
        return Err(KustomizeError::new(format!(
            "resource with name {name} does not match a config with the following GVK [{}]",
            gvks.join(" ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_image_names_match_like_the_regex() {
        let names = ["nginx", "registry.example.com/app", "my-app", "a.b"];
        let images = [
            "nginx",
            "nginx:1.7",
            "nginx@sha256:abc",
            "nginx@sha256",
            "nginxx",
            "nginx:bad/tag",
            "registry.example.com/app:v1",
            "registryXexample.com/app",
            "my-app:1",
            "aXb",
            "a.b:c{d}",
            "nginx:",
        ];
        for n in names {
            let fast = ImageMatcher::new(n).unwrap();
            let re = regex::Regex::new(&format!("^{n}(@sha256)?(:[a-zA-Z0-9_.{{}}-]*)?$")).unwrap();
            for i in images {
                assert_eq!(fast.is_match(i), re.is_match(i), "name {n} image {i}");
            }
        }
    }

    #[test]
    fn splits_images_like_kustomize() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split_image("nginx:1.7"),
            ("nginx".into(), "1.7".into(), "".into())
        );
        assert_eq!(
            split_image("host:5000/app:v1@sha256:abc"),
            ("host:5000/app".into(), "v1".into(), "sha256:abc".into())
        );
        assert_eq!(
            split_image("app@sha256:abc"),
            ("app".into(), "".into(), "sha256:abc".into())
        );
    }
}
