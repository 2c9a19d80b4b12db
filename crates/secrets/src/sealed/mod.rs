//! Bitnami Sealed Secrets, natively: hybrid RSA-OAEP(SHA-256, label) +
//! AES-256-GCM values exactly as `kubeseal` writes them, unsealing with
//! every active controller key, and sealing-key lifecycle (generate,
//! rotate, back up into SOPS, restore). Format: secrets-formats.md §B.
//!
//! Unsealing uses the `rsa` crate, which carries RUSTSEC-2023-0071 (a
//! timing side channel on private-key operations, no fixed release yet);
//! this is accepted and documented: an attacker needs fine-grained timing
//! of many unseal attempts against the engine.

pub mod cluster;
pub mod keys;
pub mod template;

use crate::sensitive::SecretBytes;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
pub use keys::{SealingCert, SealingKey};
use rand::RngCore;
use rsa::{Oaep, RsaPublicKey};
use serde_json::{Map, Value, json};
use sha2::Sha256;

pub const API_VERSION: &str = "bitnami.com/v1alpha1";
pub const KIND: &str = "SealedSecret";
pub const ANNOTATION_NAMESPACE_WIDE: &str = "sealedsecrets.bitnami.com/namespace-wide";
pub const ANNOTATION_CLUSTER_WIDE: &str = "sealedsecrets.bitnami.com/cluster-wide";

#[derive(Debug, thiserror::Error)]
pub enum SealedSecretError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "no sealing key could decrypt {what} (tried {tried} keys); sealed for another cluster, or for another namespace/name/scope"
    )]
    NoKey { what: String, tried: usize },
    #[error("certificate: {0}")]
    Cert(String),
    #[error("{0}")]
    Unsupported(String),
}

/// The scope decides the OAEP label, i.e. where a value may be unsealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    Strict,
    NamespaceWide,
    ClusterWide,
}

impl std::str::FromStr for Scope {
    type Err = SealedSecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(SealedSecretError::Invalid(format!(
                "unknown scope '{other}' (expected strict, namespace-wide or cluster-wide)"
            ))),
        }
    }
}

impl Scope {
    /// The scope given by annotations (`cluster-wide` wins if both are set).
    pub fn from_annotations(annotations: Option<&Value>) -> Scope {
        let is_true =
            |k: &str| annotations.and_then(|a| a.get(k)).and_then(Value::as_str) == Some("true");
        if is_true(ANNOTATION_CLUSTER_WIDE) {
            Scope::ClusterWide
        } else if is_true(ANNOTATION_NAMESPACE_WIDE) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The OAEP label: `ns/name`, `ns`, or empty.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }

    fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(ANNOTATION_NAMESPACE_WIDE),
            Scope::ClusterWide => Some(ANNOTATION_CLUSTER_WIDE),
        }
    }
}

fn oaep(label: &[u8]) -> Oaep {
    if label.is_empty() {
        Oaep::new::<Sha256>()
    } else {
        // Labels are namespace/name strings, hence valid UTF-8.
        Oaep::new_with_label::<Sha256, _>(&String::from_utf8_lossy(label))
    }
}

/// `HybridEncrypt`: len(rsa) ‖ RSA-OAEP(session key) ‖ AES-GCM(zero nonce).
pub fn hybrid_encrypt(
    public: &RsaPublicKey,
    plaintext: &[u8],
    label: &[u8],
) -> Result<Vec<u8>, SealedSecretError> {
    let mut raw = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let session = SecretBytes::new(raw);
    let rsa_ct = public
        .encrypt(&mut rand::rngs::OsRng, oaep(label), session.expose())
        .map_err(|e| SealedSecretError::Cert(format!("RSA encryption failed: {e}")))?;
    let aes = Aes256Gcm::new_from_slice(session.expose())
        .map_err(|_| SealedSecretError::Invalid("bad session key".into()))?;
    // A fresh session key per value makes the fixed zero nonce safe.
    let aes_ct = aes
        .encrypt(Nonce::from_slice(&[0u8; 12]), plaintext)
        .map_err(|_| SealedSecretError::Invalid("AES-GCM encryption failed".into()))?;
    let len = u16::try_from(rsa_ct.len())
        .map_err(|_| SealedSecretError::Cert("RSA key too large".into()))?;
    let mut out = Vec::with_capacity(2 + rsa_ct.len() + aes_ct.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&rsa_ct);
    out.extend_from_slice(&aes_ct);
    Ok(out)
}

/// `HybridDecrypt` with every key, first success wins.
pub fn hybrid_decrypt(keys: &[SealingKey], ciphertext: &[u8], label: &[u8]) -> Option<SecretBytes> {
    if ciphertext.len() < 2 {
        return None;
    }
    let rsa_len = u16::from_be_bytes([ciphertext[0], ciphertext[1]]) as usize;
    if ciphertext.len() < 2 + rsa_len {
        return None;
    }
    let (rsa_ct, aes_ct) = ciphertext[2..].split_at(rsa_len);
    for key in keys {
        let Ok(session) = key.private().decrypt(oaep(label), rsa_ct) else {
            continue;
        };
        let session = SecretBytes::new(session);
        let Ok(aes) = Aes256Gcm::new_from_slice(session.expose()) else {
            continue;
        };
        if let Ok(plain) = aes.decrypt(Nonce::from_slice(&[0u8; 12]), aes_ct) {
            return Some(SecretBytes::new(plain));
        }
    }
    None
}

/// Seal one value for `namespace`/`name` under `scope` (`kubeseal --raw`).
pub fn seal_raw(
    cert: &SealingCert,
    value: &[u8],
    namespace: &str,
    name: &str,
    scope: Scope,
) -> Result<String, SealedSecretError> {
    match scope {
        Scope::Strict if namespace.is_empty() || name.is_empty() => {
            return Err(SealedSecretError::Invalid(
                "strict scope needs --namespace and --name".into(),
            ));
        }
        Scope::NamespaceWide if namespace.is_empty() => {
            return Err(SealedSecretError::Invalid(
                "namespace-wide scope needs --namespace".into(),
            ));
        }
        _ => {}
    }
    let ct = hybrid_encrypt(cert.public(), value, &scope.label(namespace, name))?;
    Ok(B64.encode(ct))
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// Options for [`seal_secret`], mirroring kubeseal's flags.
#[derive(Clone, Debug, Default)]
pub struct SealOptions {
    pub scope: Option<Scope>,
    pub name: Option<String>,
    /// Fills an empty namespace (kubeseal takes it from the kubeconfig).
    pub default_namespace: Option<String>,
    pub allow_empty_data: bool,
}

/// Seal a `v1/Secret` manifest into a SealedSecret, as `kubeseal` does.
pub fn seal_secret(
    cert: &SealingCert,
    secret: &Value,
    opts: &SealOptions,
) -> Result<Value, SealedSecretError> {
    if secret.get("kind").and_then(Value::as_str) != Some("Secret") {
        return Err(SealedSecretError::Invalid(
            "input is not a v1 Secret".into(),
        ));
    }
    let mut meta = secret.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let Value::Object(meta_obj) = &mut meta else {
        return Err(SealedSecretError::Invalid(
            "Secret metadata is not a mapping".into(),
        ));
    };
    if let Some(n) = &opts.name {
        meta_obj.insert("name".into(), json!(n));
    }
    let name = meta_obj
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        return Err(SealedSecretError::Invalid(
            "the Secret has no metadata.name (or pass --name)".into(),
        ));
    }
    let scope = match opts.scope {
        Some(s) => s,
        None => Scope::from_annotations(meta_obj.get("annotations")),
    };
    let mut namespace = meta_obj
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if namespace.is_empty() && scope != Scope::ClusterWide {
        namespace = opts
            .default_namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        meta_obj.insert("namespace".into(), json!(namespace));
    }
    // Strip server-populated fields, as kubeseal does.
    for f in [
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "managedFields",
    ] {
        meta_obj.remove(f);
    }
    if let Some(Value::Object(ann)) = meta_obj.get_mut("annotations") {
        ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        ann.remove("kubecfg.ksonnet.io/last-applied-configuration");
        ann.remove(ANNOTATION_NAMESPACE_WIDE);
        ann.remove(ANNOTATION_CLUSTER_WIDE);
    }
    if let Some(a) = scope.annotation() {
        let ann = meta_obj.entry("annotations").or_insert_with(|| json!({}));
        if let Value::Object(ann) = ann {
            ann.insert(a.into(), json!("true"));
        }
    }
    if matches!(meta_obj.get("annotations"), Some(Value::Object(a)) if a.is_empty()) {
        meta_obj.remove("annotations");
    }
    let label = scope.label(&namespace, &name);
    let mut encrypted = Map::new();
    let mut entries: Vec<(String, SecretBytes)> = Vec::new();
    if let Some(Value::Object(data)) = secret.get("data") {
        for (k, v) in data {
            let s = v.as_str().unwrap_or("");
            let bytes = B64
                .decode(s)
                .map_err(|_| SealedSecretError::Invalid(format!("data.{k} is not valid base64")))?;
            entries.push((k.clone(), SecretBytes::new(bytes)));
        }
    }
    if let Some(Value::Object(data)) = secret.get("stringData") {
        for (k, v) in data {
            let s = v.as_str().unwrap_or("");
            entries.retain(|(ek, _)| ek != k);
            entries.push((k.clone(), SecretBytes::new(s.as_bytes().to_vec())));
        }
    }
    if entries.is_empty() && !opts.allow_empty_data {
        return Err(SealedSecretError::Invalid(
            "the Secret has no data or stringData (use --allow-empty-data to seal it anyway)"
                .into(),
        ));
    }
    for (k, v) in &entries {
        let ct = hybrid_encrypt(cert.public(), v.expose(), &label)?;
        encrypted.insert(k.clone(), json!(B64.encode(ct)));
    }
    // kubeseal: the SealedSecret carries only name, namespace and the scope
    // annotation; the template keeps the Secret's metadata (ObjectMeta order).
    let mut sealed_meta = Map::new();
    sealed_meta.insert("name".into(), json!(name));
    if let Some(ns) = meta_obj.get("namespace") {
        sealed_meta.insert("namespace".into(), ns.clone());
    }
    if let Some(a) = scope.annotation() {
        sealed_meta.insert("annotations".into(), json!({ a: "true" }));
    }
    let mut template = Map::new();
    template.insert(
        "metadata".into(),
        Value::Object(object_meta_order(meta_obj)),
    );
    if let Some(t) = secret.get("type") {
        template.insert("type".into(), t.clone());
    }
    if let Some(i) = secret.get("immutable") {
        template.insert("immutable".into(), i.clone());
    }
    Ok(json!({
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": Value::Object(sealed_meta),
        "spec": {
            "template": Value::Object(template),
            "encryptedData": Value::Object(encrypted),
        }
    }))
}

/// Metadata keys in Go's `ObjectMeta` field order (how kubeseal prints them).
fn object_meta_order(meta: &Map<String, Value>) -> Map<String, Value> {
    const ORDER: [&str; 15] = [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    let mut out = Map::new();
    for k in ORDER {
        if let Some(v) = meta.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    for (k, v) in meta {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Add or replace items in an existing SealedSecret (`kubeseal --merge-into`),
/// keeping its scope.
pub fn merge_items(
    cert: &SealingCert,
    sealed: &mut Value,
    items: &[(String, SecretBytes)],
) -> Result<(), SealedSecretError> {
    check_sealed(sealed)?;
    let (namespace, name, scope) = identity(sealed);
    let label = scope.label(&namespace, &name);
    let spec = sealed
        .get_mut("spec")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| SealedSecretError::Invalid("SealedSecret has no spec".into()))?;
    let enc = spec.entry("encryptedData").or_insert_with(|| json!({}));
    let Value::Object(enc) = enc else {
        return Err(SealedSecretError::Invalid(
            "spec.encryptedData is not a mapping".into(),
        ));
    };
    for (k, v) in items {
        let ct = hybrid_encrypt(cert.public(), v.expose(), &label)?;
        enc.insert(k.clone(), json!(B64.encode(ct)));
    }
    Ok(())
}

/// Re-encrypt every item of a SealedSecret for `cert` (typically the newest
/// key after a rotation), keeping its metadata and scope: kubeseal's
/// `--re-encrypt`, done offline with the private keys.
pub fn reseal(
    sealed: &Value,
    keys: &[SealingKey],
    cert: &SealingCert,
) -> Result<Value, SealedSecretError> {
    check_sealed(sealed)?;
    let (namespace, name, scope) = identity(sealed);
    let what = format!("SealedSecret {namespace}/{name}");
    if sealed.pointer("/spec/data").is_some_and(|d| !d.is_null()) {
        return Err(SealedSecretError::Unsupported(format!(
            "{what} uses the deprecated spec.data format; re-seal it from its Secret"
        )));
    }
    let label = scope.label(&namespace, &name);
    let mut out = sealed.clone();
    let Some(Value::Object(enc)) = out.pointer_mut("/spec/encryptedData") else {
        return Err(SealedSecretError::Invalid(format!(
            "{what} has no spec.encryptedData"
        )));
    };
    for (k, v) in enc.iter_mut() {
        let ct = v.as_str().and_then(|s| B64.decode(s).ok()).ok_or_else(|| {
            SealedSecretError::Invalid(format!("{what}: encryptedData.{k} is not base64"))
        })?;
        let plain = hybrid_decrypt(keys, &ct, &label).ok_or_else(|| SealedSecretError::NoKey {
            what: format!("{what} (key: {k})"),
            tried: keys.len(),
        })?;
        *v = json!(B64.encode(hybrid_encrypt(cert.public(), plain.expose(), &label)?));
    }
    Ok(out)
}

fn check_sealed(sealed: &Value) -> Result<(), SealedSecretError> {
    if sealed.get("kind").and_then(Value::as_str) != Some(KIND) {
        return Err(SealedSecretError::Invalid(
            "object is not a SealedSecret".into(),
        ));
    }
    Ok(())
}

/// (namespace, name, scope) from a SealedSecret's own metadata.
fn identity(sealed: &Value) -> (String, String, Scope) {
    (
        str_at(sealed, "/metadata/namespace")
            .unwrap_or("")
            .to_string(),
        str_at(sealed, "/metadata/name").unwrap_or("").to_string(),
        Scope::from_annotations(sealed.pointer("/metadata/annotations")),
    )
}

/// Unseal a SealedSecret into the v1 Secret the controller would create
/// (without the ownerReference, which needs the live object's uid).
/// `default_namespace` fills a missing `metadata.namespace` (the apply target).
pub fn unseal(
    sealed: &Value,
    keys: &[SealingKey],
    default_namespace: Option<&str>,
) -> Result<Value, SealedSecretError> {
    check_sealed(sealed)?;
    let (mut namespace, name, scope) = identity(sealed);
    if namespace.is_empty() {
        namespace = default_namespace.unwrap_or("").to_string();
    }
    if name.is_empty() {
        return Err(SealedSecretError::Invalid(
            "SealedSecret has no metadata.name".into(),
        ));
    }
    let what = format!("SealedSecret {namespace}/{name}");
    let label = scope.label(&namespace, &name);
    let spec = sealed
        .get("spec")
        .ok_or_else(|| SealedSecretError::Invalid(format!("{what} has no spec")))?;
    let template = spec.get("template");
    let mut secret = Map::new();
    secret.insert("apiVersion".into(), json!("v1"));
    secret.insert("kind".into(), json!("Secret"));
    let mut meta = template
        .and_then(|t| t.get("metadata"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    meta.remove("creationTimestamp");
    meta.insert("name".into(), json!(name));
    meta.insert("namespace".into(), json!(namespace));
    let encrypted = spec.get("encryptedData").and_then(Value::as_object);
    let legacy = spec.get("data").and_then(Value::as_str);
    let mut data = Map::new();
    match (encrypted, legacy) {
        (Some(enc), Some(_)) if !enc.is_empty() => {
            return Err(SealedSecretError::Invalid(format!(
                "{what} has both spec.encryptedData and spec.data"
            )));
        }
        (_, Some(blob)) => {
            let ct = B64.decode(blob).map_err(|_| {
                SealedSecretError::Invalid(format!("{what}: spec.data is not base64"))
            })?;
            let plain =
                hybrid_decrypt(keys, &ct, &label).ok_or_else(|| SealedSecretError::NoKey {
                    what: what.clone(),
                    tried: keys.len(),
                })?;
            let inner: Value = serde_json::from_slice(plain.expose()).map_err(|_| {
                SealedSecretError::Invalid(format!("{what}: spec.data does not hold a Secret"))
            })?;
            if let Some(Value::Object(d)) = inner.get("data") {
                data = d.clone();
            }
            if let Some(t) = inner.get("type") {
                secret.insert("type".into(), t.clone());
            }
        }
        (Some(enc), None) => {
            let mut failed = Vec::new();
            for (k, v) in enc {
                let ct = v.as_str().and_then(|s| B64.decode(s).ok());
                match ct.and_then(|ct| hybrid_decrypt(keys, &ct, &label)) {
                    Some(plain) => {
                        data.insert(k.clone(), json!(B64.encode(plain.expose())));
                    }
                    None => failed.push(k.clone()),
                }
            }
            if !failed.is_empty() {
                return Err(SealedSecretError::NoKey {
                    what: format!("{what} (keys: {})", failed.join(", ")),
                    tried: keys.len(),
                });
            }
        }
        (None, None) => {
            return Err(SealedSecretError::Invalid(format!(
                "{what} has no spec.encryptedData"
            )));
        }
    }
    // spec.template.data: Go templates over the unsealed values; each
    // rendered entry replaces a decrypted key of the same name.
    if let Some(Value::Object(templates)) = template.and_then(|t| t.get("data")) {
        let mut values = std::collections::BTreeMap::new();
        for (k, v) in &data {
            let bytes = v
                .as_str()
                .and_then(|s| B64.decode(s).ok())
                .unwrap_or_default();
            values.insert(k.clone(), String::from_utf8_lossy(&bytes).into_owned());
        }
        for (k, t) in templates {
            let t = t.as_str().unwrap_or("");
            let rendered = template::render(t, &values).map_err(|e| {
                SealedSecretError::Unsupported(format!(
                    "{what}: spec.template.data.{k}: {e}; leave this object to the sealed-secrets controller"
                ))
            })?;
            data.insert(k.clone(), json!(B64.encode(rendered.as_bytes())));
        }
        for v in values.values_mut() {
            zeroize::Zeroize::zeroize(v);
        }
    }
    secret.insert("metadata".into(), Value::Object(meta));
    if let Some(t) = template.and_then(|t| t.get("type")) {
        secret.insert("type".into(), t.clone());
    }
    if let Some(i) = template.and_then(|t| t.get("immutable")) {
        secret.insert("immutable".into(), i.clone());
    }
    secret.insert("data".into(), Value::Object(data));
    Ok(Value::Object(secret))
}

/// Is this object a SealedSecret?
pub fn is_sealed_secret(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some(KIND)
        && obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("bitnami.com/"))
}

/// Keys sorted recursively, as the Kubernetes YAML serializer writes them.
fn sorted_keys(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_keys(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// `kubeseal -o yaml` layout: a `---` line, keys sorted, 2-space indent.
pub fn to_yaml(obj: &Value) -> String {
    let node = crate::tree::Node::from_json(&sorted_keys(obj));
    format!("---\n{}", crate::yaml::emit_with_indent(&[node], 2))
}

/// `kubeseal -o json` layout: pretty JSON with a trailing newline.
pub fn to_json(obj: &Value) -> String {
    let mut s = serde_json::to_string_pretty(obj).unwrap_or_default();
    s.push('\n');
    s
}
