//! Robustness of the SOPS YAML layer on every YAML file of the conformance
//! corpus: each file either parses, or is rejected with an error (never a
//! panic); parsed files re-emit in sops' style and parse back to the same tree.

use std::path::{Path, PathBuf};

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

#[test]
fn corpus_yaml_round_trips() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let (mut ok, mut rejected, mut mismatched) = (0, Vec::new(), Vec::new());
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        match flotilla_secrets::yaml::parse(&text) {
            Err(e) => rejected.push(format!("{}: {e}", f.display())),
            Ok(docs) => {
                let out = flotilla_secrets::yaml::emit(&docs);
                let back = flotilla_secrets::yaml::parse(&out);
                let same = back.as_ref().is_ok_and(|b| {
                    b.len() == docs.len()
                        && b.iter().zip(&docs).all(|(x, y)| x.to_json() == y.to_json())
                });
                if same {
                    ok += 1;
                } else {
                    mismatched.push(format!("{}:\n{out}", f.display()));
                }
            }
        }
    }
    println!(
        "corpus YAML: {} files, {ok} round-trip, {} rejected, {} mismatched",
        files.len(),
        rejected.len(),
        mismatched.len()
    );
    for r in rejected.iter().take(40) {
        println!("REJECTED {r}");
    }
    for m in mismatched.iter().take(5) {
        println!("MISMATCH {m}");
    }
    assert!(mismatched.is_empty());
    // The rejected files are the corpus' malformed-YAML cases and files with
    // duplicate keys (which sops rejects too).
    assert!(
        rejected
            .iter()
            .all(|r| r.contains("duplicate key") || r.contains("malformed") || r.contains("3812")),
        "unexpected rejections: {rejected:#?}"
    );
    assert!(ok >= 1480, "only {ok} files round-tripped");
}
