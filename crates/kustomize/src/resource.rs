//! A resource under construction: the object plus the build-time bookkeeping
//! kustomize keeps in internal annotations (previous ids, prefixes, suffixes,
//! generator behaviour), and the list operations kustomize's ResMap offers.

use crate::error::KustomizeError;
use crate::resid::{Gvk, ResId};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub obj: Value,
    /// (kind, name, effective namespace) before each rename, oldest first.
    pub prev: Vec<(String, String, String)>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    pub behavior: Behavior,
    pub needs_hash: bool,
    pub origin: Option<crate::origin::Origin>,
    /// Names of the vars whose value comes from this resource.
    pub ref_vars: Vec<String>,
    pub transformations: Vec<crate::origin::Origin>,
}

impl Resource {
    pub fn new(obj: Value) -> Resource {
        Resource {
            obj,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: Behavior::Create,
            needs_hash: false,
            origin: None,
            ref_vars: Vec::new(),
            transformations: Vec::new(),
        }
    }

    pub fn cur_id(&self) -> ResId {
        ResId::of(&self.obj)
    }

    pub fn gvk(&self) -> Gvk {
        self.cur_id().gvk
    }

    pub fn kind(&self) -> &str {
        self.obj.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev
            .iter()
            .map(|(k, n, ns)| ResId {
                gvk: Gvk::new(&gvk.group, &gvk.version, k),
                name: n.clone(),
                namespace: ns.clone(),
            })
            .collect()
    }

    pub fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        let ns = id.effective_namespace().to_string();
        self.prev.push((id.gvk.kind.clone(), id.name.clone(), ns));
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = ensure_object(&mut self.obj);
        let md = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        ensure_object(md)
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    pub fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    pub fn labels(&self) -> Map<String, Value> {
        self.obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn annotations(&self) -> Map<String, Value> {
        self.obj
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        match &self.obj {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            _ => false,
        }
    }
}

pub fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// The identity key kustomize's `Equals` compares: GVK, name, effective namespace.
pub type IdKey = (Gvk, String, String);

pub fn id_key(r: &Resource) -> IdKey {
    let id = r.cur_id();
    let ns = id.effective_namespace().to_string();
    (id.gvk, id.name, ns)
}

fn conflict(id: &ResId) -> KustomizeError {
    KustomizeError::new(format!(
        "may not add resource with an already registered id: {id}"
    ))
}

/// Append, refusing an id that is already present.
pub fn append(list: &mut Vec<Resource>, res: Resource) -> Result<(), KustomizeError> {
    let id = res.cur_id();
    let name = id.name.as_str();
    if list
        .iter()
        .any(|r| r.name() == name && r.cur_id().equals(&id))
    {
        return Err(conflict(&id));
    }
    list.push(res);
    Ok(())
}

/// Append many, refusing ids already present. `index` caches the ids of
/// `list` across calls; callers drop it whenever resources change.
pub fn append_all(
    list: &mut Vec<Resource>,
    others: Vec<Resource>,
    index: &mut Option<std::collections::HashSet<IdKey>>,
) -> Result<(), KustomizeError> {
    let seen = index.get_or_insert_with(|| list.iter().map(id_key).collect());
    for r in others {
        if !seen.insert(id_key(&r)) {
            *index = None;
            return Err(conflict(&r.cur_id()));
        }
        list.push(r);
    }
    Ok(())
}

/// Indices of resources whose current or any previous id equals `id`.
pub fn matching_any_id(list: &[Resource], id: &ResId) -> Vec<usize> {
    list.iter()
        .enumerate()
        .filter(|(_, r)| r.cur_id().equals(id) || r.prev_ids().iter().any(|p| p.equals(id)))
        .map(|(i, _)| i)
        .collect()
}

/// The unique resource matching `id` by any id (patch targeting).
pub fn get_by_id(list: &[Resource], id: &ResId) -> Result<usize, KustomizeError> {
    let m = matching_any_id(list, id);
    match m.len() {
        1 => Ok(m[0]),
        0 => Err(KustomizeError::new(format!(
            "no matches for Id {id}; failed to find unique target for patch {id}"
        ))),
        _ => Err(KustomizeError::new(format!(
            "multiple matches for Id {id}; failed to find unique target for patch {id}"
        ))),
    }
}
