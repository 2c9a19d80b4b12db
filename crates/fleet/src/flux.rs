//! Flux objects read from a repository: `Kustomization` becomes a unit,
//! `GitRepository`/`OCIRepository` name sources, `HelmRelease` is refused
//! per unit until the Helm engine lands.

use flotilla_health::HealthCheckExpr;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

pub const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
pub const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";

/// Whether an object belongs to Flux's API (never applied as-is).
pub fn is_flux_object(obj: &Value) -> bool {
    obj["apiVersion"].as_str().is_some_and(|a| {
        a.split('/')
            .next()
            .is_some_and(|g| g.ends_with(".toolkit.fluxcd.io"))
    })
}

pub fn group_of(obj: &Value) -> &str {
    obj["apiVersion"]
        .as_str()
        .and_then(|a| a.split_once('/').map(|(g, _)| g))
        .unwrap_or("")
}

/// The fields of a Flux `Kustomization` flotilla acts on.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    #[serde(default)]
    pub source_ref: Option<SourceRef>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub depends_on: Vec<DependsOn>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub wait: bool,
    #[serde(default)]
    pub health_checks: Vec<Value>,
    #[serde(default)]
    pub health_check_exprs: Vec<HealthCheckExpr>,
    #[serde(default)]
    pub patches: Vec<Value>,
    #[serde(default)]
    pub images: Vec<Value>,
    #[serde(default)]
    pub target_namespace: Option<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub post_build: Option<PostBuild>,
    #[serde(default)]
    pub decryption: Option<Value>,
    #[serde(default)]
    pub suspend: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    #[serde(default)]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DependsOn {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    #[serde(default)]
    pub substitute: BTreeMap<String, String>,
    #[serde(default)]
    pub substitute_from: Vec<SubstituteFrom>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SubstituteFrom {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub optional: bool,
}

/// A Flux Kustomization found in the repository.
#[derive(Clone, Debug)]
pub struct FluxKustomization {
    pub name: String,
    pub namespace: String,
    pub spec: KustomizationSpec,
}

impl FluxKustomization {
    pub fn parse(obj: &Value) -> Result<FluxKustomization, String> {
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let namespace = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("flux-system")
            .to_owned();
        let at = format!("Flux Kustomization {namespace}/{name}");
        if name.is_empty() {
            return Err("a Flux Kustomization has no metadata.name".into());
        }
        let spec: KustomizationSpec =
            serde_json::from_value(obj["spec"].clone()).map_err(|e| format!("{at}: spec: {e}"))?;
        if let Some(pb) = &spec.post_build {
            for k in pb.substitute.keys() {
                if !crate::subst::valid_name(k) {
                    return Err(format!(
                        "{at}: postBuild.substitute: '{k}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
                    ));
                }
            }
        }
        Ok(FluxKustomization {
            name,
            namespace,
            spec,
        })
    }

    /// `namespace/name` for messages.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A secret-free description of objects that need the Helm engine.
pub fn helm_refusal(objects: &[&Value]) -> Option<String> {
    let names: Vec<String> = objects
        .iter()
        .filter(|o| group_of(o) == HELM_GROUP && o["kind"] == "HelmRelease")
        .map(|o| {
            format!(
                "HelmRelease/{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or("flux-system"),
                o["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    (!names.is_empty()).then(|| format!("Helm not supported yet: {}", names.join(", ")))
}

/// Variables from a ConfigMap's `data` or a Secret's `data` (base64) / `stringData`.
pub fn variables_of(obj: &Value) -> Result<BTreeMap<String, String>, String> {
    use base64::Engine as _;
    let mut vars = BTreeMap::new();
    if let Some(data) = obj["data"].as_object() {
        for (k, v) in data {
            let text = v.as_str().unwrap_or_default();
            let value = if obj["kind"] == "Secret" {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| {
                        format!("Secret {}: data.{k} is not base64", obj["metadata"]["name"])
                    })?;
                String::from_utf8(bytes).map_err(|_| {
                    format!("Secret {}: data.{k} is not UTF-8", obj["metadata"]["name"])
                })?
            } else {
                text.to_owned()
            };
            vars.insert(k.clone(), value);
        }
    }
    if let Some(data) = obj["stringData"].as_object() {
        for (k, v) in data {
            vars.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_flux_kustomization() {
        let k = FluxKustomization::parse(&json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"interval": "10m", "path": "./apps/production", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                     "dependsOn": [{"name": "infra"}], "wait": true, "timeout": "5m",
                     "targetNamespace": "shop", "postBuild": {"substitute": {"env": "prod"},
                     "substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]},
                     "healthCheckExprs": [{"apiVersion": "example.com/v1", "kind": "Thing", "current": "true"}]}
        }))
        .unwrap();
        assert_eq!(k.id(), "flux-system/apps");
        assert_eq!(k.spec.path.as_deref(), Some("./apps/production"));
        assert!(k.spec.prune && k.spec.wait);
        assert_eq!(k.spec.depends_on[0].name, "infra");
        assert_eq!(k.spec.post_build.unwrap().substitute_from[0].name, "vars");
        assert_eq!(k.spec.health_check_exprs.len(), 1);
    }

    #[test]
    fn bad_variable_names_and_specs_are_named() {
        let e = FluxKustomization::parse(&json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "a"}, "spec": {"postBuild": {"substitute": {"bad-name": "x"}}}
        }))
        .unwrap_err();
        assert!(e.contains("flux-system/a") && e.contains("bad-name"), "{e}");
        let e = FluxKustomization::parse(&json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "a"}, "spec": {"prune": "yes"}
        }))
        .unwrap_err();
        assert!(e.contains("flux-system/a: spec"), "{e}");
    }

    #[test]
    fn helm_releases_are_refused_by_name() {
        let hr = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                        "metadata": {"name": "redis", "namespace": "db"}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(
            helm_refusal(&[&cm, &hr]).unwrap(),
            "Helm not supported yet: HelmRelease/db/redis"
        );
        assert!(helm_refusal(&[&cm]).is_none());
        assert!(is_flux_object(&hr) && !is_flux_object(&cm));
    }

    #[test]
    fn variables_from_configmaps_and_secrets() {
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "v"}, "data": {"a": "1"}});
        assert_eq!(variables_of(&cm).unwrap()["a"], "1");
        let s = json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"b": "Mg=="}, "stringData": {"c": "3"}});
        let v = variables_of(&s).unwrap();
        assert_eq!((v["b"].as_str(), v["c"].as_str()), ("2", "3"));
    }
}
