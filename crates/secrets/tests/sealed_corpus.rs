//! Sealed Secrets against the corpus: the real controller key, real
//! `kubeseal --raw` values (kseal) and the derived SealedSecrets of all
//! three scopes; plus seal/unseal round trips and key generation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use flotilla_secrets::sealed::{self, Scope, SealOptions, SealingCert, SealingKey};
use flotilla_secrets::sensitive::SecretBytes;
use flotilla_secrets::sops;
use serde_json::{Value, json};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/secrets/sealed-secrets")
}

fn yaml_docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(corpus().join(path)).unwrap();
    flotilla_secrets::yaml::parse(&text)
        .unwrap()
        .iter()
        .map(|n| n.to_json())
        .collect()
}

fn controller_key() -> SealingKey {
    SealingKey::from_secret(&yaml_docs("kseal/example-key.yaml")[0]).unwrap()
}

#[test]
fn controller_key_parses_with_its_fingerprint() {
    let key = controller_key();
    assert_eq!(
        key.cert.fingerprint(),
        "SHA256:F11ReRmau3H0PSgUJ/vHN/gr/XKl3Ryao/6XITLiRCA"
    );
    assert_eq!(key.secret_name.as_deref(), Some("sealed-secrets-keygvqgl"));
    let cert = SealingCert::from_pem(
        &std::fs::read_to_string(corpus().join("derived/kseal-controller-cert.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(cert.fingerprint(), key.cert.fingerprint());
    assert!(format!("{key:?}").contains("redacted"));
}

#[test]
fn real_kubeseal_raw_values_unseal() {
    let keys = vec![controller_key()];
    let label = Scope::Strict.label("my-namespace", "my-secret");
    let mut count = 0;
    for (file, plaintexts) in [
        (
            "kseal/dev-values.yaml",
            [
                "my-password-for-dev-db",
                "my-dev-api-secret",
                "This is a secret message",
            ],
        ),
        (
            "kseal/prd-values.yaml",
            [
                "my-password-for-prd-db",
                "my-prd-api-secret",
                "This is a secret message !!!",
            ],
        ),
    ] {
        let doc = &yaml_docs(file)[0];
        let values = [
            doc["secrets"][0]["value"].as_str().unwrap(),
            doc["secrets"][1]["value"].as_str().unwrap(),
            doc["secretMessage"].as_str().unwrap(),
        ];
        for (v, want) in values.iter().zip(plaintexts) {
            let ct = B64.decode(v).unwrap();
            let got = sealed::hybrid_decrypt(&keys, &ct, &label).expect("unseals");
            assert_eq!(got.expose(), want.as_bytes());
            // the wrong label (another scope) must fail
            assert!(sealed::hybrid_decrypt(&keys, &ct, b"my-namespace").is_none());
            assert!(sealed::hybrid_decrypt(&keys, &ct, b"").is_none());
            count += 1;
        }
    }
    println!("kubeseal --raw vectors unsealed: {count}/6");
    assert_eq!(count, 6);
}

#[test]
fn derived_sealed_secrets_of_every_scope_unseal() {
    let keys = vec![controller_key()];
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("derived/selfgen-vectors.json")).unwrap(),
    )
    .unwrap();
    for (scope, file) in [
        ("strict", "derived/sealedsecret-strict.yaml"),
        ("namespace-wide", "derived/sealedsecret-namespace-wide.yaml"),
        ("cluster-wide", "derived/sealedsecret-cluster-wide.yaml"),
    ] {
        let sealed_obj = &yaml_docs(file)[0];
        let secret = sealed::unseal(sealed_obj, &keys, None).unwrap();
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["type"], "Opaque");
        let want = vectors[scope]["plaintexts"].as_object().unwrap();
        let data = secret["data"].as_object().unwrap();
        assert_eq!(data.len(), want.len(), "{scope}");
        for (k, v) in want {
            let got = B64.decode(data[k].as_str().unwrap()).unwrap();
            assert_eq!(got, v.as_str().unwrap().as_bytes(), "{scope}/{k}");
        }
        // Renaming a strict/namespace-wide SealedSecret breaks it (label changes).
        let mut moved = sealed_obj.clone();
        moved["metadata"]["namespace"] = json!("elsewhere");
        let r = sealed::unseal(&moved, &keys, None);
        if scope == "cluster-wide" {
            assert!(r.is_ok());
        } else {
            let err = r.unwrap_err().to_string();
            assert!(err.contains("no sealing key could decrypt"), "{err}");
            assert!(!err.contains("s3cr3t"));
        }
    }
}

#[test]
fn seal_then_unseal_every_scope() {
    let key = controller_key();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps", "uid": "x", "resourceVersion": "1",
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "type": "Opaque",
        "data": {"password": B64.encode("hunter2")},
        "stringData": {"user": "admin"}
    });
    for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        let opts = SealOptions {
            scope: Some(scope),
            ..Default::default()
        };
        let s = sealed::seal_secret(&key.cert, &secret, &opts).unwrap();
        assert_eq!(s["kind"], "SealedSecret");
        assert!(s["metadata"].get("uid").is_none());
        assert!(s["metadata"].get("creationTimestamp").is_none());
        assert!(
            s["metadata"]["annotations"]
                .get("kubectl.kubernetes.io/last-applied-configuration")
                .is_none()
        );
        let ct = s["spec"]["encryptedData"]["password"].as_str().unwrap();
        assert!(ct.starts_with("Ag"), "4096-bit key: length prefix 0x0200");
        assert_eq!(B64.decode(ct).unwrap().len(), 2 + 512 + 7 + 16);
        let back = sealed::unseal(&s, std::slice::from_ref(&key), None).unwrap();
        assert_eq!(back["data"]["password"], B64.encode("hunter2"));
        assert_eq!(back["data"]["user"], B64.encode("admin"));
        assert_eq!(back["metadata"]["name"], "db");
    }
    // --merge-into adds items under the file's own scope
    let mut s = sealed::seal_secret(&key.cert, &secret, &SealOptions::default()).unwrap();
    sealed::merge_items(
        &key.cert,
        &mut s,
        &[("token".into(), SecretBytes::new(b"t0k".to_vec()))],
    )
    .unwrap();
    let back = sealed::unseal(&s, &[key], None).unwrap();
    assert_eq!(back["data"]["token"], B64.encode("t0k"));
}

#[test]
fn reseal_moves_a_sealed_secret_to_the_new_key() {
    let old = controller_key();
    let new = SealingKey::generate(2048, "", 30).unwrap();
    let original = &yaml_docs("derived/sealedsecret-namespace-wide.yaml")[0];
    let resealed = sealed::reseal(original, std::slice::from_ref(&old), &new.cert).unwrap();
    assert_eq!(resealed["metadata"], original["metadata"]);
    assert_ne!(
        resealed["spec"]["encryptedData"],
        original["spec"]["encryptedData"]
    );
    // only the new key opens it now, with the same plaintexts
    assert!(sealed::unseal(&resealed, std::slice::from_ref(&old), None).is_err());
    let a = sealed::unseal(&resealed, std::slice::from_ref(&new), None).unwrap();
    let b = sealed::unseal(original, &[old], None).unwrap();
    assert_eq!(a["data"], b["data"]);
    assert!(sealed::reseal(original, std::slice::from_ref(&new), &new.cert).is_err());
}

#[test]
fn generated_keys_back_up_into_sops_and_restore() {
    let key = SealingKey::generate(2048, "", 3650).unwrap();
    let cert = &key.cert;
    assert!(cert.not_after > cert.not_before + 3649 * 86_400);
    let manifest = key.to_secret("kube-system").unwrap();
    assert_eq!(manifest["type"], "kubernetes.io/tls");
    assert_eq!(manifest["metadata"]["generateName"], "sealed-secrets-key");
    assert_eq!(
        manifest["metadata"]["labels"]["sealedsecrets.bitnami.com/sealed-secrets-key"],
        "active"
    );
    // A SealedSecret made for this key...
    let raw = sealed::seal_raw(cert, b"v", "ns", "n", Scope::Strict).unwrap();
    // ...backed up (with the corpus key) into a SOPS file...
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [manifest, controller_key().to_secret("kube-system").unwrap()]});
    let plain = flotilla_secrets::yaml::emit(&[flotilla_secrets::tree::Node::from_json(&list)]);
    let id = age::x25519::Identity::generate();
    let settings = sops::CreationSettings {
        key_groups: vec![vec![id.to_public().to_string().parse().unwrap()]],
        rule: Some(sops::Rule::from_field("encrypted_regex", "^(data|stringData)$").unwrap()),
        ..Default::default()
    };
    let file = sops::encrypt(plain.as_bytes(), sops::Format::Yaml, &settings).unwrap();
    let encrypted = String::from_utf8(file.to_bytes().unwrap()).unwrap();
    assert!(!encrypted.contains("PRIVATE"));
    assert!(encrypted.contains("kind: Secret"));
    // ...restores from the SOPS file and unseals the value.
    let mut ring = sops::Keyring::default();
    use age::secrecy::ExposeSecret;
    ring.add_age_keys(id.to_string().expose_secret(), "test")
        .unwrap();
    let d = sops::SopsFile::parse(encrypted.as_bytes(), sops::Format::Yaml)
        .unwrap()
        .decrypt(&ring)
        .unwrap();
    let keys = SealingKey::from_documents(&d.docs.iter().map(|n| n.to_json()).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(keys.len(), 2);
    let got = sealed::hybrid_decrypt(&keys, &B64.decode(raw).unwrap(), b"ns/n").unwrap();
    assert_eq!(got.expose(), b"v");
}
