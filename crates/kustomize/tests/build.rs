//! Behaviour beyond the corpus: refusals that must be explicit, the load
//! restrictor, and the CLI-default legacy order.

use flotilla_kustomize::{BuildOptions, LoadRestrictor, MemFs, Reorder, build_with};
use std::path::Path;

fn tree(files: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for (p, c) in files {
        fs.add_file(Path::new(p), c.as_bytes().to_vec());
    }
    fs
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

#[test]
fn remote_resources_are_refused_as_not_supported() {
    let fs = tree(&[(
        "/k/kustomization.yaml",
        "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0\n",
    )]);
    let err = build_with(&fs, Path::new("/k"), &BuildOptions::default()).unwrap_err();
    assert!(err.is_unsupported(), "{err}");
    assert!(err.to_string().contains("/k/kustomization.yaml"), "{err}");
}

#[test]
fn helm_charts_are_refused_as_not_supported() {
    let fs = tree(&[(
        "/k/kustomization.yaml",
        "helmCharts:\n- name: minecraft\n  repo: https://itzg.github.io/minecraft-server-charts\n",
    )]);
    let err = build_with(&fs, Path::new("/k"), &BuildOptions::default()).unwrap_err();
    assert!(err.is_unsupported(), "{err}");
}

#[test]
fn exec_plugins_and_krm_functions_are_refused() {
    let fs = tree(&[
        ("/k/kustomization.yaml", "transformers:\n- fn.yaml\n"),
        (
            "/k/fn.yaml",
            "apiVersion: example.com/v1\nkind: Fn\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: example/fn\n",
        ),
    ]);
    let err = build_with(&fs, Path::new("/k"), &BuildOptions::default()).unwrap_err();
    assert!(err.is_unsupported(), "{err}");
}

#[test]
fn load_restrictor_refuses_files_outside_the_root_unless_disabled() {
    let fs = tree(&[
        ("/k/app/kustomization.yaml", "resources:\n- ../cm.yaml\n"),
        ("/k/cm.yaml", CM),
    ]);
    let err = build_with(&fs, Path::new("/k/app"), &BuildOptions::default()).unwrap_err();
    assert!(err.to_string().contains("is not in or below"), "{err}");
    let opts = BuildOptions {
        load_restrictor: LoadRestrictor::None,
        ..BuildOptions::default()
    };
    let objs = build_with(&fs, Path::new("/k/app"), &opts).unwrap();
    assert_eq!(objs.len(), 1);
}

#[test]
fn legacy_order_puts_namespaces_first_and_webhooks_last() {
    let fs = tree(&[
        ("/k/kustomization.yaml", "resources:\n- all.yaml\n"),
        (
            "/k/all.yaml",
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: w\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n",
        ),
    ]);
    let kinds = |reorder| {
        let opts = BuildOptions {
            reorder,
            ..BuildOptions::default()
        };
        build_with(&fs, Path::new("/k"), &opts)
            .unwrap()
            .iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(Reorder::Legacy),
        ["Namespace", "Deployment", "ValidatingWebhookConfiguration"]
    );
    assert_eq!(
        kinds(Reorder::None),
        ["ValidatingWebhookConfiguration", "Deployment", "Namespace"]
    );
}

#[test]
fn generated_names_get_kustomizes_hash_and_references_follow() {
    let fs = tree(&[
        (
            "/k/kustomization.yaml",
            "namePrefix: p-\nresources:\n- pod.yaml\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - a=b\n",
        ),
        (
            "/k/pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod\nspec:\n  volumes:\n  - name: v\n    configMap:\n      name: cfg\n",
        ),
    ]);
    let objs = build_with(&fs, Path::new("/k"), &BuildOptions::default()).unwrap();
    let cm = objs.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    let name = cm["metadata"]["name"].as_str().unwrap();
    assert!(
        name.starts_with("p-cfg-") && name.len() == "p-cfg-".len() + 10,
        "{name}"
    );
    let pod = objs.iter().find(|o| o["kind"] == "Pod").unwrap();
    assert_eq!(pod["spec"]["volumes"][0]["configMap"]["name"], name);
}
