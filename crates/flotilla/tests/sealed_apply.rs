//! Unsealing at apply time, end to end on two real test clusters and only
//! through the `flotilla` binary: a sealing key made on cluster A, a
//! SealedSecret sealed for A, A's keys backed up (SOPS, age) and restored
//! into B, and `flotilla apply --sealed-secrets unseal` on B turning the
//! SealedSecret into a Secret, with no controller anywhere.
//!
//! Sealing keys live in per-test namespaces, so nothing here touches the
//! clusters' kube-system keys or other tests. Skipped only with
//! FLOTILLA_SKIP_CLUSTER_TESTS=1, loudly (see `flotilla_testkit`).

use base64::Engine as _;
use flotilla_testkit::Cluster;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use std::path::Path;
use std::process::{Command, Output};

const SECRET_VALUE: &str = "correct-horse-battery-staple";

fn flotilla(cluster: &Cluster, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flotilla"));
    cmd.arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .arg("--context")
        .arg(&cluster.context)
        .args(args)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("SEALED_SECRETS_CERT")
        .env_remove("SEALED_SECRETS_CONTROLLER_NAMESPACE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("running flotilla")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn succeed(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

fn fail(o: Output) -> String {
    assert!(!o.status.success(), "expected a failure: {}", text(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sealed_secret_api(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("bitnami.com", "v1alpha1", "SealedSecret");
    Api::namespaced_with(client, ns, &ApiResource::from_gvk(&gvk))
}

/// Whether the cluster holds SealedSecret `ns/name`: no when the kind is
/// not even served (no CRD) or the object is absent.
async fn has_sealed_secret(client: kube::Client, ns: &str, name: &str) -> bool {
    match sealed_secret_api(client, ns).get_opt(name).await {
        Ok(found) => found.is_some(),
        Err(kube::Error::Api(e)) if e.code == 404 => false,
        Err(e) => panic!("reading SealedSecret {ns}/{name}: {e}"),
    }
}

async fn serves_sealed_secrets(client: kube::Client) -> bool {
    let crds: Api<DynamicObject> = Api::all_with(
        client,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
        )),
    );
    crds.get_opt("sealedsecrets.bitnami.com")
        .await
        .expect("reading CRDs")
        .is_some()
}

fn prune_unit(cluster: &Cluster, unit: &str) {
    let empty = tempfile::tempdir().unwrap();
    let o = flotilla(
        cluster,
        &[
            "apply",
            "-f",
            empty.path().to_str().unwrap(),
            "--unit",
            unit,
            "--prune",
            "--allow-empty",
        ],
        &[],
    );
    if !o.status.success() {
        eprintln!("cleanup of unit {unit} failed: {}", text(&o));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sealed_secret_for_cluster_a_is_applied_as_a_secret_on_b_after_a_key_restore() {
    let Some(clusters) = flotilla_testkit::clusters() else {
        return;
    };
    assert!(
        clusters.len() >= 2,
        "this test needs two clusters, found {}",
        clusters.len()
    );
    let (a, b) = (&clusters[0], &clusters[1]);
    let client_b = b.client().await.unwrap();
    let keys_a = flotilla_testkit::namespace(a, "sealkeys-a").await.unwrap();
    let keys_b = flotilla_testkit::namespace(b, "sealkeys-b").await.unwrap();
    let app = flotilla_testkit::namespace(b, "sealed-app").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let unit = format!("sealed-{}", app.name);

    // 1. A sealing key on A (2048 bits: key generation in a debug build).
    succeed(flotilla(
        a,
        &[
            "secrets",
            "keys",
            "rotate",
            "--namespace",
            &keys_a.name,
            "--bits",
            "2048",
        ],
        &[],
    ));

    // 2. A Secret sealed for A (strict scope: bound to namespace and name),
    //    shipped with a ConfigMap in the same unit.
    let secret_file = dir.path().join("secret.yaml");
    std::fs::write(
        &secret_file,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\n  labels: {{app: db}}\ntype: Opaque\nstringData:\n  password: {SECRET_VALUE}\n",
            ns = app.name
        ),
    )
    .unwrap();
    let sealed = succeed(flotilla(
        a,
        &[
            "secrets",
            "seal",
            secret_file.to_str().unwrap(),
            "--controller-namespace",
            &keys_a.name,
            "-o",
            "yaml",
        ],
        &[],
    ));
    let sealed_text = String::from_utf8(sealed.stdout).unwrap();
    assert!(
        sealed_text.contains("kind: SealedSecret") && !sealed_text.contains(SECRET_VALUE),
        "{sealed_text}"
    );
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(manifests.join("sealed.yaml"), &sealed_text).unwrap();
    std::fs::write(
        manifests.join("config.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-config\n  namespace: {}\ndata:\n  host: db\n",
            app.name
        ),
    )
    .unwrap();
    let manifests = manifests.to_str().unwrap();
    let unseal_apply = [
        "apply",
        "--sealed-secrets",
        "unseal",
        "--sealing-keys-namespace",
        &keys_b.name,
        "-f",
        manifests,
        "--unit",
        &unit,
    ];
    let secrets_b: Api<Secret> = Api::namespaced(client_b.clone(), &app.name);
    let configmaps_b: Api<ConfigMap> = Api::namespaced(client_b.clone(), &app.name);

    // 3. B without keys in its keys namespace: a clear failure, nothing applied.
    let err = fail(flotilla(b, &unseal_apply, &[]));
    assert!(
        err.contains(&format!("sealing keys from namespace {}", keys_b.name))
            && err.contains(&format!(
                "no sealing key could decrypt SealedSecret {}/db",
                app.name
            ))
            && err.contains("tried 0 keys")
            && err.contains("nothing was applied"),
        "{err}"
    );
    assert!(!err.contains(SECRET_VALUE), "{err}");

    // 4. B with a key of its own, which cannot open A's SealedSecret: the
    //    error names the SealedSecret, and nothing of the unit is applied.
    succeed(flotilla(
        b,
        &[
            "secrets",
            "keys",
            "rotate",
            "--namespace",
            &keys_b.name,
            "--bits",
            "2048",
        ],
        &[],
    ));
    let err = fail(flotilla(b, &unseal_apply, &[]));
    assert!(
        err.contains(&format!("SealedSecret {}/db", app.name))
            && err.contains("no sealing key could decrypt")
            && err.contains("tried 1 keys")
            && err.contains("nothing was applied"),
        "{err}"
    );
    assert!(!err.contains(SECRET_VALUE), "{err}");
    assert!(secrets_b.get_opt("db").await.unwrap().is_none());
    assert!(
        configmaps_b.get_opt("db-config").await.unwrap().is_none(),
        "a unit whose SealedSecret cannot be opened must not be applied in part"
    );

    // 5. Back up A's keys into a SOPS file for an age recipient; restore into B.
    let age_key = dir.path().join("age.txt");
    let keygen = Command::new("age-keygen")
        .arg("-o")
        .arg(&age_key)
        .output()
        .expect("running age-keygen");
    assert!(keygen.status.success(), "{}", text(&keygen));
    let recipient = std::fs::read_to_string(&age_key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .expect("age-keygen wrote no public key");
    let backup = dir.path().join("keys-a.sops.yaml");
    succeed(flotilla(
        a,
        &[
            "secrets",
            "keys",
            "backup",
            "--namespace",
            &keys_a.name,
            "--out",
            backup.to_str().unwrap(),
            "--age",
            &recipient,
        ],
        &[],
    ));
    let backup_text = std::fs::read_to_string(&backup).unwrap();
    assert!(
        backup_text.contains("sops:") && backup_text.contains("ENC["),
        "{backup_text}"
    );
    succeed(flotilla(
        b,
        &[
            "secrets",
            "keys",
            "restore",
            backup.to_str().unwrap(),
            "--namespace",
            &keys_b.name,
        ],
        &[("SOPS_AGE_KEY_FILE", &age_key)],
    ));

    // 6. diff shows the Secret to be created, its value masked.
    for output in ["text", "json", "yaml"] {
        let d = succeed(flotilla(
            b,
            &[
                "diff",
                "--sealed-secrets",
                "unseal",
                "--sealing-keys-namespace",
                &keys_b.name,
                "-f",
                manifests,
                "--unit",
                &unit,
                "-o",
                output,
            ],
            &[],
        ));
        let out = String::from_utf8_lossy(&d.stdout);
        let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET_VALUE);
        assert!(
            out.contains(&format!("Secret/{}/db", app.name)),
            "{output}: {out}"
        );
        assert!(
            !out.contains(SECRET_VALUE) && !out.contains(&b64) && !out.contains("SealedSecret"),
            "{output}: {out}"
        );
        assert!(!out.contains("annotations: null"), "{output}: {out}");
    }

    // 7. The apply now unseals with A's restored key (B's own key tried too).
    let applied = succeed(flotilla(b, &unseal_apply, &[]));
    let out = String::from_utf8_lossy(&applied.stdout);
    assert!(
        !out.contains(SECRET_VALUE) && !out.contains("SealedSecret"),
        "{out}"
    );
    let secret = secrets_b
        .get_opt("db")
        .await
        .unwrap()
        .expect("the Secret on B");
    let data = secret.data.expect("Secret data");
    assert_eq!(data.len(), 1, "{:?}", data.keys().collect::<Vec<_>>());
    assert_eq!(data["password"].0, SECRET_VALUE.as_bytes());
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        secret
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .map(String::as_str),
        Some("db")
    );
    assert!(configmaps_b.get_opt("db-config").await.unwrap().is_some());
    assert!(
        !has_sealed_secret(client_b.clone(), &app.name, "db").await,
        "unsealing mode must not leave a SealedSecret object"
    );

    // 8. Controller mode (the default) passes the SealedSecret through.
    let controller_unit = format!("{unit}-ctl");
    let sealed_only = dir.path().join("sealed-only.yaml");
    std::fs::write(&sealed_only, &sealed_text).unwrap();
    let controller_apply = [
        "apply",
        "-f",
        sealed_only.to_str().unwrap(),
        "--unit",
        &controller_unit,
    ];
    if serves_sealed_secrets(client_b.clone()).await {
        // Another test installed the CRD: the object goes in as it is.
        succeed(flotilla(b, &controller_apply, &[]));
        let obj = sealed_secret_api(client_b.clone(), &app.name)
            .get("db")
            .await
            .expect("the SealedSecret on B");
        let want = flotilla_model::yaml::parse_stream(&sealed_text).unwrap();
        assert_eq!(
            obj.data["spec"]["encryptedData"],
            want[0]["spec"]["encryptedData"]
        );
    } else {
        eprintln!(
            "cluster {} serves no SealedSecret kind: controller mode must fail",
            b.name
        );
        let err = fail(flotilla(b, &controller_apply, &[]));
        assert!(
            err.contains("does not serve the kind") && err.contains("SealedSecret"),
            "{err}"
        );
        assert!(!has_sealed_secret(client_b.clone(), &app.name, "db").await);
    }
    // And `--sealed-secrets controller` is the same as the default.
    let explicit: Vec<&str> = controller_apply
        .iter()
        .copied()
        .chain(["--sealed-secrets", "controller"])
        .collect();
    let o = flotilla(b, &explicit, &[]);
    assert_eq!(
        o.status.success(),
        serves_sealed_secrets(client_b.clone()).await,
        "{}",
        text(&o)
    );

    prune_unit(b, &controller_unit);
    prune_unit(b, &unit);
    assert!(secrets_b.get_opt("db").await.unwrap().is_none());

    // 9. The fleet: a cluster with `sealedSecrets: unseal` gets the Secret
    //    from plan and sync the same way.
    let fleet_dir = dir.path().join("fleet");
    std::fs::create_dir_all(fleet_dir.join("apps")).unwrap();
    std::fs::write(fleet_dir.join("apps/sealed.yaml"), &sealed_text).unwrap();
    let fleet_file = fleet_dir.join("flotilla.yaml");
    let fleet_unit = format!("{unit}-fleet");
    let write_fleet = |units: &str| {
        std::fs::write(
            &fleet_file,
            format!(
                "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {name}}}\nclusters:\n\
                 - name: b\n  kubeconfig: {{path: {kc}, context: {ctx}}}\n  sealedSecrets: unseal\n  sealingKeysNamespace: {keys}\n\
                 units:{units}",
                name = fleet_unit,
                kc = b.kubeconfig.display(),
                ctx = b.context,
                keys = keys_b.name,
            ),
        )
        .unwrap();
    };
    write_fleet(&format!(
        "\n- name: {fleet_unit}\n  path: apps\n  renderer: plain\n"
    ));
    let fleet_path = fleet_file.to_str().unwrap();
    let plan = succeed(flotilla(
        b,
        &["plan", "--fleet", fleet_path, "--show-creates"],
        &[],
    ));
    let out = String::from_utf8_lossy(&plan.stdout);
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET_VALUE);
    assert!(
        out.contains(&format!("+ Secret/{}/db", app.name))
            && !out.contains("SealedSecret")
            && !out.contains(SECRET_VALUE)
            && !out.contains(&b64)
            && !out.contains("annotations: null"),
        "{out}"
    );
    succeed(flotilla(b, &["sync", "--fleet", fleet_path], &[]));
    let secret = secrets_b
        .get_opt("db")
        .await
        .unwrap()
        .expect("the Secret on B from fleet sync");
    assert_eq!(
        secret.data.expect("Secret data")["password"].0,
        SECRET_VALUE.as_bytes()
    );
    assert!(!has_sealed_secret(client_b.clone(), &app.name, "db").await);
    // The unit leaves the fleet: sync prunes it.
    write_fleet(" []\n");
    succeed(flotilla(b, &["sync", "--fleet", fleet_path], &[]));
    assert!(secrets_b.get_opt("db").await.unwrap().is_none());
}
