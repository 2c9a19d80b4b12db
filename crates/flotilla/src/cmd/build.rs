//! `flotilla build DIR`: render a kustomization natively and print exactly
//! what `kustomize build DIR` prints.

use crate::global::Global;
use clap::ValueEnum;
use flotilla_kustomize::{BuildOptions, LoadRestrictor, Reorder};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// `--load-restrictor` values, spelled as kustomize spells them.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum LoadRestrictorArg {
    /// Files must be in or below the kustomization root (default).
    #[default]
    #[value(name = "LoadRestrictionsRootOnly")]
    RootOnly,
    /// Files may be loaded from anywhere.
    #[value(name = "LoadRestrictionsNone")]
    None,
}

/// `--reorder` values.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum ReorderArg {
    /// Namespaces and cluster-wide kinds first, webhooks last (kustomize's default).
    #[default]
    Legacy,
    /// Keep input (depth-first) order.
    None,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The kustomization directory to build.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Whether files outside the kustomization root may be read.
    #[arg(long, value_enum, default_value_t)]
    load_restrictor: LoadRestrictorArg,
    /// Output order when the kustomization has no `sortOptions`.
    #[arg(long, value_enum, default_value_t)]
    reorder: ReorderArg,
    /// Add the label `app.kubernetes.io/managed-by` to every object.
    #[arg(long)]
    enable_managedby_label: bool,
    /// Write the output to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub async fn run(args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    let options = BuildOptions {
        load_restrictor: match args.load_restrictor {
            LoadRestrictorArg::RootOnly => LoadRestrictor::RootOnly,
            LoadRestrictorArg::None => LoadRestrictor::None,
        },
        reorder: match args.reorder {
            ReorderArg::Legacy => Reorder::Legacy,
            ReorderArg::None => Reorder::None,
        },
        enable_managed_by_label: args.enable_managedby_label,
        // Sibling bases render on all cores; the output is the same.
        parallel: true,
    };
    let objects = flotilla_kustomize::build(&args.dir, &options)?;
    let text = flotilla_model::yaml::emit_stream(&objects);
    // The process ends right after printing: freeing a large tree object by
    // object would only add time.
    std::mem::forget(objects);
    match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
