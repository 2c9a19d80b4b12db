//! `flotilla build` end to end: the binary prints what `kustomize build`
//! prints, and fails with exit code 1 and a message naming the
//! kustomization file.

use std::process::Command;

fn flotilla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
}

#[test]
fn build_prints_the_kustomize_stream() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "namePrefix: dev-\nresources:\n- svc.yaml\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - a=b\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {port: 80}\nspec:\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    let out = flotilla().arg("build").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = flotilla_kustomize::content_hash(&serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}
    }));
    // Legacy order (the default): ConfigMap before Service.
    let want = format!(
        "apiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  name: dev-cfg-{hash}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    port: \"80\"\n  name: dev-web\nspec:\n  ports:\n  - port: 80\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);

    let out = flotilla()
        .args(["build", "--reorder", "none"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("apiVersion: v1\nkind: Service"), "{text}");
}

#[test]
fn build_errors_exit_1_and_name_the_kustomization() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- missing.yaml\n",
    )
    .unwrap();
    let out = flotilla().arg("build").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kustomization.yaml") && err.contains("missing.yaml"),
        "{err}"
    );
}

#[test]
fn load_restrictor_flag_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("app/kustomization.yaml"),
        "resources:\n- ../cm.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    )
    .unwrap();
    let out = flotilla()
        .arg("build")
        .arg(dir.path().join("app"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = flotilla()
        .args(["build", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(dir.path().join("app"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    );
}
