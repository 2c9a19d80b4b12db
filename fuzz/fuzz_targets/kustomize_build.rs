//! Fuzz the kustomization and YAML loading path: the input is split into a
//! small tree (a kustomization, resources, patches, a base) and built.
//! Any error is fine; a panic is a bug.
#![no_main]

use flotilla_kustomize::{BuildOptions, MemFs, Reorder, build_with};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const NAMES: [&str; 6] = [
    "/in/kustomization.yaml",
    "/in/resource.yaml",
    "/in/patch.yaml",
    "/in/base/kustomization.yaml",
    "/in/base/deployment.yaml",
    "/in/env.properties",
];

fuzz_target!(|data: &[u8]| {
    let mut fs = MemFs::new();
    fs.add_dir(Path::new("/in/base"));
    // Files are separated by a 0xFF byte, in NAMES order.
    for (name, part) in NAMES.iter().zip(data.split(|b| *b == 0xFF)) {
        fs.add_file(Path::new(name), part.to_vec());
    }
    let options = BuildOptions {
        reorder: if data.first().is_some_and(|b| b & 1 == 1) { Reorder::Legacy } else { Reorder::None },
        ..BuildOptions::default()
    };
    if let Ok(objs) = build_with(&fs, Path::new("/in"), &options) {
        let _ = flotilla_model::yaml::emit_stream(&objs);
    }
});
