//! Mapping kinds to resources, from the cluster's discovery and from the
//! CustomResourceDefinitions of the unit being applied.
//!
//! A kind whose CRD is part of the same unit resolves even before that CRD
//! exists in the cluster, so a plan for "CRD + custom resources" never fails
//! just because the CRD is not there yet.

use serde_json::Value;
use std::collections::HashMap;

/// Where objects of one kind live in the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// Known only from a CRD in the unit: the cluster does not serve it yet.
    pub pending_crd: bool,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn api_resource(&self) -> kube::discovery::ApiResource {
        kube::discovery::ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

/// Kinds a cluster serves, by group/version/kind and by group/kind.
#[derive(Clone, Debug, Default)]
pub struct ResourceMap {
    by_gvk: HashMap<(String, String, String), ResourceInfo>,
    /// The preferred (first discovered) version of each group/kind.
    by_gk: HashMap<(String, String), ResourceInfo>,
}

impl ResourceMap {
    /// Build from a completed kube discovery.
    pub fn from_discovery(discovery: &kube::Discovery) -> Self {
        let mut map = ResourceMap::default();
        for group in discovery.groups() {
            let preferred = group.preferred_version_or_latest().to_owned();
            // Preferred version first so `by_gk` keeps it.
            let mut versions: Vec<String> = group.versions().map(str::to_owned).collect();
            versions.sort_by_key(|v| *v != preferred);
            for version in versions {
                for (ar, caps) in group.versioned_resources(&version) {
                    map.insert(ResourceInfo {
                        group: ar.group,
                        version: ar.version,
                        kind: ar.kind,
                        plural: ar.plural,
                        namespaced: caps.scope == kube::discovery::Scope::Namespaced,
                        pending_crd: false,
                    });
                }
            }
        }
        map
    }

    pub fn insert(&mut self, info: ResourceInfo) {
        self.by_gk
            .entry((info.group.clone(), info.kind.clone()))
            .or_insert_with(|| info.clone());
        self.by_gvk.insert(
            (info.group.clone(), info.version.clone(), info.kind.clone()),
            info,
        );
    }

    /// The resource for an exact group, version and kind.
    pub fn resolve(&self, group: &str, version: &str, kind: &str) -> Option<&ResourceInfo> {
        self.by_gvk
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
    }

    /// The resource for a group and kind at its preferred version (used for
    /// inventory entries, which do not record a version).
    pub fn resolve_group_kind(&self, group: &str, kind: &str) -> Option<&ResourceInfo> {
        self.by_gk.get(&(group.to_owned(), kind.to_owned()))
    }

    pub fn len(&self) -> usize {
        self.by_gvk.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_gvk.is_empty()
    }

    /// Add what the given CRDs define, for kinds the cluster does not serve
    /// yet; those are marked `pending_crd`.
    pub fn with_crds<'a>(&self, crds: impl IntoIterator<Item = &'a Value>) -> ResourceMap {
        let mut map = self.clone();
        for crd in crds {
            for info in resources_defined_by(crd) {
                if map
                    .resolve(&info.group, &info.version, &info.kind)
                    .is_none()
                {
                    map.insert(info);
                }
            }
        }
        map
    }
}

/// Is this object a CustomResourceDefinition?
pub fn is_crd(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
        && obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
}

/// The resources (one per served version) a CRD object defines.
pub fn resources_defined_by(crd: &Value) -> Vec<ResourceInfo> {
    if !is_crd(crd) {
        return Vec::new();
    }
    let spec = &crd["spec"];
    let (Some(group), Some(kind), Some(plural)) = (
        spec["group"].as_str(),
        spec["names"]["kind"].as_str(),
        spec["names"]["plural"].as_str(),
    ) else {
        return Vec::new();
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .filter_map(|v| v["name"].as_str())
        .map(|version| ResourceInfo {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            namespaced,
            pending_crd: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"kind": "Widget", "plural": "widgets"},
                        "versions": [{"name": "v1", "served": true, "storage": true},
                                     {"name": "v0", "served": false, "storage": false}]}})
    }

    #[test]
    fn crds_in_the_unit_define_pending_kinds() {
        let mut base = ResourceMap::default();
        base.insert(ResourceInfo {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
            namespaced: true,
            pending_crd: false,
        });
        let map = base.with_crds([&crd()]);
        let w = map.resolve("example.com", "v1", "Widget").unwrap();
        assert!(w.pending_crd && w.namespaced);
        assert_eq!(w.plural, "widgets");
        assert!(
            map.resolve("example.com", "v0", "Widget").is_none(),
            "unserved version"
        );
        assert!(!map.resolve("apps", "v1", "Deployment").unwrap().pending_crd);
        assert_eq!(
            map.resolve_group_kind("example.com", "Widget")
                .unwrap()
                .version,
            "v1"
        );
    }

    #[test]
    fn served_kinds_are_not_shadowed_by_unit_crds() {
        let mut base = ResourceMap::default();
        let served = ResourceInfo {
            group: "example.com".into(),
            version: "v1".into(),
            kind: "Widget".into(),
            plural: "widgets".into(),
            namespaced: true,
            pending_crd: false,
        };
        base.insert(served.clone());
        let map = base.with_crds([&crd()]);
        assert_eq!(map.resolve("example.com", "v1", "Widget"), Some(&served));
    }
}
