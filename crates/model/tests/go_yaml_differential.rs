//! Regression data from differential testing against go-yaml itself.
//!
//! `tests/data/go_yaml_differential.json` holds generated inputs and what
//! the Go libraries kustomize v5.5.0 uses printed for them (a small Go
//! program outside this repository, built against sigs.k8s.io/yaml v1.4.0
//! and its vendored go-yaml v3):
//! - `emit`: a JSON value (one line) → `json.Marshal` then `JSONToYAML`,
//!   kustomize's writer;
//! - `kust`: a YAML stream → go-yaml v3 decoding (as kyaml reads resources)
//!   → JSON → `JSONToYAML`, documents joined by `---`; or `ERROR: <text>`;
//! - `sigs`: a kustomization file → `YAMLToJSON` → `JSONToYAML`; or
//!   `ERROR: <text>`.
//!
//! Inputs are random values with hostile strings (quoting, folding,
//! escapes, numbers, key order) and random YAML using every scalar style,
//! anchors, merges, tags and flow collections. Only cases this crate
//! reproduced when the data was made are kept (cases where go-yaml's own
//! output is nondeterministic are not), so the file guards against
//! regressions.

use flotilla_model::yaml::{Dialect, emit, emit_stream, parse_stream, parse_stream_with};
use serde_json::Value;

fn run(mode: &str, input: &str) -> String {
    match mode {
        "emit" => {
            // JSON is YAML; reading it this way keeps floats exact.
            let docs = parse_stream(input).expect("test JSON");
            emit_stream(&docs)
        }
        "kust" => match parse_stream(input) {
            Ok(docs) => emit_stream(&docs),
            Err(e) => format!("ERROR: {}\n", e.go_message()),
        },
        "sigs" => match parse_stream_with(input, Dialect::SigsYaml) {
            Ok(docs) => docs.first().map(emit).unwrap_or_default(),
            Err(e) => format!("ERROR: {}\n", e.go_message()),
        },
        other => panic!("unknown mode {other}"),
    }
}

#[test]
fn matches_go_yaml_on_generated_cases() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/go_yaml_differential.json"
    );
    let text = std::fs::read_to_string(path).expect("regression data");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    assert!(cases.len() > 500, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let mode = case["mode"].as_str().unwrap_or_default();
        let input = case["input"].as_str().unwrap_or_default();
        let expected = case["expected"].as_str().unwrap_or_default();
        let got = run(mode, input);
        if got != expected {
            failures.push(format!(
                "case {i} ({mode}): input {input:?}\n  got:  {got:?}\n  want: {expected:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
