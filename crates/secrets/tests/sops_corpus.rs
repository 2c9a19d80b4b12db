//! Every SOPS vector in tests/corpus/secrets/sops decrypts, its MAC
//! verifies, and the plaintext equals the answer key (expected.json).
//! age vectors run end to end; PGP vectors (PGP is out of scope) use the
//! recorded data key, which still exercises AES-GCM, typing and the MAC.

use flotilla_secrets::sensitive::SecretBytes;
use flotilla_secrets::sops::{Format, Keyring, SopsError, SopsFile};
use serde_json::Value;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/secrets/sops")
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(corpus().join("expected.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

fn rops_keyring() -> Keyring {
    let mut k = Keyring::default();
    let text = std::fs::read_to_string(corpus().join("keys/rops-age-test-identity.txt")).unwrap();
    k.add_age_keys(&text, "rops-age-test-identity.txt").unwrap();
    k
}

/// Numbers compare by value (the answer key was written by Python).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.keys().eq(y.keys()) && x.iter().all(|(k, v)| same(v, &y[k]))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

fn format_of(name: &str) -> Option<Format> {
    match name {
        "yaml" => Some(Format::Yaml),
        "json" => Some(Format::Json),
        "dotenv" => Some(Format::Dotenv),
        "ini" => Some(Format::Ini),
        n if n.starts_with("binary") => Some(Format::Binary),
        _ => None,
    }
}

#[test]
fn corpus_vectors_decrypt_and_verify() {
    let keys = rops_keyring();
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for (path, exp) in expected() {
        let format = format_of(exp["format"].as_str().unwrap()).unwrap();
        let bytes = std::fs::read(corpus().join(&path)).unwrap();
        let file = match SopsFile::parse(&bytes, format) {
            Ok(f) => f,
            Err(e) => {
                failed.push(format!("{path}: parse: {e}"));
                continue;
            }
        };
        let is_age = exp["key_source"].as_str().unwrap_or("").starts_with("age");
        let has_mac = exp.get("mac_verified").and_then(Value::as_bool) == Some(true);
        let result = if is_age {
            // End to end: unwrap the data key with the age identity.
            let key = file.data_key(&keys);
            match key {
                Ok(k) => {
                    assert_eq!(
                        hex(k.expose()),
                        exp["data_key_hex"].as_str().unwrap(),
                        "{path}"
                    );
                    file.decrypt(&keys)
                }
                Err(e) => Err(e),
            }
        } else {
            let key = SecretBytes::new(hex_decode(exp["data_key_hex"].as_str().unwrap()));
            if has_mac {
                file.decrypt_with_key(key, true)
            } else {
                // no_mac.yaml: refused with the MAC check, readable without.
                let err = file.decrypt_with_key(key.clone(), true).err();
                assert!(matches!(err, Some(SopsError::NoMac)), "{path}: {err:?}");
                file.decrypt_with_key(key, false)
            }
        };
        match result {
            Ok(d) => {
                let got: Vec<Value> = d.docs.iter().map(|n| n.to_json()).collect();
                let want = exp["decrypted_documents"].as_array().unwrap();
                if got.len() == want.len() && got.iter().zip(want).all(|(a, b)| same(a, b)) {
                    passed.push(path.clone());
                } else {
                    failed.push(format!(
                        "{path}: plaintext differs:\n got  {got:?}\n want {want:?}"
                    ));
                }
            }
            Err(e) => failed.push(format!("{path}: {e}")),
        }
    }
    println!(
        "SOPS corpus: {} passed, {} failed",
        passed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failures:\n{}", failed.join("\n"));
    assert_eq!(passed.len(), 29);
}

#[test]
fn decrypted_comments_match_answer_key() {
    for (path, exp) in expected() {
        let Some(comments) = exp.get("decrypted_comments").and_then(Value::as_array) else {
            continue;
        };
        let format = format_of(exp["format"].as_str().unwrap()).unwrap();
        let bytes = std::fs::read(corpus().join(&path)).unwrap();
        let file = SopsFile::parse(&bytes, format).unwrap();
        let key = SecretBytes::new(hex_decode(exp["data_key_hex"].as_str().unwrap()));
        let d = file.decrypt_with_key(key, true).unwrap();
        let plain = String::from_utf8(d.to_plain_bytes().unwrap().expose().to_vec()).unwrap();
        for c in comments {
            let text = c["comment"]
                .as_str()
                .or(c["plaintext"].as_str())
                .unwrap_or("");
            assert!(
                plain.contains(text.trim()),
                "{path}: comment {text:?} missing from\n{plain}"
            );
        }
    }
}

#[test]
fn tampered_value_or_mac_is_refused() {
    let keys = rops_keyring();
    let path = corpus().join("rops/as-first-committed/age_example.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    // Swap two encrypted values: each still authenticates only under its own path.
    let file = SopsFile::parse(text.as_bytes(), Format::Yaml).unwrap();
    assert!(file.decrypt(&keys).is_ok());
    let hello = text.lines().find(|l| l.starts_with("hello:")).unwrap();
    let example = text
        .lines()
        .find(|l| l.starts_with("example_key:"))
        .unwrap();
    let swapped = text.replace(
        hello,
        &format!("hello:{}", &example["example_key:".len()..]),
    );
    let err = SopsFile::parse(swapped.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&keys)
        .unwrap_err();
    assert!(err.to_string().contains("value at 'hello'"), "{err}");
    // Change lastmodified: the MAC no longer decrypts.
    let t2 = text.replace("2023-12-25T10:31:01Z", "2023-12-25T10:31:02Z");
    let err = SopsFile::parse(t2.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&keys)
        .unwrap_err();
    assert!(matches!(err, SopsError::MacUnreadable), "{err}");
    // Make an unencrypted value part of the file: the MAC mismatches.
    let t3 = text.replace("sops:\n", "extra_unencrypted: x\nsops:\n");
    let err = SopsFile::parse(t3.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&keys)
        .unwrap_err();
    assert!(matches!(err, SopsError::MacMismatch), "{err}");
    assert!(!err.to_string().contains("Welcome"));
}

#[test]
fn sops_mock_age_key_unwraps() {
    let ids = std::fs::read_to_string(corpus().join("keys/sops-age-test-identities.txt")).unwrap();
    let first = ids
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let mut k = Keyring::default();
    k.add_age_keys(first, "mockIdentity").unwrap();
    let armored =
        std::fs::read_to_string(corpus().join("keys/sops-age-mock-encrypted-key.age.asc")).unwrap();
    assert_eq!(k.unwrap(&armored).unwrap().expose(), b"data");
}

#[test]
fn reencrypting_unchanged_file_keeps_ciphertexts() {
    let keys = rops_keyring();
    let text = std::fs::read(corpus().join("rops/as-first-committed/age_example.yaml")).unwrap();
    let mut d = SopsFile::parse(&text, Format::Yaml)
        .unwrap()
        .decrypt(&keys)
        .unwrap();
    let again = d.encrypt().unwrap();
    let out = String::from_utf8(again.to_bytes().unwrap()).unwrap();
    let original = String::from_utf8(text).unwrap();
    for line in original.lines().take_while(|l| !l.starts_with("sops:")) {
        assert!(out.contains(line), "line changed: {line}\n{out}");
    }
    // and the new file decrypts with a fresh MAC
    let back = SopsFile::parse(out.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&keys)
        .unwrap();
    assert_eq!(back.docs, d.docs);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
