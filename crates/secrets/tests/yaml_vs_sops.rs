//! The YAML layer against go-yaml as sops uses it: corpus YAML files are
//! encrypted by the real sops; flotilla's decryption must print exactly what
//! `sops decrypt` prints, and sops must decrypt what flotilla encrypts to
//! the same bytes. A sample of the corpus keeps the test fast.

use flotilla_secrets::sops::{self, CreationSettings, Format, Keyring, SopsFile};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

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

#[test]
fn corpus_yaml_decrypts_like_sops() {
    let Some(sops_bin) = tool("sops") else { return };
    let keygen = tool("age-keygen").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys.txt");
    assert!(
        Command::new(keygen)
            .arg("-o")
            .arg(&key_file)
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    let recipient = key_text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let mut keys = Keyring::default();
    keys.add_age_keys(&key_text, "keys.txt").unwrap();
    let settings = CreationSettings {
        key_groups: vec![vec![recipient.parse().unwrap()]],
        ..Default::default()
    };
    let sample: usize = std::env::var("FLOTILLA_YAML_SAMPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);

    let mut files = Vec::new();
    yaml_files(&repo().join("tests/corpus"), &mut files);
    files.sort();
    let sops = |args: &[&str], path: &Path| {
        Command::new(&sops_bin)
            .env("SOPS_AGE_KEY_FILE", &key_file)
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .args(args)
            .arg(path)
            .output()
            .unwrap()
    };
    let (mut compared, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if i % sample != 0 {
            continue;
        }
        let plain = std::fs::read(f).unwrap();
        let input = dir.path().join("in.yaml");
        std::fs::write(&input, &plain).unwrap();
        let enc = sops(&["encrypt", "--age", &recipient], &input);
        if !enc.status.success() {
            skipped += 1; // sops rejects it (sequence documents, duplicate keys, ...)
            continue;
        }
        let enc_path = dir.path().join("enc.yaml");
        std::fs::write(&enc_path, &enc.stdout).unwrap();
        let reference = sops(&["decrypt"], &enc_path).stdout;
        compared += 1;
        let ours = SopsFile::parse(&enc.stdout, Format::Yaml).and_then(|s| s.decrypt(&keys));
        match ours {
            Ok(d) => {
                let bytes = d.to_plain_bytes().unwrap();
                if bytes.expose() != &reference[..] {
                    failures.push(format!(
                        "{}: flotilla -d differs\n--- sops\n{}--- flotilla\n{}",
                        f.display(),
                        String::from_utf8_lossy(&reference),
                        String::from_utf8_lossy(bytes.expose())
                    ));
                    continue;
                }
            }
            Err(e) => {
                failures.push(format!("{}: flotilla -d failed: {e}", f.display()));
                continue;
            }
        }
        match sops::encrypt(&plain, Format::Yaml, &settings) {
            Ok(file) => {
                let ours_path = dir.path().join("ours.yaml");
                std::fs::write(&ours_path, file.to_bytes().unwrap()).unwrap();
                let out = sops(&["decrypt"], &ours_path);
                if out.stdout != reference {
                    failures.push(format!(
                        "{}: sops -d of flotilla -e differs: {}",
                        f.display(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: flotilla -e failed: {e}", f.display())),
        }
    }
    println!(
        "corpus YAML vs sops: {compared} compared, {skipped} rejected by sops, {} differ",
        failures.len()
    );
    for f in failures.iter().take(6) {
        println!("{f}");
    }
    assert!(failures.is_empty());
}
