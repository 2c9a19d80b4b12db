//! Sealing keys in a cluster, stored as the controller stores them:
//! `kubernetes.io/tls` Secrets in the controller namespace labelled
//! `sealedsecrets.bitnami.com/sealed-secrets-key=active` (plus the legacy
//! Secret named `sealed-secrets-key`). Used by the apply engine to unseal
//! without a controller, and by the key lifecycle commands.

use super::SealedSecretError;
use super::keys::{KEY_LABEL, KEY_PREFIX, SealingCert, SealingKey};
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

/// The controller's default namespace.
pub const DEFAULT_CONTROLLER_NAMESPACE: &str = "kube-system";

#[derive(Debug, thiserror::Error)]
pub enum ClusterKeyError {
    #[error("{action} in namespace {namespace}: {source}")]
    Kube {
        action: String,
        namespace: String,
        source: kube::Error,
    },
    #[error("{0}")]
    Key(#[from] SealedSecretError),
    #[error("no active sealing keys in namespace {0}")]
    NoKeys(String),
}

fn kube_err(action: &str, namespace: &str) -> impl FnOnce(kube::Error) -> ClusterKeyError {
    let action = action.to_string();
    let namespace = namespace.to_string();
    move |source| ClusterKeyError::Kube {
        action,
        namespace,
        source,
    }
}

/// Every active sealing key in `namespace`, oldest first (by certificate
/// NotBefore, the controller's default order). The engine tries them all.
pub async fn load_sealing_keys(
    client: &Client,
    namespace: &str,
) -> Result<Vec<SealingKey>, ClusterKeyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")))
        .await
        .map_err(kube_err("listing sealing-key Secrets", namespace))?;
    let mut secrets: Vec<Secret> = list.items;
    if let Some(legacy) = api
        .get_opt(KEY_PREFIX)
        .await
        .map_err(kube_err("reading the legacy sealing-key Secret", namespace))?
        && !secrets
            .iter()
            .any(|s| s.metadata.name.as_deref() == Some(KEY_PREFIX))
    {
        secrets.push(legacy);
    }
    let mut keys = Vec::new();
    for s in secrets {
        let v = serde_json::to_value(&s)
            .map_err(|e| SealedSecretError::Invalid(format!("sealing-key Secret: {e}")))?;
        keys.push(SealingKey::from_secret(&v)?);
    }
    keys.sort_by_key(|k| k.cert.not_before);
    Ok(keys)
}

/// The certificate to seal with: the newest active key's certificate.
pub async fn latest_cert(client: &Client, namespace: &str) -> Result<SealingCert, ClusterKeyError> {
    let keys = load_sealing_keys(client, namespace).await?;
    keys.last()
        .map(|k| k.cert.clone())
        .ok_or_else(|| ClusterKeyError::NoKeys(namespace.to_string()))
}

/// Fetch `/v1/cert.pem` from a running controller through the API server's
/// service proxy, as kubeseal does (needs no Secret read permission).
pub async fn fetch_cert_from_controller(
    client: &Client,
    namespace: &str,
    controller_name: &str,
) -> Result<SealingCert, ClusterKeyError> {
    let svc_api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = svc_api.get(controller_name).await.map_err(kube_err(
        &format!("reading Service {controller_name}"),
        namespace,
    ))?;
    let port = svc
        .spec
        .and_then(|s| s.ports)
        .and_then(|p| p.into_iter().next())
        .and_then(|p| p.name.or(Some(p.port.to_string())))
        .unwrap_or_else(|| "http".into());
    let path = format!(
        "/api/v1/namespaces/{namespace}/services/http:{controller_name}:{port}/proxy/v1/cert.pem"
    );
    let req = http::Request::get(path)
        .header("Accept", "application/x-pem-file, */*")
        .body(Vec::new())
        .map_err(|e| SealedSecretError::Invalid(e.to_string()))?;
    let pem = client
        .request_text(req)
        .await
        .map_err(kube_err("fetching the controller certificate", namespace))?;
    Ok(SealingCert::from_pem(&pem)?)
}

/// Store a key as the controller would. Keys that already exist (same
/// name and same key) are left alone; returns the Secret's name.
pub async fn store_key(
    client: &Client,
    namespace: &str,
    key: &SealingKey,
) -> Result<String, ClusterKeyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if let Some(name) = &key.secret_name
        && let Some(existing) = api
            .get_opt(name)
            .await
            .map_err(kube_err("reading sealing-key Secret", namespace))?
    {
        let v = serde_json::to_value(&existing)
            .map_err(|e| SealedSecretError::Invalid(e.to_string()))?;
        let existing = SealingKey::from_secret(&v)?;
        if existing.private() == key.private() {
            return Ok(name.clone());
        }
        return Err(SealedSecretError::Invalid(format!(
            "a different key Secret named {name} already exists in {namespace}"
        ))
        .into());
    }
    let manifest = key.to_secret(namespace)?;
    let secret: Secret =
        serde_json::from_value(manifest).map_err(|e| SealedSecretError::Invalid(e.to_string()))?;
    let created = api
        .create(&PostParams::default(), &secret)
        .await
        .map_err(kube_err("creating sealing-key Secret", namespace))?;
    Ok(created.metadata.name.unwrap_or_default())
}

/// Rotate: add a new active key; old keys stay, so old SealedSecrets still
/// unseal (renewal is not re-encryption, as with the controller).
pub async fn rotate(
    client: &Client,
    namespace: &str,
    bits: usize,
) -> Result<String, ClusterKeyError> {
    let key = tokio::task::spawn_blocking(move || SealingKey::generate(bits, "", 3650))
        .await
        .map_err(|e| SealedSecretError::Invalid(format!("key generation task: {e}")))??;
    store_key(client, namespace, &key).await
}

/// All active keys of a cluster as a `v1.List` of clean Secret manifests,
/// ready to be SOPS-encrypted into Git.
pub async fn backup(client: &Client, namespace: &str) -> Result<Value, ClusterKeyError> {
    let keys = load_sealing_keys(client, namespace).await?;
    if keys.is_empty() {
        return Err(ClusterKeyError::NoKeys(namespace.to_string()));
    }
    let mut items = Vec::new();
    for k in &keys {
        items.push(k.to_secret(namespace)?);
    }
    Ok(json!({"apiVersion": "v1", "kind": "List", "items": items}))
}

/// Restore keys (from [`backup`]) into `namespace`; returns the Secret names.
pub async fn restore(
    client: &Client,
    namespace: &str,
    keys: &[SealingKey],
) -> Result<Vec<String>, ClusterKeyError> {
    let mut names = Vec::new();
    for k in keys {
        names.push(store_key(client, namespace, k).await?);
    }
    Ok(names)
}
