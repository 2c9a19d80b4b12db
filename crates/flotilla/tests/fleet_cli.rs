//! The fleet commands as a user runs them, with no cluster reachable: plan
//! full creation, list clusters, compare and search the desired state.

use std::path::Path;
use std::process::{Command, Output};

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .output()
        .expect("running flotilla")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A fleet of two clusters whose kubeconfig does not exist.
fn offline_fleet() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "flotilla.yaml",
        "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nclusters:\n\
         - {name: staging, labels: {env: staging}, owner: team-a, kubeconfig: {path: missing.kubeconfig, context: s}}\n\
         - {name: production, labels: {env: production}, kubeconfig: {path: missing.kubeconfig, context: p}}\n\
         units:\n- name: web\n  path: apps/base\n  targets:\n  - selector: env=staging\n  - selector: env=production\n    path: apps/production\n",
    );
    write(
        t.path(),
        "apps/base/kustomization.yaml",
        "resources: [web.yaml]\n",
    );
    write(
        t.path(),
        "apps/base/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers: [{name: web, image: 'ghcr.io/acme/web:1.0'}]\n",
    );
    write(
        t.path(),
        "apps/production/kustomization.yaml",
        "resources: [../base, extra.yaml]\nreplicas: [{name: web, count: 3}]\n",
    );
    write(
        t.path(),
        "apps/production/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\n",
    );
    t
}

#[test]
fn plan_with_no_reachable_cluster_plans_full_creation() {
    let t = offline_fleet();
    let fleet = t.path().join("flotilla.yaml");
    let fleet = fleet.to_str().unwrap();
    let out = flotilla(&["plan", "--fleet", fleet]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Unreachable, planned as full creation: staging, production"),
        "{stdout}"
    );
    assert!(stdout.contains("+ Deployment/shop/web"), "{stdout}");
    assert!(stdout.contains("+ ConfigMap/shop/extra"), "{stdout}");

    let out = flotilla(&["plan", "--fleet", fleet, "-o", "json", "--exit-code"]);
    assert_eq!(out.status.code(), Some(4), "changes pending");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let creates: Vec<u64> = plan["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["units"][0]["summary"]["create"].as_u64().unwrap())
        .collect();
    assert_eq!(creates, [1, 2]);
    assert_eq!(plan["clusters"][0]["reachable"], false);

    // -l limits the clusters.
    let out = flotilla(&[
        "plan",
        "--fleet",
        fleet,
        "-l",
        "env=production",
        "-o",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["clusters"].as_array().unwrap().len(), 1);
}

#[test]
fn clusters_lists_metadata_and_reachability() {
    let t = offline_fleet();
    let fleet = t.path().join("flotilla.yaml");
    let out = flotilla(&["clusters", "--fleet", fleet.to_str().unwrap(), "-o", "json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "staging");
    assert_eq!(list[0]["owner"], "team-a");
    assert_eq!(list[0]["labels"]["env"], "staging");
    assert_eq!(list[0]["reachable"], false);
    assert!(
        list[0]["error"]
            .as_str()
            .unwrap()
            .contains("missing.kubeconfig")
    );
}

#[test]
fn compare_and_where_read_the_desired_state() {
    let t = offline_fleet();
    let fleet = t.path().join("flotilla.yaml");
    let fleet = fleet.to_str().unwrap();
    let out = flotilla(&["compare", "staging", "production", "--fleet", fleet]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("only in production: ConfigMap/shop/extra"),
        "{stdout}"
    );
    assert!(stdout.contains("differs: Deployment/shop/web"), "{stdout}");
    assert!(stdout.contains("+  replicas: 3"), "{stdout}");
    assert!(
        stdout.contains("--- staging\n+++ production\n"),
        "diff headers name the clusters: {stdout}"
    );

    let out = flotilla(&["where", "ghcr.io/acme/web", "--fleet", fleet, "-o", "json"]);
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 2);
    assert_eq!(hits[0]["version"], "ghcr.io/acme/web:1.0");
    let out = flotilla(&["where", "ConfigMap/extra", "--fleet", fleet, "-o", "json"]);
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["cluster"], "production");
}

#[test]
fn a_bad_fleet_file_is_named_with_its_entry() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "flotilla.yaml",
        "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nunits:\n- {name: a, path: x, dependsOn: [b]}\n- {name: b, path: y, dependsOn: [a]}\n",
    );
    let fleet = t.path().join("flotilla.yaml");
    let out = flotilla(&["plan", "--fleet", fleet.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("flotilla.yaml") && stderr.contains("dependency cycle: a -> b -> a"),
        "{stderr}"
    );
}
