//! Strategic merge cases whose expected output was produced by kustomize
//! v5.5.0 (`kubectl kustomize`, a `patches:` entry applying the patch to the
//! base). Each file holds base, patch, then the expected object (absent when
//! the patch deletes the object, or a `# error:` line when kustomize fails).
//! The `random_*` files are generated inputs (Deployments, DaemonSets,
//! Services, schema-less kinds with directives, nulls, repeated keys).

use std::path::Path;

use flotilla_patch::{MergeSchema, strategic_merge_opt};

#[test]
fn smp_cases_match_kustomize() {
    // FLOTILLA_SMP_CASES points at another directory of such files (e.g.
    // randomly generated ones checked against kustomize).
    let extra = std::env::var_os("FLOTILLA_SMP_CASES");
    let dir = match &extra {
        Some(d) => Path::new(d).to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smp_cases"),
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 30,
        "expected the case files in {}",
        dir.display()
    );
    let schema = MergeSchema::builtin();
    let mut failures = Vec::new();
    for path in &names {
        let text = std::fs::read_to_string(path).unwrap();
        let docs = flotilla_model::yaml::parse_stream(&text).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let got = strategic_merge_opt(&docs[0], &docs[1], &schema);
        let expects_error = text.contains("\n# error:");
        match (got, docs.get(2)) {
            (Err(e), _) if expects_error => eprintln!("{name}: error as expected: {e}"),
            (Ok(got), expected) if !expects_error && got.as_ref() == expected => {}
            (got, expected) => failures.push(format!(
                "{name}:\n  got:      {}\n  expected: {}",
                match got {
                    Ok(Some(v)) => serde_json::to_string(&v).unwrap(),
                    Ok(None) => "(deleted)".into(),
                    Err(e) => format!("error: {e}"),
                },
                if expects_error {
                    "an error".to_string()
                } else {
                    expected.map_or("(deleted)".into(), |v| serde_json::to_string(v).unwrap())
                }
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
