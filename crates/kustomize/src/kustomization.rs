//! The kustomization file: decoding with kustomize's rules (field names match
//! case-insensitively as Go's JSON decoder does, unknown fields are refused),
//! and the legacy-field fix-ups kustomize applies after loading.

use crate::error::KustomizeError;
use serde_json::{Map, Value};

pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub openapi: Map<String, Value>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: Vec<(String, String)>,
    pub labels: Vec<Value>,
    pub common_annotations: Vec<(String, String)>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Value>,
    pub patches: Vec<Value>,
    pub images: Vec<Value>,
    pub replacements: Vec<Value>,
    pub replicas: Vec<Value>,
    pub vars: Vec<Value>,
    pub sort_options: Option<Value>,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub config_map_generator: Vec<Value>,
    pub secret_generator: Vec<Value>,
    pub helm: bool,
    pub generator_options: Option<Value>,
    pub configurations: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    pub validators: Vec<String>,
    pub build_metadata: Vec<String>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn bad(field: &str, want: &str, v: &Value) -> KustomizeError {
    KustomizeError::new(format!(
        "invalid Kustomization: json: cannot unmarshal {} into Go struct field Kustomization.{field} of type {want}",
        type_name(v)
    ))
}

fn string(field: &str, v: &Value) -> Result<String, KustomizeError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(bad(field, "string", v)),
    }
}

fn strings(field: &str, v: &Value) -> Result<Vec<String>, KustomizeError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad(field, "string", i)),
            })
            .collect(),
        _ => Err(bad(field, "[]string", v)),
    }
}

fn list(field: &str, v: &Value) -> Result<Vec<Value>, KustomizeError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items.clone()),
        _ => Err(bad(field, "[]", v)),
    }
}

pub fn string_map(field: &str, v: &Value) -> Result<Vec<(String, String)>, KustomizeError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, val)| match val {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Null => Ok((k.clone(), String::new())),
                _ => Err(bad(field, "string", val)),
            })
            .collect(),
        _ => Err(bad(field, "map[string]string", v)),
    }
}

/// Check that a map only has the given (lower-case) field names.
pub fn check_fields(
    what: &str,
    m: &Map<String, Value>,
    known: &[&str],
) -> Result<(), KustomizeError> {
    for k in m.keys() {
        let lk = k.to_ascii_lowercase();
        if !known.contains(&lk.as_str()) {
            return Err(KustomizeError::new(format!(
                "invalid {what}: json: unknown field \"{k}\""
            )));
        }
    }
    Ok(())
}

/// Case-insensitive field lookup, as Go's JSON decoder matches fields.
pub fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

impl Kustomization {
    pub fn parse(doc: &Value) -> Result<Kustomization, KustomizeError> {
        let m = match doc {
            Value::Object(m) => m,
            Value::Null => return Ok(Kustomization::default()),
            other => {
                return Err(KustomizeError::new(format!(
                    "invalid Kustomization: json: cannot unmarshal {} into Go value of type types.Kustomization",
                    type_name(other)
                )));
            }
        };
        let mut k = Kustomization::default();
        let mut bases = Vec::new();
        let mut image_tags = Vec::new();
        for (key, v) in m {
            match key.to_ascii_lowercase().as_str() {
                "apiversion" => k.api_version = string("apiVersion", v)?,
                "kind" => k.kind = string("kind", v)?,
                "metadata" => {}
                "openapi" => {
                    k.openapi = match v {
                        Value::Object(o) => o.clone(),
                        Value::Null => Map::new(),
                        _ => return Err(bad("openapi", "map[string]string", v)),
                    }
                }
                "nameprefix" => k.name_prefix = string("namePrefix", v)?,
                "namesuffix" => k.name_suffix = string("nameSuffix", v)?,
                "namespace" => k.namespace = string("namespace", v)?,
                "commonlabels" => k.common_labels = string_map("commonLabels", v)?,
                "labels" => k.labels = list("labels", v)?,
                "commonannotations" => k.common_annotations = string_map("commonAnnotations", v)?,
                "patchesstrategicmerge" => {
                    k.patches_strategic_merge = strings("patchesStrategicMerge", v)?
                }
                "patchesjson6902" => k.patches_json6902 = list("patchesJson6902", v)?,
                "patches" => k.patches = list("patches", v)?,
                "images" => k.images = list("images", v)?,
                "imagetags" => image_tags = list("imageTags", v)?,
                "replacements" => k.replacements = list("replacements", v)?,
                "replicas" => k.replicas = list("replicas", v)?,
                "vars" => k.vars = list("vars", v)?,
                "sortoptions" => k.sort_options = if v.is_null() { None } else { Some(v.clone()) },
                "resources" => k.resources = strings("resources", v)?,
                "components" => k.components = strings("components", v)?,
                "crds" => k.crds = strings("crds", v)?,
                "bases" => bases = strings("bases", v)?,
                "configmapgenerator" => k.config_map_generator = list("configMapGenerator", v)?,
                "secretgenerator" => k.secret_generator = list("secretGenerator", v)?,
                "helmglobals" => {}
                "helmcharts" | "helmchartinflationgenerator" => {
                    if !list(key, v)?.is_empty() {
                        k.helm = true;
                    }
                }
                "generatoroptions" => {
                    k.generator_options = if v.is_null() { None } else { Some(v.clone()) }
                }
                "configurations" => k.configurations = strings("configurations", v)?,
                "generators" => k.generators = strings("generators", v)?,
                "transformers" => k.transformers = strings("transformers", v)?,
                "validators" => k.validators = strings("validators", v)?,
                "buildmetadata" => k.build_metadata = strings("buildMetadata", v)?,
                _ => {
                    return Err(KustomizeError::new(format!(
                        "invalid Kustomization: json: unknown field \"{key}\""
                    )));
                }
            }
        }
        // kustomize's FixKustomization: legacy fields folded into their successors.
        if k.kind.is_empty() {
            k.kind = "Kustomization".into();
        }
        if k.api_version.is_empty() {
            k.api_version = if k.kind == "Component" {
                "kustomize.config.k8s.io/v1alpha1".into()
            } else {
                "kustomize.config.k8s.io/v1beta1".into()
            };
        }
        k.resources.extend(bases);
        k.images.extend(image_tags);
        for l in &k.labels {
            if let Value::Object(lm) = l {
                check_fields(
                    "Kustomization",
                    lm,
                    &["pairs", "includeselectors", "includetemplates", "fields"],
                )?;
            }
        }
        Ok(k)
    }

    /// kustomize's field enforcement: kind and apiVersion must be known.
    pub fn enforce(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.kind != "Kustomization" && self.kind != "Component" {
            errs.push("kind should be Kustomization or Component".to_string());
        }
        let required = if self.kind == "Component" {
            "kustomize.config.k8s.io/v1alpha1"
        } else {
            "kustomize.config.k8s.io/v1beta1"
        };
        if self.api_version != required {
            errs.push(format!("apiVersion for {} should be {required}", self.kind));
        }
        errs
    }
}
