//! Developer tool: run the YAML boundary on stdin.
//!
//! `yaml_tool kust` reads a YAML stream and prints it as kustomize would
//! (parse, then emit); `yaml_tool emit` reads JSON values, one per line, and
//! prints each as YAML. Errors print as `ERROR: …`. Used to compare against
//! the Go implementation on generated inputs.

use flotilla_model::yaml::{emit_stream, parse_stream};
use std::io::Read;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "kust".into());
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("reading stdin: {e}");
        std::process::exit(1);
    }
    let out = match mode.as_str() {
        "emit" => {
            // JSON is YAML; reading it with our parser keeps floats exact
            // (serde_json's default float parsing may be off by one ulp).
            let mut docs = Vec::new();
            for line in input.lines().filter(|l| !l.trim().is_empty()) {
                match parse_stream(line) {
                    Ok(v) => docs.extend(v),
                    Err(e) => {
                        eprintln!("bad JSON line: {e}");
                        std::process::exit(1);
                    }
                }
            }
            emit_stream(&docs)
        }
        _ => match parse_stream(&input) {
            Ok(docs) => emit_stream(&docs),
            Err(e) => format!("ERROR: {e}\n"),
        },
    };
    print!("{out}");
}
