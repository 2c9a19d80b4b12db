use crate::global::Global;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Files, directories (recursive) or `-` for stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The unit these objects belong to (owns their inventory).
    #[arg(long)]
    unit: String,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// Files, directories (recursive) or `-` for stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The unit these objects belong to (owns their inventory).
    #[arg(long)]
    unit: String,
}

pub async fn diff(_args: DiffArgs, _global: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("diff"))
}

pub async fn apply(_args: ApplyArgs, _global: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("apply"))
}
