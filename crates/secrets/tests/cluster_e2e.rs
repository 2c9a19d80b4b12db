//! End to end on real clusters: cluster A gets a sealing key; a SealedSecret
//! is made for A; A's keys are backed up into a SOPS-encrypted file (as it
//! would live in Git) and restored into cluster B; B, which could not read
//! the SealedSecret before, now unseals it with keys read from B itself and
//! the resulting Secret is applied to B.

use age::secrecy::ExposeSecret;
use flotilla_secrets::sealed::{self, SealOptions, SealingKey, cluster};
use flotilla_secrets::sops;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn backup_keys_from_a_restore_into_b_and_unseal_there() {
    let Some(clusters) = flotilla_testkit::clusters() else {
        return;
    };
    assert!(
        clusters.len() >= 2,
        "need two clusters, got {}",
        clusters.len()
    );
    let (a, b) = (&clusters[0], &clusters[1]);
    let (client_a, client_b) = (a.client().await.unwrap(), b.client().await.unwrap());

    // Per-test "controller namespaces" so parallel tests never share keys.
    let keys_a = flotilla_testkit::namespace(a, "sealing-keys")
        .await
        .unwrap();
    let keys_b = flotilla_testkit::namespace(b, "sealing-keys")
        .await
        .unwrap();
    // The app namespace must have the same name in both clusters (strict scope).
    let app = flotilla_testkit::namespace(a, "sealed-app").await.unwrap();
    let ns_api_b: Api<Namespace> = Api::all(client_b.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": app.name}})).unwrap();
    ns_api_b.create(&PostParams::default(), &ns).await.unwrap();

    // 1. A gets an active sealing key (as the controller would create it).
    let key_name = cluster::rotate(&client_a, &keys_a.name, 4096)
        .await
        .unwrap();
    assert!(key_name.starts_with("sealed-secrets-key"), "{key_name}");
    let cert = cluster::latest_cert(&client_a, &keys_a.name).await.unwrap();

    // 2. A SealedSecret made for A (strict scope: namespace + name bound).
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": app.name},
        "type": "Opaque",
        "stringData": {"password": "correct-horse"},
    });
    let sealed_secret = sealed::seal_secret(&cert, &secret, &SealOptions::default()).unwrap();

    // B has no keys yet: it cannot unseal.
    let before = cluster::load_sealing_keys(&client_b, &keys_b.name)
        .await
        .unwrap();
    assert!(before.is_empty());
    assert!(sealed::unseal(&sealed_secret, &before, None).is_err());

    // 3. Back up A's keys into a SOPS file (the form kept in Git).
    let list = cluster::backup(&client_a, &keys_a.name).await.unwrap();
    let plain = flotilla_secrets::yaml::emit(&[flotilla_secrets::tree::Node::from_json(&list)]);
    let age_id = age::x25519::Identity::generate();
    let settings = sops::CreationSettings {
        key_groups: vec![vec![age_id.to_public().to_string().parse().unwrap()]],
        rule: Some(sops::Rule::from_field("encrypted_regex", "^(data|stringData)$").unwrap()),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let backup_file = dir.path().join("cluster-a-sealing-keys.sops.yaml");
    let encrypted = sops::encrypt(plain.as_bytes(), sops::Format::Yaml, &settings).unwrap();
    std::fs::write(&backup_file, encrypted.to_bytes().unwrap()).unwrap();
    assert!(
        !std::fs::read_to_string(&backup_file)
            .unwrap()
            .contains("PRIVATE KEY")
    );

    // 4. Restore into B from the SOPS file.
    let mut ring = sops::Keyring::default();
    ring.add_age_keys(age_id.to_string().expose_secret(), "test identity")
        .unwrap();
    let decrypted = flotilla_secrets::files::open(&backup_file, None, &ring).unwrap();
    let docs: Vec<_> = decrypted.docs.iter().map(|n| n.to_json()).collect();
    let keys = SealingKey::from_documents(&docs).unwrap();
    assert_eq!(keys.len(), 1);
    let restored = cluster::restore(&client_b, &keys_b.name, &keys)
        .await
        .unwrap();
    assert_eq!(restored, vec![key_name.clone()]);
    // Restoring again is a no-op (same key, same name).
    assert_eq!(
        cluster::restore(&client_b, &keys_b.name, &keys)
            .await
            .unwrap(),
        restored
    );

    // 5. B unseals with keys read from B (what the engine does at apply time) and applies the Secret.
    let keys_on_b = cluster::load_sealing_keys(&client_b, &keys_b.name)
        .await
        .unwrap();
    assert_eq!(keys_on_b.len(), 1);
    let unsealed = sealed::unseal(&sealed_secret, &keys_on_b, None).unwrap();
    let secret_obj: Secret = serde_json::from_value(unsealed).unwrap();
    let secrets_b: Api<Secret> = Api::namespaced(client_b.clone(), &app.name);
    secrets_b
        .create(&PostParams::default(), &secret_obj)
        .await
        .unwrap();
    let live = secrets_b.get("db").await.unwrap();
    let data = live.data.unwrap();
    assert_eq!(data["password"].0, b"correct-horse");
    println!(
        "e2e: key {key_name} backed up from {} (SOPS), restored into {}, SealedSecret for {} applied as Secret {}/db on {}",
        a.name, b.name, a.name, app.name, b.name
    );

    // 6. Rotation on B keeps the old key: both are active, the old SealedSecret still unseals.
    cluster::rotate(&client_b, &keys_b.name, 2048)
        .await
        .unwrap();
    let rotated = cluster::load_sealing_keys(&client_b, &keys_b.name)
        .await
        .unwrap();
    assert_eq!(rotated.len(), 2);
    assert!(sealed::unseal(&sealed_secret, &rotated, None).is_ok());

    let _ = ns_api_b
        .delete(&app.name, &DeleteParams::background())
        .await;
}
