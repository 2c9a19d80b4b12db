//! Hooks for the apply engine: turn SOPS-encrypted manifests and
//! SealedSecrets into plain objects at apply time, and redact Secret
//! values before anything is shown in plans, diffs or logs.

use crate::sealed::{self, SealedSecretError, SealingKey, cluster};
use crate::sops::{self, Format, Keyring, SopsError};
use serde_json::{Value, json};

/// What to do with SealedSecret objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedSecretMode {
    /// Apply SealedSecrets as they are; an installed controller unseals them.
    Controller,
    /// Unseal them here with the target cluster's active sealing keys (read
    /// from `keys_namespace`, labelled like the controller's) and apply the
    /// resulting Secrets; the cluster needs no controller.
    Unseal { keys_namespace: String },
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Sealed(#[from] SealedSecretError),
    #[error("{0}")]
    Keys(#[from] cluster::ClusterKeyError),
}

/// Replace SealedSecrets by the Secrets they hold (in `Unseal` mode), keys
/// read once from the cluster. `default_namespace` fills objects without a
/// namespace. Other objects pass through unchanged.
pub async fn prepare_for_apply(
    client: &kube::Client,
    objects: Vec<Value>,
    mode: &SealedSecretMode,
    default_namespace: Option<&str>,
) -> Result<Vec<Value>, PrepareError> {
    let SealedSecretMode::Unseal { keys_namespace } = mode else {
        return Ok(objects);
    };
    if !objects.iter().any(sealed::is_sealed_secret) {
        return Ok(objects);
    }
    let keys = cluster::load_sealing_keys(client, keys_namespace).await?;
    unseal_objects(objects, &keys, default_namespace).map_err(PrepareError::from)
}

/// The offline part of [`prepare_for_apply`].
pub fn unseal_objects(
    objects: Vec<Value>,
    keys: &[SealingKey],
    default_namespace: Option<&str>,
) -> Result<Vec<Value>, SealedSecretError> {
    objects
        .into_iter()
        .map(|o| {
            if sealed::is_sealed_secret(&o) {
                sealed::unseal(&o, keys, default_namespace)
            } else {
                Ok(o)
            }
        })
        .collect()
}

/// Decrypt a SOPS-encrypted manifest file into objects (MAC verified).
pub fn decrypt_manifests(
    bytes: &[u8],
    format: Format,
    keys: &Keyring,
) -> Result<Vec<Value>, SopsError> {
    let file = sops::SopsFile::parse(bytes, format)?;
    let d = file.decrypt(keys)?;
    Ok(d.docs
        .iter()
        .map(|n| n.to_json())
        .filter(|v| !v.is_null())
        .collect())
}

/// Decrypt one rendered object that still carries SOPS metadata (a `sops`
/// key), as Flux's kustomize-controller does after `kustomize build`. The
/// MAC is verified; the result has no `sops` key.
pub fn decrypt_object(obj: &Value, keys: &Keyring) -> Result<Value, SopsError> {
    let Value::Object(map) = obj else {
        return Err(SopsError::NotEncrypted);
    };
    let meta = map.get("sops").ok_or(SopsError::NotEncrypted)?;
    let metadata = sops::Metadata::from_node(&crate::tree::Node::from_json(meta))?;
    let mut body = map.clone();
    body.remove("sops");
    let file = sops::SopsFile {
        format: Format::Json,
        docs: vec![crate::tree::Node::from_json(&Value::Object(body))],
        metadata,
    };
    let d = file.decrypt(keys)?;
    Ok(d.docs.first().map(|n| n.to_json()).unwrap_or(Value::Null))
}

/// Age identities from a Kubernetes Secret's data (entries ending in
/// `.agekey`, Flux's convention), e.g. a `sops-age` Secret in the cluster.
pub fn keyring_from_secret(secret: &Value) -> Result<Keyring, SopsError> {
    use base64::Engine;
    let mut ring = Keyring::default();
    let name = secret
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    if let Some(Value::Object(data)) = secret.get("data") {
        for (k, v) in data {
            if !k.ends_with(".agekey") {
                continue;
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .map_err(|_| SopsError::Parse(format!("Secret {name}: data.{k} is not base64")))?;
            let text =
                crate::sensitive::SecretString::new(String::from_utf8_lossy(&bytes).into_owned());
            ring.add_age_keys(text.expose(), &format!("Secret {name} {k}"))?;
        }
    }
    Ok(ring)
}

/// A copy of a Secret (or SealedSecret) safe to print: every value in
/// `data`, `stringData` and `spec.encryptedData` replaced by a marker that
/// shows only whether it changed size class. Other objects are returned as is.
pub fn redact(obj: &Value) -> Value {
    let mut out = obj.clone();
    let kind = obj.get("kind").and_then(Value::as_str);
    let mask = |m: &mut Value| {
        if let Value::Object(map) = m {
            for (_, v) in map.iter_mut() {
                let len = v.as_str().map_or(0, str::len);
                *v = json!(format!("<redacted, {len} bytes>"));
            }
        }
    };
    match kind {
        Some("Secret") => {
            if let Some(d) = out.get_mut("data") {
                mask(d);
            }
            if let Some(d) = out.get_mut("stringData") {
                mask(d);
            }
            if let Some(Value::Object(ann)) = out.pointer_mut("/metadata/annotations") {
                ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
        Some(sealed::KIND) => {
            if let Some(d) = out.pointer_mut("/spec/encryptedData") {
                mask(d);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypts_a_rendered_object() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/corpus/secrets/sops");
        let text =
            std::fs::read_to_string(dir.join("rops/as-first-committed/age_example.yaml")).unwrap();
        let obj = crate::yaml::parse(&text).unwrap()[0].to_json();
        let mut keys = Keyring::default();
        keys.add_age_keys(
            &std::fs::read_to_string(dir.join("keys/rops-age-test-identity.txt")).unwrap(),
            "rops",
        )
        .unwrap();
        let plain = decrypt_object(&obj, &keys).unwrap();
        assert_eq!(plain["example_key"], "example_value");
        assert!(plain.get("sops").is_none());
        let mut tampered = obj.clone();
        tampered["example_number"] = json!(1);
        assert!(decrypt_object(&tampered, &keys).is_err());
        assert!(matches!(
            decrypt_object(&json!({"a": 1}), &keys),
            Err(SopsError::NotEncrypted)
        ));
    }

    #[test]
    fn redact_hides_values_only() {
        let s = json!({"kind": "Secret", "metadata": {"name": "x", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"p\":\"aHVudGVy\"}}"}}, "data": {"p": "aHVudGVy"}, "stringData": {"q": "hunter"}});
        let r = redact(&s);
        let text = r.to_string();
        assert!(!text.contains("aHVudGVy") && !text.contains("hunter"));
        assert_eq!(r["metadata"]["name"], "x");
        assert_eq!(r["data"]["p"], "<redacted, 8 bytes>");
        let cm = json!({"kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(redact(&cm), cm);
    }

    #[test]
    fn keyring_from_flux_style_secret() {
        use age::secrecy::ExposeSecret;
        use base64::Engine;
        let id = age::x25519::Identity::generate();
        let b64 = base64::engine::general_purpose::STANDARD.encode(id.to_string().expose_secret());
        let s = json!({"kind": "Secret", "metadata": {"name": "sops-age"}, "data": {"identity.agekey": b64, "other": "eA=="}});
        assert_eq!(keyring_from_secret(&s).unwrap().len(), 1);
    }

    #[test]
    fn unseal_objects_passes_others_through() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let out = unseal_objects(vec![cm.clone()], &[], None).unwrap();
        assert_eq!(out, vec![cm]);
        let ss = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "s", "namespace": "n"}, "spec": {"encryptedData": {"a": "AgAA"}}});
        let err = unseal_objects(vec![ss], &[], None).unwrap_err().to_string();
        assert!(
            err.contains("no sealing key could decrypt SealedSecret n/s"),
            "{err}"
        );
    }
}
