//! Object identity.

use serde_json::Value;
use std::fmt;

/// The identity of one Kubernetes object: group, version, kind, namespace, name.
///
/// `namespace` is `None` when the manifest names none; whether the kind is
/// namespaced is only known with discovery (the engine's concern).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// Split an `apiVersion` into (group, version); the core group is `""`.
pub fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl ObjectRef {
    /// Read the identity of an object; `None` if `apiVersion`, `kind` or
    /// `metadata.name` is missing or not a string.
    pub fn of(obj: &Value) -> Option<ObjectRef> {
        let api_version = obj.get("apiVersion")?.as_str()?;
        let kind = obj.get("kind")?.as_str()?;
        let meta = obj.get("metadata")?;
        let name = meta.get("name")?.as_str()?;
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let (group, version) = group_version(api_version);
        Some(ObjectRef {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace,
            name: name.to_owned(),
        })
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind/namespace/name` or `Kind/name`, the form used in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_of_namespaced_and_cluster_objects() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "web", "namespace": "shop"}});
        let r = ObjectRef::of(&d).unwrap();
        assert_eq!(r.group, "apps");
        assert_eq!(r.api_version(), "apps/v1");
        assert_eq!(r.to_string(), "Deployment/shop/web");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
        let r = ObjectRef::of(&ns).unwrap();
        assert_eq!((r.group.as_str(), r.namespace), ("", None));
        assert!(ObjectRef::of(&json!({"kind": "X"})).is_none());
    }
}
