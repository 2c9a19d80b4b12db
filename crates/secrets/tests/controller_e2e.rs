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

    let sealed_api = install_crd(&client, &app_ns.name).await;

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

    // A templated one (spec.template.data): flotilla's rendering must match the controller's.
    let templated_secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "templated", "namespace": app_ns.name},
        "stringData": {"user": "app", "password": "p\"<w>&\n"},
    });
    let mut templated =
        sealed::seal_secret(&key.cert, &templated_secret, &SealOptions::default()).unwrap();
    templated["spec"]["template"]["data"] = json!({
        "config.json": "{\"pw\": {{ toJson .password }}}",
        "dsn": "{{ .user }}:{{ .password | b64enc }}@{{ index . \"user\" | upper }}",
        "q": "{{ printf \"%s-%q\" .user .password }}",
        "trimmed": "a\n  {{- .user -}}  \nb",
        "user": "{{ .user | quote }}",
    });
    let expected_templated = sealed::unseal(&templated, std::slice::from_ref(&key), None).unwrap();
    sealed_api
        .create(
            &PostParams::default(),
            &serde_json::from_value::<DynamicObject>(templated).unwrap(),
        )
        .await
        .unwrap();

    let (_controller, ctl_dir, crb_name) =
        start_controller(c, &client, &controller_bin, &keys_ns.name, false).await;
    let log_path = ctl_dir.path().join("controller.log");

    // The controller creates the Secret with the sealed values.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &app_ns.name);
    let created = wait_for_secret(&secrets, "db", &log_path).await;
    let from_controller = wait_for_secret(&secrets, "templated", &log_path).await;
    let ours: std::collections::BTreeMap<String, String> =
        serde_json::from_value(expected_templated["data"].clone()).unwrap();
    let theirs: std::collections::BTreeMap<String, String> = from_controller
        .data
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            use base64::Engine;
            (k, base64::engine::general_purpose::STANDARD.encode(v.0))
        })
        .collect();
    assert_eq!(
        ours, theirs,
        "template rendering differs from the controller's"
    );
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
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    let _ = crbs.delete(&crb_name, &DeleteParams::default()).await;
}

/// The rebuild-from-Git story with the real controller on both sides: the
/// controller on A generates its own key; flotilla seals for A, backs A's
/// keys up into a SOPS file and restores them into B; the controller on B
/// (which never saw A) unseals the SealedSecret made for A.
#[tokio::test(flavor = "multi_thread")]
async fn controller_key_from_a_restored_into_b_serves_the_controller_on_b() {
    let Some(clusters) = flotilla_testkit::clusters() else {
        return;
    };
    let Some(controller_bin) = tool("controller") else {
        return;
    };
    let (a, b) = (&clusters[0], &clusters[1]);
    let (client_a, client_b) = (a.client().await.unwrap(), b.client().await.unwrap());
    let keys_a = flotilla_testkit::namespace(a, "ss-ctl-a").await.unwrap();
    let keys_b = flotilla_testkit::namespace(b, "ss-ctl-b").await.unwrap();
    let app = flotilla_testkit::namespace(b, "ss-rebuilt").await.unwrap();

    // 1. The controller on A creates its key.
    let (ctl_a, dir_a, crb_a) =
        start_controller(a, &client_a, &controller_bin, &keys_a.name, true).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let keys = loop {
        let keys = cluster::load_sealing_keys(&client_a, &keys_a.name)
            .await
            .unwrap();
        if !keys.is_empty() {
            break keys;
        }
        assert!(
            Instant::now() < deadline,
            "controller on A generated no key:\n{}",
            std::fs::read_to_string(dir_a.path().join("controller.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(ctl_a);
    assert_eq!(keys.len(), 1);

    // 2. flotilla seals for A with A's certificate.
    let cert = cluster::latest_cert(&client_a, &keys_a.name).await.unwrap();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "api", "namespace": app.name},
        "stringData": {"token": "from-cluster-a"},
    });
    let ss = sealed::seal_secret(&cert, &secret, &SealOptions::default()).unwrap();

    // 3. Back up A's keys into SOPS, restore into B.
    let list = cluster::backup(&client_a, &keys_a.name).await.unwrap();
    let plain = flotilla_secrets::yaml::emit(&[flotilla_secrets::tree::Node::from_json(&list)]);
    let id = age::x25519::Identity::generate();
    let settings = flotilla_secrets::sops::CreationSettings {
        key_groups: vec![vec![id.to_public().to_string().parse().unwrap()]],
        ..Default::default()
    };
    let file = flotilla_secrets::sops::encrypt(
        plain.as_bytes(),
        flotilla_secrets::sops::Format::Yaml,
        &settings,
    )
    .unwrap()
    .to_bytes()
    .unwrap();
    let mut ring = flotilla_secrets::sops::Keyring::default();
    use age::secrecy::ExposeSecret;
    ring.add_age_keys(id.to_string().expose_secret(), "test")
        .unwrap();
    let docs: Vec<_> =
        flotilla_secrets::sops::SopsFile::parse(&file, flotilla_secrets::sops::Format::Yaml)
            .unwrap()
            .decrypt(&ring)
            .unwrap()
            .docs
            .iter()
            .map(|n| n.to_json())
            .collect();
    let restored = SealingKey::from_documents(&docs).unwrap();
    cluster::restore(&client_b, &keys_b.name, &restored)
        .await
        .unwrap();

    // 4. The controller on B unseals the SealedSecret made for A.
    let sealed_b = install_crd(&client_b, &app.name).await;
    sealed_b
        .create(
            &PostParams::default(),
            &serde_json::from_value::<DynamicObject>(ss).unwrap(),
        )
        .await
        .unwrap();
    let (_ctl_b, dir_b, crb_b) =
        start_controller(b, &client_b, &controller_bin, &keys_b.name, false).await;
    let secrets: Api<Secret> = Api::namespaced(client_b.clone(), &app.name);
    let created = wait_for_secret(&secrets, "api", &dir_b.path().join("controller.log")).await;
    assert_eq!(created.data.unwrap()["token"].0, b"from-cluster-a");
    println!(
        "controller-generated key on {} -> SOPS backup -> restored into {} -> real controller on {} unsealed the SealedSecret made for {}",
        a.name, b.name, b.name, a.name
    );
    let _ = Api::<ClusterRoleBinding>::all(client_a)
        .delete(&crb_a, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRoleBinding>::all(client_b)
        .delete(&crb_b, &DeleteParams::default())
        .await;
}

fn sealed_secret_resource() -> ApiResource {
    ApiResource {
        group: "bitnami.com".into(),
        version: "v1alpha1".into(),
        api_version: "bitnami.com/v1alpha1".into(),
        kind: "SealedSecret".into(),
        plural: "sealedsecrets".into(),
    }
}

/// Install the SealedSecret CRD (idempotent); the API for `namespace`.
async fn install_crd(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
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
    let sealed_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &sealed_secret_resource());
    let deadline = Instant::now() + Duration::from_secs(30);
    while sealed_api.list(&Default::default()).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "SealedSecret CRD never became served"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sealed_api
}

/// Run the controller for `keys_ns` against cluster `c`; returns the process
/// guard, its directory (token, CA, `controller.log`) and the ClusterRoleBinding to delete afterwards.
/// With `generate_keys`, the controller creates its own key at startup.
async fn start_controller(
    c: &flotilla_testkit::Cluster,
    client: &kube::Client,
    controller_bin: &std::path::Path,
    keys_ns: &str,
    generate_keys: bool,
) -> (Child, tempfile::TempDir, String) {
    // Credentials for the controller: a service account bound to cluster-admin.
    let sa_api: Api<ServiceAccount> = Api::namespaced(client.clone(), keys_ns);
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "sealed-secrets"}})).unwrap();
    sa_api.create(&PostParams::default(), &sa).await.unwrap();
    let crb_name = format!("flotilla-test-{}", keys_ns);
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    let crb: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": crb_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "sealed-secrets", "namespace": keys_ns}],
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
    std::fs::write(sa_dir.path().join("namespace"), keys_ns).unwrap();

    let log_path = sa_dir.path().join("controller.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && \
         cp -r {dir} /run/secrets/kubernetes.io/serviceaccount && \
         exec {bin} {renew} --update-status=true \
         --listen-addr 127.0.0.1:0 --listen-metrics-addr 127.0.0.1:0",
        dir = sa_dir.path().display(),
        bin = controller_bin.display(),
        renew = if generate_keys {
            "--key-renew-period 720h"
        } else {
            "--key-renew-period 0"
        },
    );
    let controller = Child(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .env("KUBERNETES_SERVICE_HOST", &server.0)
            .env("KUBERNETES_SERVICE_PORT", &server.1)
            .env("POD_NAMESPACE", keys_ns)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    (controller, sa_dir, crb_name)
}

async fn wait_for_secret(secrets: &Api<Secret>, name: &str, log_path: &std::path::Path) -> Secret {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(s) = secrets.get_opt(name).await.unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            panic!(
                "the controller did not create the Secret; its log:\n{}",
                std::fs::read_to_string(log_path).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn url_host_port(url: &str) -> (String, String) {
    let rest = url
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let hostport = rest.split('/').next().unwrap();
    let (h, p) = hostport.rsplit_once(':').unwrap_or((hostport, "443"));
    (h.trim_matches(['[', ']']).to_string(), p.to_string())
}
