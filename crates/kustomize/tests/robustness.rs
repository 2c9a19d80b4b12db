//! No input makes the build panic: corpus trees with random mutations
//! (byte flips, cuts, duplicated spans, YAML-significant tokens) are built
//! and every outcome must be `Ok` or `Err`. Deterministic (fixed seed), so
//! it runs in CI without nightly; `fuzz/` holds the libFuzzer targets.

use flotilla_kustomize::{BuildOptions, MemFs, Reorder, build_with};
use std::path::{Path, PathBuf};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    ": ",
    "- ",
    "\n- ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: *a\n",
    "\t",
    "'",
    "\"",
    "|\n",
    ">-\n",
    "#",
    "---\n",
    "$patch: delete\n",
    "$patch: replace\n",
    "../",
    "/",
    "\u{feff}",
    "\u{0}",
    "null",
    "~",
    "!!binary ",
    "0x1F",
    "\n  ",
    ":\n",
    "=",
    "$(X)",
    "[name=a]",
    "*",
    "kind: List\nitems:\n- ",
    "metadata:\n  name: ",
];

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    match rng.below(5) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let a = rng.below(data.len());
            let b = (a + rng.below(32)).min(data.len());
            data.drain(a..b);
        }
        2 if !data.is_empty() => {
            let a = rng.below(data.len());
            let b = (a + rng.below(64)).min(data.len());
            let span: Vec<u8> = data[a..b].to_vec();
            let at = rng.below(data.len());
            data.splice(at..at, span);
        }
        _ => {
            let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
            let at = rng.below(data.len() + 1);
            data.splice(at..at, t.iter().copied());
        }
    }
}

fn files(dir: &Path, rel: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let r = rel.join(e.file_name());
        if p.is_dir() {
            files(&p, &r, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((r, b));
        }
    }
}

#[test]
fn mutated_corpus_trees_never_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/kustomize/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut rng = Rng(0x5EED_F107_111A);
    let mut builds = 0;
    let mut panics = Vec::new();
    for dir in &dirs {
        let Ok(meta) = std::fs::read(dir.join("case.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_slice(&meta).expect("case.json");
        let build_dir = meta["build_dir"].as_str().unwrap_or(".").to_string();
        let mut tree = Vec::new();
        files(&dir.join("in"), Path::new(""), &mut tree);
        if tree.is_empty() {
            continue;
        }
        for round in 0..6 {
            let mut t = tree.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(t.len());
                mutate(&mut rng, &mut t[i].1);
            }
            let mut fs = MemFs::new();
            let root = Path::new("/in");
            fs.add_dir(root);
            for (p, b) in &t {
                fs.add_file(&root.join(p), b.clone());
            }
            let options = BuildOptions {
                reorder: if round % 2 == 0 {
                    Reorder::None
                } else {
                    Reorder::Legacy
                },
                ..BuildOptions::default()
            };
            let target = root.join(&build_dir);
            builds += 1;
            let outcome = std::panic::catch_unwind(|| {
                if let Ok(objs) = build_with(&fs, &target, &options) {
                    let _ = flotilla_model::yaml::emit_stream(&objs);
                }
            });
            if outcome.is_err() {
                panics.push(format!(
                    "{} round {round}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
    assert!(builds > 1000, "too few builds ran: {builds}");
    assert!(
        panics.is_empty(),
        "{} of {builds} mutated builds panicked: {panics:?}",
        panics.len()
    );
}
