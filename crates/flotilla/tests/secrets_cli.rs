//! `flotilla secrets` end to end through the binary: encrypt, decrypt,
//! set, unset, rotate, recipients, edit (with a scripted $EDITOR), seal,
//! unseal and key generation/backup files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn flotilla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/secrets")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An age identity and its recipient, written as a key file.
fn age_key(dir: &Path) -> (PathBuf, String) {
    // The corpus test identity (public test key) with its known recipient.
    let key = dir.join("keys.txt");
    std::fs::copy(corpus().join("sops/keys/rops-age-test-identity.txt"), &key).unwrap();
    (
        key,
        "age1se5ghfycr4n8kcwc3qwf234ymvmr2lex2a99wh8gpfx97glwt9hqch4569".into(),
    )
}

fn cmd(dir: &Path, key: &Path) -> Command {
    let mut c = flotilla();
    c.current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", key)
        .env_remove("SOPS_AGE_KEY")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"));
    c
}

#[test]
fn sops_chores_one_command_each() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, recipient) = age_key(d);
    let plain = "# app config\ndb:\n    password: hunter2\n    user: app\n";
    std::fs::write(d.join("app.yaml"), plain).unwrap();

    // encrypt in place, decrypt
    ok(cmd(d, &key)
        .args(["secrets", "encrypt", "--age", &recipient, "-i", "app.yaml"])
        .output()
        .unwrap());
    let enc = std::fs::read_to_string(d.join("app.yaml")).unwrap();
    assert!(!enc.contains("hunter2") && enc.contains("sops:"));
    assert_eq!(
        ok(cmd(d, &key)
            .args(["secrets", "decrypt", "app.yaml"])
            .output()
            .unwrap()),
        plain
    );

    // keys from SOPS_AGE_KEY and SOPS_AGE_KEY_CMD too
    let key_text = std::fs::read_to_string(&key).unwrap();
    let out = flotilla()
        .current_dir(d)
        .env("HOME", d)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("SOPS_AGE_KEY", &key_text)
        .args(["secrets", "decrypt", "app.yaml"])
        .output()
        .unwrap();
    assert_eq!(ok(out), plain);
    let out = flotilla()
        .current_dir(d)
        .env("HOME", d)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env("SOPS_AGE_KEY_CMD", format!("cat {}", key.display()))
        .args(["secrets", "decrypt", "app.yaml"])
        .output()
        .unwrap();
    assert_eq!(ok(out), plain);
    // and with no key at all: a clear error naming where keys are looked for
    let out = flotilla()
        .current_dir(d)
        .env("HOME", d)
        .env("XDG_CONFIG_HOME", d.join("nowhere"))
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .args(["secrets", "decrypt", "app.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SOPS_AGE_KEY_FILE"));

    // --extract prints one value
    let out = ok(cmd(d, &key)
        .args(["secrets", "decrypt", "--extract", "db.password", "app.yaml"])
        .output()
        .unwrap());
    assert_eq!(out, "hunter2");
    // edit creates a new file (recipients from --age)
    std::fs::write(d.join("template"), "fresh: value\n").unwrap();
    let tpl = d.join("template");
    ok(cmd(d, &key)
        .env("EDITOR", format!("cp {}", tpl.display()))
        .args(["secrets", "edit", "--age", &recipient, "new.yaml"])
        .output()
        .unwrap());
    assert!(
        !std::fs::read_to_string(d.join("new.yaml"))
            .unwrap()
            .contains("value\n")
    );
    assert_eq!(
        ok(cmd(d, &key)
            .args(["secrets", "decrypt", "new.yaml"])
            .output()
            .unwrap()),
        "fresh: value\n"
    );

    // set (value from stdin), unset
    let mut child = cmd(d, &key)
        .args(["secrets", "set", "app.yaml", "db.token", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"t0ken").unwrap();
    assert!(child.wait().unwrap().success());
    ok(cmd(d, &key)
        .args(["secrets", "unset", "app.yaml", "[\"db\"][\"user\"]"])
        .output()
        .unwrap());
    let out = ok(cmd(d, &key)
        .args(["secrets", "decrypt", "app.yaml"])
        .output()
        .unwrap());
    assert_eq!(
        out,
        "# app config\ndb:\n    password: hunter2\n    token: t0ken\n"
    );

    // edit with a scripted editor; nothing plaintext is left in TMPDIR
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = cmd(d, &key)
        .env("EDITOR", "sed -i s/hunter2/hunter3/")
        .env("TMPDIR", &tmp)
        .args(["secrets", "edit", "app.yaml"])
        .output()
        .unwrap();
    ok(out);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "temp files removed"
    );
    assert!(
        ok(cmd(d, &key)
            .args(["secrets", "decrypt", "app.yaml"])
            .output()
            .unwrap())
        .contains("hunter3")
    );
    // a failing editor leaves the file as it was
    let before = std::fs::read(d.join("app.yaml")).unwrap();
    let out = cmd(d, &key)
        .env("EDITOR", "false")
        .env("TMPDIR", &tmp)
        .args(["secrets", "edit", "app.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read(d.join("app.yaml")).unwrap(), before);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);

    // rotate, add and remove a recipient
    ok(cmd(d, &key)
        .args(["secrets", "rotate", "app.yaml"])
        .output()
        .unwrap());
    let other = "age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun";
    ok(cmd(d, &key)
        .args(["secrets", "recipients", "add", "app.yaml", other])
        .output()
        .unwrap());
    assert!(
        std::fs::read_to_string(d.join("app.yaml"))
            .unwrap()
            .contains(other)
    );
    ok(cmd(d, &key)
        .args(["secrets", "recipients", "remove", "app.yaml", other])
        .output()
        .unwrap());
    assert!(
        !std::fs::read_to_string(d.join("app.yaml"))
            .unwrap()
            .contains(other)
    );
    assert!(
        ok(cmd(d, &key)
            .args(["secrets", "decrypt", "app.yaml"])
            .output()
            .unwrap())
        .contains("t0ken")
    );

    // tampering: clear error, no plaintext on stdout
    let t = std::fs::read_to_string(d.join("app.yaml"))
        .unwrap()
        .replace("sops:", "extra_unencrypted: x\nsops:");
    std::fs::write(d.join("bad.yaml"), t).unwrap();
    let out = cmd(d, &key)
        .args(["secrets", "decrypt", "bad.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml") && err.contains("MAC mismatch"),
        "{err}"
    );
    assert!(!err.contains("hunter"));

    // .sops.yaml creation rules
    std::fs::write(d.join(".sops.yaml"), format!("creation_rules:\n  - path_regex: k8s/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n")).unwrap();
    std::fs::create_dir(d.join("k8s")).unwrap();
    std::fs::write(
        d.join("k8s/s.yaml"),
        "kind: Secret\nstringData:\n    a: b\n",
    )
    .unwrap();
    let out = ok(cmd(d, &key)
        .args(["secrets", "encrypt", "k8s/s.yaml"])
        .output()
        .unwrap());
    assert!(out.contains("kind: Secret") && out.contains("encrypted_regex"));
    let out = cmd(d, &key)
        .args(["secrets", "encrypt", "app2.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn seal_unseal_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, recipient) = age_key(d);
    let cert = corpus().join("sealed-secrets/derived/kseal-controller-cert.pem");
    let key_secret = corpus().join("sealed-secrets/kseal/example-key.yaml");
    std::fs::write(
        d.join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: team\nstringData:\n  password: hunter2\n",
    )
    .unwrap();
    let sealed = ok(cmd(d, &key)
        .args(["secrets", "seal", "secret.yaml", "-o", "yaml", "--cert"])
        .arg(&cert)
        .output()
        .unwrap());
    assert!(
        sealed.starts_with("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"),
        "{sealed}"
    );
    assert!(!sealed.contains("hunter2"));
    std::fs::write(d.join("sealed.yaml"), &sealed).unwrap();
    // set KEY VALUE on a SealedSecret file
    ok(cmd(d, &key)
        .args(["secrets", "set", "sealed.yaml", "token", "t0k", "--cert"])
        .arg(&cert)
        .output()
        .unwrap());
    let out = ok(cmd(d, &key)
        .args(["secrets", "unseal", "sealed.yaml", "-o", "json", "--key"])
        .arg(&key_secret)
        .output()
        .unwrap());
    let secret: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
    assert_eq!(secret["data"]["token"], "dDBr");
    // reseal for a new key (offline, with the old key's Secret)
    ok(cmd(d, &key)
        .args(["secrets", "keys", "generate", "--bits", "2048"])
        .output()
        .inspect(|o| std::fs::write(d.join("new-key.yaml"), &o.stdout).unwrap())
        .unwrap());
    let new_key: serde_json::Value = serde_json::from_value(flotilla_yaml_to_json(
        &std::fs::read_to_string(d.join("new-key.yaml")).unwrap(),
    ))
    .unwrap();
    let new_cert_pem = base64_decode(new_key["data"]["tls.crt"].as_str().unwrap());
    std::fs::write(d.join("new-cert.pem"), new_cert_pem).unwrap();
    std::fs::copy(d.join("sealed.yaml"), d.join("resealed.yaml")).unwrap();
    ok(cmd(d, &key)
        .args([
            "secrets",
            "reseal",
            "resealed.yaml",
            "--cert",
            "new-cert.pem",
            "--key",
        ])
        .arg(&key_secret)
        .output()
        .unwrap());
    let out = ok(cmd(d, &key)
        .args([
            "secrets",
            "unseal",
            "resealed.yaml",
            "-o",
            "json",
            "--key",
            "new-key.yaml",
        ])
        .output()
        .unwrap());
    assert!(out.contains("aHVudGVyMg=="));

    // --raw
    let raw = ok(cmd(d, &key)
        .args([
            "secrets",
            "seal",
            "--raw",
            "--scope",
            "cluster-wide",
            "--cert",
        ])
        .arg(&cert)
        .arg(d.join("secret.yaml"))
        .output()
        .unwrap());
    assert!(raw.starts_with("Ag") && !raw.ends_with('\n'));

    // generate a key straight into a SOPS-encrypted file, then use it to unseal
    ok(cmd(d, &key)
        .args([
            "secrets",
            "keys",
            "generate",
            "--bits",
            "2048",
            "--age",
            &recipient,
            "--out",
            "key.enc.yaml",
        ])
        .output()
        .unwrap());
    let enc = std::fs::read_to_string(d.join("key.enc.yaml")).unwrap();
    assert!(enc.contains("kubernetes.io/tls") && !enc.contains("PRIVATE"));
    let plain_key = ok(cmd(d, &key)
        .args(["secrets", "decrypt", "key.enc.yaml"])
        .output()
        .unwrap());
    assert!(plain_key.contains("tls.key"));
    let out = cmd(d, &key)
        .args(["secrets", "unseal", "sealed.yaml", "--key", "key.enc.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a different key cannot unseal");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sealing key could decrypt"));
}

/// Just enough YAML for the test: a key Secret manifest as printed by `keys generate`.
fn flotilla_yaml_to_json(text: &str) -> serde_json::Value {
    let mut out = serde_json::json!({"data": {}});
    let mut in_data = false;
    for line in text.lines() {
        if line == "data:" {
            in_data = true;
            continue;
        }
        if in_data {
            match line.strip_prefix("    ") {
                Some(kv) => {
                    let (k, v) = kv.split_once(": ").unwrap();
                    out["data"][k] = serde_json::json!(v);
                }
                None => in_data = false,
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
