//! Apply order.
//!
//! Stage 0 holds what other objects need to exist first: CRDs, Namespaces and
//! cluster-wide RBAC. Everything else is stage 1. Within a stage objects are
//! applied concurrently (bounded). Prune runs the stages in reverse.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    ClusterDefinitions = 0,
    Resources = 1,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::ClusterDefinitions, Stage::Resources];

    pub fn of(group: &str, kind: &str) -> Stage {
        match (group, kind) {
            ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("", "Namespace")
            | ("rbac.authorization.k8s.io", "ClusterRole")
            | ("rbac.authorization.k8s.io", "ClusterRoleBinding") => Stage::ClusterDefinitions,
            _ => Stage::Resources,
        }
    }
}

/// A stable order for listing objects within a stage: dependencies first
/// (the same order `kubectl`/Helm install in), then by name.
pub fn kind_rank(kind: &str) -> u8 {
    const ORDER: &[&str] = &[
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ResourceQuota",
        "LimitRange",
        "PriorityClass",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Secret",
        "ConfigMap",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Service",
        "DaemonSet",
        "Pod",
        "ReplicaSet",
        "Deployment",
        "StatefulSet",
        "Job",
        "CronJob",
        "Ingress",
    ];
    ORDER
        .iter()
        .position(|k| *k == kind)
        .map_or(ORDER.len() as u8, |p| p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_definitions_come_first() {
        assert_eq!(
            Stage::of("apiextensions.k8s.io", "CustomResourceDefinition"),
            Stage::ClusterDefinitions
        );
        assert_eq!(Stage::of("", "Namespace"), Stage::ClusterDefinitions);
        assert_eq!(
            Stage::of("rbac.authorization.k8s.io", "ClusterRole"),
            Stage::ClusterDefinitions
        );
        assert_eq!(
            Stage::of("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            Stage::ClusterDefinitions
        );
        assert_eq!(
            Stage::of("rbac.authorization.k8s.io", "Role"),
            Stage::Resources
        );
        assert_eq!(Stage::of("apps", "Deployment"), Stage::Resources);
        // A custom kind named like a core one is not a Namespace.
        assert_eq!(Stage::of("example.com", "Namespace"), Stage::Resources);
        assert!(Stage::ClusterDefinitions < Stage::Resources);
        assert!(kind_rank("Namespace") < kind_rank("Deployment"));
        assert!(kind_rank("ServiceAccount") < kind_rank("Deployment"));
        assert_eq!(kind_rank("Widget"), kind_rank("Gadget"));
    }
}
