//! The real sealed-secrets controller (built from its Go module, pinned)
//! accepts what flotilla makes: a sealing key flotilla generated and stored
//! is loaded by the controller, and a SealedSecret flotilla sealed is turned
//! by the controller into the right Secret, on a real test cluster.
//!
//! The controller only knows in-cluster configuration, so it runs as a local
//! process in a private mount namespace with a service-account token and
//! the cluster CA mounted where `rest.InClusterConfig` looks for them.

use flotilla_secrets::sealed::{self, SealOptions, SealingKey, cluster};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tool(name: &str) -> Option<PathBuf> {
    if std::env::var_os("FLOTILLA_SKIP_REFTOOLS").is_some() {
        eprintln!("WARNING: FLOTILLA_SKIP_REFTOOLS set: NOT testing against the real {name}");
        return None;
    }
    let out = Command::new(repo().join("tools/reftools/install"))
        .arg(name)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "tools/reftools/install {name} failed");
    Some(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
}

/// Kill the controller even when an assertion fails.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn real_controller_unseals_what_flotilla_seals_with_a_flotilla_key() {
    let Some(clusters) = flotilla_testkit::clusters() else {
        return;
    };
    let Some(controller_bin) = tool("controller") else {
        return;
    };
    let c = clusters.last().unwrap();
    let client = c.client().await.unwrap();
    let keys_ns = flotilla_testkit::namespace(c, "ss-controller")
        .await
        .unwrap();
    let app_ns = flotilla_testkit::namespace(c, "ss-app").await.unwrap();

    // The SealedSecret CRD, from the corpus copy of the upstream chart.
    let crd_text =
        std::fs::read_to_string(repo().join(
            "tests/corpus/secrets/sealed-secrets/upstream/bitnami.com_sealedsecrets.crd.yaml",
        ))
        .unwrap();
    let crd: CustomResourceDefinition =
        serde_json::from_value(flotilla_secrets::yaml::parse(&crd_text).unwrap()[0].to_json())
            .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => panic!("creating the CRD: {e}"),
    }
    let ar = ApiResource {
        group: "bitnami.com".into(),
        version: "v1alpha1".into(),
        api_version: "bitnami.com/v1alpha1".into(),
        kind: "SealedSecret".into(),
        plural: "sealedsecrets".into(),
    };
    let sealed_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &app_ns.name, &ar);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sealed_api.list(&Default::default()).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "SealedSecret CRD never became served"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // A key generated and stored by flotilla, before the controller starts.
    let key = SealingKey::generate(4096, "", 3650).unwrap();
    cluster::store_key(&client, &keys_ns.name, &key)
        .await
        .unwrap();

    // A SealedSecret sealed by flotilla, applied to the cluster.
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": app_ns.name, "labels": {"app": "web"}},
        "type": "Opaque",
        "stringData": {"password": "correct-horse", "user": "app"},
    });
    let ss = sealed::seal_secret(&key.cert, &secret, &SealOptions::default()).unwrap();
    let obj: DynamicObject = serde_json::from_value(ss).unwrap();
    sealed_api
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();

    // Credentials for the controller: a service account bound to cluster-admin.
    let sa_api: Api<ServiceAccount> = Api::namespaced(client.clone(), &keys_ns.name);
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "sealed-secrets"}})).unwrap();
    sa_api.create(&PostParams::default(), &sa).await.unwrap();
    let crb_name = format!("flotilla-test-{}", keys_ns.name);
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    let crb: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": crb_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "sealed-secrets", "namespace": keys_ns.name}],
    }))
    .unwrap();
    crbs.create(&PostParams::default(), &crb).await.unwrap();
    let tr: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let tr: TokenRequest = sa_api
        .create_subresource("token", "sealed-secrets", &PostParams::default(), &tr)
        .await
        .unwrap();
    let token = tr.status.unwrap().token.unwrap_or_default();

    let kubeconfig = kube::config::Kubeconfig::read_from(&c.kubeconfig).unwrap();
    let cluster_entry = kubeconfig.clusters[0].cluster.clone().unwrap();
    let server = url_host_port(cluster_entry.server.as_deref().unwrap());
    let ca = match (
        &cluster_entry.certificate_authority,
        &cluster_entry.certificate_authority_data,
    ) {
        (Some(path), _) => std::fs::read(path).unwrap(),
        (None, Some(data)) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap()
        }
        _ => panic!("kubeconfig has no CA"),
    };
    let sa_dir = tempfile::tempdir().unwrap();
    std::fs::write(sa_dir.path().join("token"), token).unwrap();
    std::fs::write(sa_dir.path().join("ca.crt"), ca).unwrap();
    std::fs::write(sa_dir.path().join("namespace"), &keys_ns.name).unwrap();

    let log_path = sa_dir.path().join("controller.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && \
         cp -r {dir} /run/secrets/kubernetes.io/serviceaccount && \
         exec {bin} --key-renew-period 0 --update-status=true \
         --listen-addr 127.0.0.1:0 --listen-metrics-addr 127.0.0.1:0",
        dir = sa_dir.path().display(),
        bin = controller_bin.display()
    );
    let _controller = Child(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .env("KUBERNETES_SERVICE_HOST", &server.0)
            .env("KUBERNETES_SERVICE_PORT", &server.1)
            .env("POD_NAMESPACE", &keys_ns.name)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    // The controller creates the Secret with the sealed values.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &app_ns.name);
    let deadline = Instant::now() + Duration::from_secs(90);
    let created = loop {
        if let Some(s) = secrets.get_opt("db").await.unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            panic!(
                "the controller did not create the Secret; its log:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let data = created.data.unwrap();
    assert_eq!(data["password"].0, b"correct-horse");
    assert_eq!(data["user"].0, b"app");
    assert_eq!(created.metadata.labels.unwrap()["app"], "web");
    let owner = &created.metadata.owner_references.unwrap()[0];
    assert_eq!(owner.kind, "SealedSecret");
    // The controller used flotilla's key (it generated none of its own).
    let keys = cluster::load_sealing_keys(&client, &keys_ns.name)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    println!(
        "real sealed-secrets controller v0.36.6 unsealed a flotilla SealedSecret with a flotilla key \
         on {}; controller log lines: {}",
        c.name,
        log.lines().count()
    );
    let _ = crbs.delete(&crb_name, &DeleteParams::default()).await;
}

fn url_host_port(url: &str) -> (String, String) {
    let rest = url
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let hostport = rest.split('/').next().unwrap();
    let (h, p) = hostport.rsplit_once(':').unwrap_or((hostport, "443"));
    (h.trim_matches(['[', ']']).to_string(), p.to_string())
}
