//! Conformance: every `expected.yaml` of the kustomize corpus (real
//! `kustomize build` v5.5.0 output) must survive parse + emit byte-for-byte.

use flotilla_model::yaml::{emit_stream, parse_stream};
use std::path::PathBuf;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/kustomize/cases")
}

#[test]
fn kustomize_corpus_expected_output_round_trips() {
    let dir = cases_dir();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path().join("expected.yaml"))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 256,
        "corpus has {} output cases",
        entries.len()
    );
    let mut failures = Vec::new();
    for path in &entries {
        let bytes = std::fs::read(path).expect("read expected.yaml");
        let Ok(text) = String::from_utf8(bytes) else {
            failures.push(format!("{}: not UTF-8", path.display()));
            continue;
        };
        match parse_stream(&text) {
            Err(e) => failures.push(format!("{}: parse error: {e}", path.display())),
            Ok(docs) => {
                let out = emit_stream(&docs);
                if out != text {
                    let first_diff = out
                        .lines()
                        .zip(text.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or(out.lines().count().min(text.lines().count()));
                    failures.push(format!(
                        "{}: differs at line {}:\n  got:  {:?}\n  want: {:?}",
                        path.display(),
                        first_diff + 1,
                        out.lines().nth(first_diff),
                        text.lines().nth(first_diff)
                    ));
                }
            }
        }
    }
    let passed = entries.len() - failures.len();
    eprintln!("corpus round trip: {passed}/{} passed", entries.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
