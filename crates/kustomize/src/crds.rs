//! `crds:`: OpenAPI definitions whose `x-kubernetes-*` extensions add field
//! specs (name references, labels, annotations, identity fields).

use crate::error::KustomizeError;
use crate::fieldspec::{FieldSpec, NameBackRef, TransformerConfig, merge_specs};
use crate::resid::Gvk;
use serde_json::{Map, Value};

fn get<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    crate::kustomization::field(m, k)
}

fn properties(def: &Value) -> Option<&Map<String, Value>> {
    let schema = def.as_object().and_then(|m| get(m, "Schema"))?;
    schema.get("properties")?.as_object()
}

fn load(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    defs: &Map<String, Value>,
    type_name: &str,
    path: &[String],
    depth: usize,
) -> Result<(), KustomizeError> {
    if depth > 32 {
        return Ok(());
    }
    let Some(props) = defs.get(type_name).and_then(properties) else {
        return Ok(());
    };
    for (prop, p) in props {
        let mut here = path.to_vec();
        here.push(prop.clone());
        let fs = |parts: &[String]| FieldSpec {
            gvk: gvk.clone(),
            path: parts.join("/"),
            create: false,
        };
        let ext = |k: &str| p.get(k).and_then(Value::as_str);
        if ext("x-kubernetes-annotation").is_some() {
            merge_specs(&mut tc.common_annotations, &[fs(&here)])?;
        }
        if ext("x-kubernetes-label-selector").is_some() {
            merge_specs(&mut tc.common_labels, &[fs(&here)])?;
        }
        if ext("x-kubernetes-identity").is_some() {
            merge_specs(&mut tc.name_prefix, &[fs(&here)])?;
        }
        if let (Some(version), Some(kind)) = (
            ext("x-kubernetes-object-ref-api-version"),
            ext("x-kubernetes-object-ref-kind"),
        ) {
            let key = ext("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut with_key = here.clone();
            with_key.push(key.to_string());
            tc.add_name_reference(NameBackRef {
                gvk: Gvk {
                    group: String::new(),
                    version: version.to_string(),
                    kind: kind.to_string(),
                },
                specs: vec![fs(&with_key)],
            })?;
        }
        if let Some(r) = p.get("$ref").and_then(Value::as_str) {
            let r = r.trim_start_matches("#/definitions/");
            load(tc, gvk, defs, r, &here, depth + 1)?;
        }
    }
    Ok(())
}

/// Add the field specs a `crds:` OpenAPI definition file declares.
pub fn add_crd_config(tc: &mut TransformerConfig, doc: &Value) -> Result<(), KustomizeError> {
    let Some(defs) = doc.as_object() else {
        return Ok(());
    };
    for (name, def) in defs {
        let Some(props) = properties(def) else {
            continue;
        };
        if !(props.contains_key("kind")
            && props.contains_key("apiVersion")
            && props.contains_key("metadata"))
        {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name);
        let gvk = Gvk {
            kind: kind.to_string(),
            ..Gvk::default()
        };
        let mut one = TransformerConfig::default();
        load(&mut one, &gvk, defs, name, &[], 0)?;
        *tc = tc.merged(&one)?;
    }
    Ok(())
}
