//! A minimal `kustomize build` over the library, for benchmarks and
//! differential checks without the full flotilla binary:
//! `kbuild build [--reorder=none|legacy] [--load-restrictor=LoadRestrictionsNone] [--enable-managedby-label] DIR`.

use flotilla_kustomize::{BuildOptions, LoadRestrictor, Reorder, build_to_string};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut options = BuildOptions {
        parallel: true,
        ..BuildOptions::default()
    };
    let mut dir = PathBuf::from(".");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "build" => {}
            "--reorder=none" => options.reorder = Reorder::None,
            "--reorder=legacy" => options.reorder = Reorder::Legacy,
            "--load-restrictor=LoadRestrictionsNone" => {
                options.load_restrictor = LoadRestrictor::None
            }
            "--load-restrictor=LoadRestrictionsRootOnly" => {
                options.load_restrictor = LoadRestrictor::RootOnly
            }
            "--enable-managedby-label" => options.enable_managed_by_label = true,
            other if other.starts_with("--") => {
                eprintln!("error: unknown flag {other}");
                return ExitCode::from(2);
            }
            other => dir = PathBuf::from(other),
        }
    }
    match build_to_string(&dir, &options) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
