use crate::global::Global;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The kustomization directory to build.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

pub async fn run(_args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("build"))
}
