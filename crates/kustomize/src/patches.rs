//! kustomize's patch transformers: which resources a patch targets, patch
//! files versus inline text, multi-document patches, whole-resource deletion.
//! The merge itself (strategic merge, RFC 6902) is `flotilla-patch`.

use crate::error::KustomizeError;
use crate::kustomization::{check_fields, field};
use crate::loader::Loader;
use crate::resid::ResId;
use crate::resource::{self, Resource};
use crate::selector::{self, Selector};
use flotilla_patch::MergeSchema;
use serde_json::Value;

/// Parse text as strategic-merge patch documents (maps). `None` if the text
/// is not a YAML stream of maps.
pub fn parse_sm(text: &str) -> Option<Vec<Value>> {
    let docs = flotilla_model::yaml::parse_stream(text).ok()?;
    let mut out = Vec::new();
    for d in docs {
        match d {
            Value::Object(_) => out.push(d),
            Value::Null => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Parse text as a JSON 6902 operation list (JSON, or the same in YAML).
pub fn parse_json_ops(text: &str) -> Option<Value> {
    let t = text.trim_start();
    if t.starts_with('[')
        && let Ok(v) = serde_json::from_str::<Value>(t)
    {
        return v.is_array().then_some(v);
    }
    let docs = flotilla_model::yaml::parse_stream(text).ok()?;
    match docs.as_slice() {
        [] => Some(Value::Array(Vec::new())),
        [v @ Value::Array(_)] => Some(v.clone()),
        _ => None,
    }
}

fn is_deleted(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// kustomize's Resource.ApplySmPatch: merge, then restore identity fields
/// unless the patch may change them.
pub fn apply_sm(
    target: &mut Resource,
    patch: &Value,
    allow_name: bool,
    allow_kind: bool,
    schema: &MergeSchema,
) -> Result<(), KustomizeError> {
    let (n, ns, k) = (
        target.name().to_string(),
        target.namespace().to_string(),
        target.kind().to_string(),
    );
    if allow_name || allow_kind {
        target.store_previous_id();
    }
    let merged = flotilla_patch::strategic_merge(&target.obj, patch, schema)
        .map_err(|e| KustomizeError::new(e.to_string()))?;
    if is_deleted(&merged) {
        target.obj = Value::Null;
        return Ok(());
    }
    target.obj = merged;
    if !allow_kind {
        resource::ensure_object(&mut target.obj).insert("kind".into(), Value::String(k));
    }
    if !allow_name {
        target.set_name(&n);
    }
    if ns.is_empty() {
        target.metadata_mut().remove("namespace");
    } else {
        target.set_namespace(&ns);
    }
    Ok(())
}

fn drop_deleted(list: &mut Vec<Resource>) {
    list.retain(|r| !r.is_empty());
}

/// The set of strategic-merge patches of a `patchesStrategicMerge` list.
pub fn load_psm(entries: &[String], ldr: &Loader) -> Result<Vec<Value>, KustomizeError> {
    let mut out = Vec::new();
    for e in entries {
        // An entry is inline YAML when it parses as objects, else a file path.
        match parse_sm(e) {
            Some(docs) if !docs.is_empty() => out.extend(docs),
            _ => {
                let text = ldr.load_string(e)?;
                let docs = parse_sm(&text).ok_or_else(|| {
                    KustomizeError::new(format!("'{e}' is not a strategic merge patch"))
                })?;
                out.extend(docs);
            }
        }
    }
    if out.is_empty() {
        return Err(KustomizeError::new(format!(
            "patch appears to be empty; files={entries:?}"
        )));
    }
    Ok(out)
}

/// PatchStrategicMergeTransformer.
pub fn apply_psm(
    list: &mut Vec<Resource>,
    patches: &[Value],
    schema: &MergeSchema,
) -> Result<(), KustomizeError> {
    for p in patches {
        let id = ResId::of(p);
        let i = resource::get_by_id(list, &id)?;
        let mut patch = p.clone();
        // Targeted copy: the patch takes the target's apiVersion.
        if let Some(av) = list[i].obj.get("apiVersion").cloned() {
            resource::ensure_object(&mut patch).insert("apiVersion".into(), av);
        }
        apply_sm(&mut list[i], &patch, false, false, schema)?;
        drop_deleted(list);
    }
    Ok(())
}

/// One `patches:` entry, configured.
pub struct PatchEntry {
    pub source: String,
    pub sm: Option<Vec<Value>>,
    pub json: Option<Value>,
    pub target: Option<Selector>,
    pub allow_name: bool,
    pub allow_kind: bool,
}

impl PatchEntry {
    pub fn parse(v: &Value, ldr: &Loader) -> Result<PatchEntry, KustomizeError> {
        let m = v.as_object().ok_or_else(|| {
            KustomizeError::new(format!("a patches entry must be a map, got {v}"))
        })?;
        check_fields("Kustomization", m, &["path", "patch", "target", "options"])?;
        let path = field(m, "path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let inline = field(m, "patch")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let (text, source) = match (inline.is_empty(), path.is_empty()) {
            (true, true) => return Err(KustomizeError::new("must specify one of patch and path")),
            (false, false) => {
                return Err(KustomizeError::new(
                    "patch and path can't be set at the same time",
                ));
            }
            (false, true) => (inline.clone(), format!("[patch: {inline:?}]")),
            (true, false) => (
                ldr.load_string(&path).map_err(|e| {
                    e.context(format!("failed to get the patch file from path({path})"))
                })?,
                format!("[path: {path:?}]"),
            ),
        };
        let target = match field(m, "target") {
            Some(Value::Null) | None => None,
            Some(t) => Some(Selector::parse(t)?),
        };
        let opt = |n: &str| {
            field(m, "options")
                .and_then(Value::as_object)
                .and_then(|o| field(o, n))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let sm = parse_sm(&text);
        let json = if sm.as_ref().is_some_and(|d| !d.is_empty()) {
            None
        } else {
            parse_json_ops(&text)
        };
        let sm_ok = sm.is_some();
        let json_ok = json.is_some();
        if sm_ok && json_ok {
            return Err(KustomizeError::new(format!(
                "illegally qualifies as both an SM and JSON patch: {source}"
            )));
        }
        if !sm_ok && !json_ok {
            return Err(KustomizeError::new(format!(
                "unable to parse SM or JSON patch from {source}"
            )));
        }
        Ok(PatchEntry {
            source,
            sm,
            json,
            target,
            allow_name: opt("allowNameChange"),
            allow_kind: opt("allowKindChange"),
        })
    }

    pub fn apply(
        &self,
        list: &mut Vec<Resource>,
        schema: &MergeSchema,
    ) -> Result<(), KustomizeError> {
        if let Some(sm) = &self.sm {
            if let Some(target) = &self.target {
                if sm.len() > 1 {
                    return Err(KustomizeError::new(format!(
                        "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {}",
                        self.source
                    )));
                }
                let Some(patch) = sm.first() else {
                    return Ok(());
                };
                let selected = selector::select(list, target)?;
                for i in selected {
                    let mut p = patch.clone();
                    let pm = resource::ensure_object(&mut p);
                    if let Some(av) = list[i].obj.get("apiVersion").cloned() {
                        pm.insert("apiVersion".into(), av);
                    }
                    if !pm.contains_key("kind")
                        && let Some(k) = list[i].obj.get("kind").cloned()
                    {
                        pm.insert("kind".into(), k);
                    }
                    apply_sm(&mut list[i], &p, self.allow_name, self.allow_kind, schema)?;
                }
                drop_deleted(list);
                return Ok(());
            }
            for patch in sm {
                let id = ResId::of(patch);
                let i = resource::get_by_id(list, &id).map_err(|e| {
                    e.context(format!(
                        "no resource matches strategic merge patch \"{id}\""
                    ))
                })?;
                apply_sm(
                    &mut list[i],
                    patch,
                    self.allow_name,
                    self.allow_kind,
                    schema,
                )?;
                drop_deleted(list);
            }
            return Ok(());
        }
        let Some(ops) = &self.json else { return Ok(()) };
        let Some(target) = &self.target else {
            return Err(KustomizeError::new(format!(
                "must specify a target for JSON patch {}",
                self.source
            )));
        };
        apply_json(list, target, ops)
    }
}

/// Apply JSON 6902 operations to every selected resource.
pub fn apply_json(
    list: &mut [Resource],
    target: &Selector,
    ops: &Value,
) -> Result<(), KustomizeError> {
    for i in selector::select(list, target)? {
        let r = &mut list[i];
        r.store_previous_id();
        r.obj = flotilla_patch::json_patch(&r.obj, ops).map_err(|e| {
            KustomizeError::new(format!("applying JSON patch to {}: {e}", r.cur_id()))
        })?;
    }
    Ok(())
}

/// A legacy `patchesJson6902` entry.
pub fn legacy_json6902(v: &Value, ldr: &Loader) -> Result<(Selector, Value), KustomizeError> {
    let m = v.as_object().ok_or_else(|| {
        KustomizeError::new(format!("a patchesJson6902 entry must be a map, got {v}"))
    })?;
    check_fields("Kustomization", m, &["path", "patch", "target", "options"])?;
    let target = match field(m, "target") {
        Some(t) if !t.is_null() => Selector::parse(t)?,
        _ => return Err(KustomizeError::new("must specify a target for patch")),
    };
    let path = field(m, "path").and_then(Value::as_str).unwrap_or("");
    let inline = field(m, "patch").and_then(Value::as_str).unwrap_or("");
    let text = if !path.is_empty() {
        ldr.load_string(path)?
    } else {
        inline.to_string()
    };
    let ops = parse_json_ops(&text)
        .ok_or_else(|| KustomizeError::new(format!("unable to parse JSON patch from '{path}'")))?;
    Ok((target, ops))
}
