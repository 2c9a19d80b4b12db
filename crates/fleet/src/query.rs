//! Questions about the fleet's desired state: where an image or object
//! runs (`flotilla where`) and how two clusters differ (`flotilla compare`).

use crate::desired::ClusterDesired;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One place something runs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub cluster: String,
    pub unit: String,
    pub object: String,
    /// The image reference (for image queries) or the unit's revision.
    pub version: String,
}

/// An image reference split into repository and tag/digest.
fn split_image(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    // A ':' after the last '/' is a tag; one before it is a registry port.
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], &image[slash + i + 1..]),
        None => (image, "latest"),
    }
}

/// Every container image in an object (any `containers`, `initContainers`
/// or `ephemeralContainers` list, at any depth: pods, templates, CronJobs).
pub fn images_of(obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_images(obj, &mut out);
    out
}

fn walk_images(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if matches!(
                    k.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Some(list) = child.as_array()
                {
                    out.extend(
                        list.iter()
                            .filter_map(|c| c["image"].as_str().map(str::to_owned)),
                    );
                }
                walk_images(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk_images(i, out)),
        _ => {}
    }
}

/// Where `query` runs: an image (`nginx`, `ghcr.io/x/y:1.2`) or an object
/// (`Kind/name` or `Kind/namespace/name`, kind case-insensitive).
pub fn find(desired: &[ClusterDesired], query: &str) -> Vec<Location> {
    let object_query = query.split_once('/').filter(|(kind, _)| {
        kind.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            || query.matches('/').count() == 2 && !query.contains('.')
    });
    let mut out = Vec::new();
    for d in desired {
        for u in &d.units {
            let Ok(objects) = &u.objects else { continue };
            for o in objects.iter() {
                let Some(r) = flotilla_model::ObjectRef::of(o) else {
                    continue;
                };
                if let Some((kind, rest)) = object_query {
                    let (ns, name) = match rest.split_once('/') {
                        Some((ns, name)) => (Some(ns), name),
                        None => (None, rest),
                    };
                    if r.kind.eq_ignore_ascii_case(kind)
                        && r.name == name
                        && ns.is_none_or(|ns| r.namespace.as_deref() == Some(ns))
                    {
                        let version = images_of(o).join(",");
                        out.push(Location {
                            cluster: d.cluster.name.clone(),
                            unit: u.name.clone(),
                            object: r.to_string(),
                            version: if version.is_empty() {
                                u.revision.clone().unwrap_or_else(|| "-".into())
                            } else {
                                version
                            },
                        });
                    }
                } else {
                    let (want_repo, want_tag) = split_image(query);
                    let tag_given = query.contains('@')
                        || query[query.rfind('/').map_or(0, |i| i + 1)..].contains(':');
                    for image in images_of(o) {
                        let (repo, tag) = split_image(&image);
                        let repo_matches = repo == want_repo
                            || repo.rsplit('/').next() == Some(want_repo)
                            || repo.strip_prefix("docker.io/").is_some_and(|r| {
                                r == want_repo || r == format!("library/{want_repo}")
                            });
                        if repo_matches && (!tag_given || tag == want_tag) {
                            out.push(Location {
                                cluster: d.cluster.name.clone(),
                                unit: u.name.clone(),
                                object: r.to_string(),
                                version: image.clone(),
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// How two clusters' desired states differ.
#[derive(Clone, Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    pub different: Vec<Difference>,
    pub identical: usize,
    /// Units that could not be rendered on either side.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    pub object: String,
    /// Unified diff from A to B; Secret values masked.
    pub diff: String,
}

fn objects_by_ref(d: &ClusterDesired, errors: &mut Vec<String>) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for u in &d.units {
        match &u.objects {
            Ok(objs) => {
                for o in objs.iter() {
                    if let Some(r) = flotilla_model::ObjectRef::of(o) {
                        map.insert(r.to_string(), o.clone());
                    }
                }
            }
            Err(e) => errors.push(format!("{}: unit {}: {e}", d.cluster.name, u.name)),
        }
    }
    map
}

/// Compare object by object (identity `Kind/namespace/name`).
pub fn compare(a: &ClusterDesired, b: &ClusterDesired) -> Comparison {
    let mut c = Comparison {
        a: a.cluster.name.clone(),
        b: b.cluster.name.clone(),
        ..Default::default()
    };
    let left = objects_by_ref(a, &mut c.errors);
    let right = objects_by_ref(b, &mut c.errors);
    for (key, lo) in &left {
        match right.get(key) {
            None => c.only_in_a.push(key.clone()),
            Some(ro) if ro == lo => c.identical += 1,
            Some(ro) => {
                let mut before = lo.clone();
                let mut after = ro.clone();
                flotilla_engine::render::mask_secrets(Some(&mut before), Some(&mut after));
                // Headers name the clusters: this is desired vs desired, not live.
                let diff = flotilla_engine::render::unified_diff_labeled(
                    &flotilla_engine::render::to_yaml(&before),
                    &flotilla_engine::render::to_yaml(&after),
                    (&c.a, &c.b),
                    3,
                );
                c.different.push(Difference {
                    object: key.clone(),
                    diff,
                });
            }
        }
    }
    c.only_in_b = right
        .keys()
        .filter(|k| !left.contains_key(*k))
        .cloned()
        .collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClusterSpec, KubeconfigRef};
    use crate::desired::DesiredUnit;
    use serde_json::json;
    use std::sync::Arc;

    fn cluster(name: &str, objects: Vec<Value>) -> ClusterDesired {
        ClusterDesired {
            cluster: ClusterSpec {
                name: name.into(),
                labels: Default::default(),
                owner: None,
                description: None,
                kubeconfig: Some(KubeconfigRef {
                    path: "k".into(),
                    context: None,
                }),
                server: None,
                ca_file: None,
                credentials: None,
                flux_path: None,
                flux_source: None,
                variables: Default::default(),
                sealed_secrets: Default::default(),
                sealing_keys_namespace: None,
            },
            units: vec![DesiredUnit {
                name: "apps".into(),
                origin: "test".into(),
                dir: "x".into(),
                revision: Some("main@sha1:abc".into()),
                objects: Ok(Arc::new(objects)),
                depends_on: vec![],
                wait_for: vec![],
                health_checks: vec![],
                wait: false,
                timeout: std::time::Duration::ZERO,
                prune: true,
                rules: None,
                suspend: false,
            }],
            error: None,
        }
    }

    fn deploy(name: &str, image: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})
    }

    #[test]
    fn images_split_like_docker() {
        assert_eq!(split_image("nginx:1.27"), ("nginx", "1.27"));
        assert_eq!(
            split_image("registry:5000/x/nginx"),
            ("registry:5000/x/nginx", "latest")
        );
        assert_eq!(
            split_image("ghcr.io/a/b@sha256:00"),
            ("ghcr.io/a/b", "sha256:00")
        );
    }

    #[test]
    fn where_finds_images_and_objects() {
        let fleet = vec![
            cluster("staging", vec![deploy("web", "ghcr.io/acme/web:1.1", 1)]),
            cluster(
                "production",
                vec![
                    deploy("web", "ghcr.io/acme/web:1.0", 3),
                    deploy("db", "postgres:16", 1),
                ],
            ),
        ];
        let hits = find(&fleet, "ghcr.io/acme/web");
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[1].version, "ghcr.io/acme/web:1.0");
        assert_eq!(find(&fleet, "web:1.1").len(), 1);
        assert_eq!(find(&fleet, "postgres")[0].cluster, "production");
        let hits = find(&fleet, "Deployment/db");
        assert_eq!(
            (hits.len(), hits[0].object.as_str()),
            (1, "Deployment/shop/db")
        );
        assert_eq!(find(&fleet, "deployment/shop/web").len(), 2);
        assert!(find(&fleet, "Deployment/other/web").is_empty());
    }

    #[test]
    fn compare_object_by_object() {
        let a = cluster(
            "staging",
            vec![
                deploy("web", "w:1", 1),
                deploy("debug", "d:1", 1),
                deploy("same", "s:1", 1),
            ],
        );
        let b = cluster(
            "production",
            vec![
                deploy("web", "w:1", 3),
                deploy("db", "p:16", 1),
                deploy("same", "s:1", 1),
            ],
        );
        let c = compare(&a, &b);
        assert_eq!(c.only_in_a, ["Deployment/shop/debug"]);
        assert_eq!(c.only_in_b, ["Deployment/shop/db"]);
        assert_eq!(c.identical, 1);
        assert_eq!(c.different.len(), 1);
        assert!(
            c.different[0].diff.contains("-  replicas: 1")
                && c.different[0].diff.contains("+  replicas: 3"),
            "{}",
            c.different[0].diff
        );
    }
}
