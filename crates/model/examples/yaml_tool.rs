//! Developer tool: run the YAML boundary on stdin.
//!
//! `yaml_tool kust` reads a YAML stream and prints it as kustomize would
//! (parse, then emit); `yaml_tool emit` reads JSON values, one per line, and
//! prints each as YAML; `yaml_tool sigs` reads the first document as
//! kustomize reads kustomization files and prints it; `yaml_tool bench` times parse and emit of stdin.
//! Errors print as `ERROR: …` (`yaml_tool go-errors`: as go-yaml words them). Used to compare against
//! the Go implementation on generated inputs.

use flotilla_model::yaml::{Dialect, emit, emit_stream, parse_stream, parse_stream_with};
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
        "sigs" => match parse_stream_with(&input, Dialect::SigsYaml) {
            Ok(docs) => docs.first().map(emit).unwrap_or_default(),
            Err(e) => format!("ERROR: {}\n", e.go_message()),
        },
        "bench" => {
            let start = std::time::Instant::now();
            let mut events = 0usize;
            for ev in granit_parser::Parser::new_from_str(&input) {
                if ev.is_err() {
                    break;
                }
                events += 1;
            }
            eprintln!("granit events only: {events} in {:?}", start.elapsed());
            let start = std::time::Instant::now();
            let docs = match parse_stream(&input) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            };
            let parsed = start.elapsed();
            let start = std::time::Instant::now();
            let out = emit_stream(&docs);
            let emitted = start.elapsed();
            format!(
                "{} bytes, {} documents: parse {:?}, emit {:?} ({} bytes)\n",
                input.len(),
                docs.len(),
                parsed,
                emitted,
                out.len()
            )
        }
        _ => match parse_stream(&input) {
            Ok(docs) => emit_stream(&docs),
            Err(e) if mode == "go-errors" => format!("ERROR: {}\n", e.go_message()),
            Err(e) => format!("ERROR: {e}\n"),
        },
    };
    print!("{out}");
}
