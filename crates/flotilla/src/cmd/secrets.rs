use crate::global::Global;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub async fn run(_args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("secrets"))
}
