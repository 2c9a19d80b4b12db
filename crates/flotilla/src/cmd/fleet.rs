use crate::global::Global;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct PlanArgs {}
#[derive(clap::Args, Debug)]
pub struct SyncArgs {}
#[derive(clap::Args, Debug)]
pub struct StatusArgs {}
#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

pub async fn plan(_a: PlanArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("plan"))
}
pub async fn sync(_a: SyncArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("sync"))
}
pub async fn status(_a: StatusArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("status"))
}
pub async fn serve(_a: ServeArgs, _g: &Global) -> anyhow::Result<ExitCode> {
    Err(super::not_yet("serve"))
}
