//! Conformance against the kustomize v5.5.0 corpus (tests/corpus/kustomize):
//! every case is built from an in-memory copy of its `in/` tree rooted where
//! the reference ran (/tmp/kustomize-corpus-run/in), and compared with
//! kustomize's real output: exact text, then as data.
//!
//! The test fails when the counts fall below `conformance-floor.txt`, or when
//! a case fails that `conformance-known-failures.txt` does not list. Every
//! case is also built with bases on several threads, which must give the
//! same result.
//!
//! Knobs: `CASE=substring` runs matching cases only (no floor check),
//! `DUMP_DIR=dir` writes each output there, `SHOW_ERRORS=1` prints the
//! message of every rejected error case. Run with `-- --nocapture` to see
//! the table.

use flotilla_kustomize::{BuildOptions, LoadRestrictor, MemFs, Reorder, build_with};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const RUN_ROOT: &str = "/tmp/kustomize-corpus-run/in";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/kustomize/cases")
}

fn load_tree(fs: &mut MemFs, disk: &Path, mem: &Path) {
    let Ok(entries) = std::fs::read_dir(disk) else {
        return;
    };
    fs.add_dir(mem);
    for e in entries.flatten() {
        let p = e.path();
        let m = mem.join(e.file_name());
        if p.is_dir() {
            load_tree(fs, &p, &m);
        } else if let Ok(bytes) = std::fs::read(&p) {
            fs.add_file(&m, bytes);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Exact,
    Semantic,
    Mismatch,
    OutputButErrored,
    ErrorRejected,
    ErrorButSucceeded,
}

struct Result_ {
    name: String,
    outcome: Outcome,
    detail: String,
}

fn run_case(dir: &Path) -> Result_ {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join("case.json")).unwrap()).unwrap();
    let mut fs = MemFs::new();
    let root = PathBuf::from(RUN_ROOT);
    fs.add_dir(&root);
    load_tree(&mut fs, &dir.join("in"), &root);
    for d in meta["empty_dirs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        if let Some(d) = d.as_str() {
            fs.add_dir(&root.join(d.trim_start_matches("in/").trim_start_matches("in")));
        }
    }
    let mut opts = BuildOptions::default();
    for f in meta["flags"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        match f.as_str().unwrap_or("") {
            "--reorder=none" => opts.reorder = Reorder::None,
            "--reorder=legacy" => opts.reorder = Reorder::Legacy,
            "--load-restrictor=LoadRestrictionsNone" => opts.load_restrictor = LoadRestrictor::None,
            "--enable-managedby-label" => opts.enable_managed_by_label = true,
            other => panic!("{name}: unknown flag {other}"),
        }
    }
    let build_dir = root.join(meta["build_dir"].as_str().unwrap_or("."));
    let result = std::panic::catch_unwind(|| build_with(&fs, &build_dir, &opts));
    // Building bases on several threads must not change anything.
    let parallel_opts = BuildOptions {
        parallel: true,
        ..opts.clone()
    };
    let parallel = std::panic::catch_unwind(|| build_with(&fs, &build_dir, &parallel_opts));
    let same = match (&result, &parallel) {
        (Ok(Ok(a)), Ok(Ok(b))) => a == b,
        (Ok(Err(a)), Ok(Err(b))) => a.to_string() == b.to_string(),
        _ => false,
    };
    if !same {
        return Result_ {
            name,
            outcome: Outcome::Mismatch,
            detail: "parallel build differs from sequential build".into(),
        };
    }
    let result = match result {
        Ok(r) => r,
        Err(_) => {
            return Result_ {
                name,
                outcome: Outcome::Mismatch,
                detail: "PANIC".into(),
            };
        }
    };
    let expect_error = meta["expect"] == "error";
    match (expect_error, result) {
        (true, Err(e)) => {
            if std::env::var_os("SHOW_ERRORS").is_some() {
                println!("ERROR {name}: {}", e.to_string().replace('\n', " | "));
            }
            Result_ {
                name,
                outcome: Outcome::ErrorRejected,
                detail: String::new(),
            }
        }
        (true, Ok(objs)) => {
            // Where v5.5.0 panicked, the newer upstream expectation is the
            // reference (see the corpus README).
            let panicked = meta["reference"]["error_kind"] == "panic";
            let got = flotilla_model::yaml::emit_stream(&objs);
            if panicked && meta["upstream_expected"].as_str() == Some(got.as_str()) {
                return Result_ {
                    name,
                    outcome: Outcome::ErrorRejected,
                    detail: String::new(),
                };
            }
            Result_ {
                name,
                outcome: Outcome::ErrorButSucceeded,
                detail: "built successfully; kustomize rejects this".into(),
            }
        }
        (false, Err(e)) => Result_ {
            name,
            outcome: Outcome::OutputButErrored,
            detail: format!("error: {}", e.message().lines().next().unwrap_or("")),
        },
        (false, Ok(objs)) => {
            let expected = std::fs::read_to_string(dir.join("expected.yaml")).unwrap();
            let got = flotilla_model::yaml::emit_stream(&objs);
            if let Ok(dump) = std::env::var("DUMP_DIR") {
                let _ = std::fs::create_dir_all(&dump);
                let _ = std::fs::write(Path::new(&dump).join(format!("{name}.yaml")), &got);
            }
            if got == expected {
                return Result_ {
                    name,
                    outcome: Outcome::Exact,
                    detail: String::new(),
                };
            }
            let want = flotilla_model::yaml::parse_stream(&expected).unwrap_or_default();
            let got_parsed = flotilla_model::yaml::parse_stream(&got).unwrap_or_default();
            if want == got_parsed {
                let line = got
                    .lines()
                    .zip(expected.lines())
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| format!("text differs: got {a:?} want {b:?}"))
                    .unwrap_or_else(|| "text differs in length".into());
                Result_ {
                    name,
                    outcome: Outcome::Semantic,
                    detail: line,
                }
            } else {
                let detail = if want.len() != got_parsed.len() {
                    format!("{} objects, want {}", got_parsed.len(), want.len())
                } else {
                    let i = want
                        .iter()
                        .zip(&got_parsed)
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    let id = |v: &Value| {
                        format!(
                            "{}/{}",
                            v["kind"].as_str().unwrap_or("?"),
                            v["metadata"]["name"].as_str().unwrap_or("?")
                        )
                    };
                    format!(
                        "object {i} differs: got {} want {}",
                        id(&got_parsed[i]),
                        id(&want[i])
                    )
                };
                Result_ {
                    name,
                    outcome: Outcome::Mismatch,
                    detail,
                }
            }
        }
    }
}

fn read_floor() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-floor.txt"),
    )
    .expect("conformance-floor.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().parse().expect("floor number"),
            )
        })
        .collect()
}

fn read_known() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-known-failures.txt"),
    )
    .expect("conformance-known-failures.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((n, c)) => (n.to_string(), c.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[test]
fn kustomize_corpus_conformance() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("corpus present")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    let filter = std::env::var("CASE").ok();
    let results: Vec<Result_> = dirs
        .iter()
        .filter(|d| {
            filter
                .as_ref()
                .is_none_or(|f| d.to_string_lossy().contains(f.as_str()))
        })
        .map(|d| run_case(d))
        .collect();
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let output_cases = results
        .iter()
        .filter(|r| {
            !matches!(
                r.outcome,
                Outcome::ErrorRejected | Outcome::ErrorButSucceeded
            )
        })
        .count();
    let error_cases = results.len() - output_cases;
    let exact = count(Outcome::Exact);
    let semantic = exact + count(Outcome::Semantic);
    let known = read_known();
    let mut by_cause: BTreeMap<String, Vec<&Result_>> = BTreeMap::new();
    let mut unlisted = Vec::new();
    for r in &results {
        if matches!(r.outcome, Outcome::Exact | Outcome::ErrorRejected) {
            continue;
        }
        let cause = match known.get(&r.name) {
            Some(c) => c.clone(),
            None => {
                unlisted.push(r.name.clone());
                "UNTRIAGED".to_string()
            }
        };
        by_cause
            .entry(format!("{:?}: {cause}", r.outcome))
            .or_default()
            .push(r);
    }
    println!(
        "\nkustomize conformance ({} cases: {output_cases} output, {error_cases} error)",
        results.len()
    );
    println!("  exact text match        {exact:4} / {output_cases}");
    println!(
        "  semantic match (total)  {semantic:4} / {output_cases}  (text differs only: {})",
        count(Outcome::Semantic)
    );
    println!("  mismatch                {:4}", count(Outcome::Mismatch));
    println!(
        "  output expected, error  {:4}",
        count(Outcome::OutputButErrored)
    );
    println!(
        "  error expected, rejected {:3} / {error_cases}",
        count(Outcome::ErrorRejected)
    );
    println!(
        "  error expected, built    {:3}",
        count(Outcome::ErrorButSucceeded)
    );
    for (cause, rs) in &by_cause {
        println!("\n[{cause}] {} case(s)", rs.len());
        for r in rs {
            println!("  {}  {}", r.name, r.detail);
        }
    }
    let fixed: Vec<&String> = known
        .keys()
        .filter(|k| {
            results.iter().any(|r| {
                &r.name == *k && matches!(r.outcome, Outcome::Exact | Outcome::ErrorRejected)
            })
        })
        .collect();
    if !fixed.is_empty() {
        println!("\nlisted as known failures but now passing (remove them): {fixed:?}");
    }
    if filter.is_some() {
        return;
    }
    let floor = read_floor();
    let check = |k: &str, v: usize| {
        let f = floor.get(k).copied().unwrap_or(0);
        assert!(v >= f, "conformance fell below its floor: {k} = {v} < {f}");
    };
    check("exact", exact);
    check("semantic", semantic);
    check("errors_rejected", count(Outcome::ErrorRejected));
    assert!(
        unlisted.is_empty(),
        "failing cases not in conformance-known-failures.txt: {unlisted:?}"
    );
}
