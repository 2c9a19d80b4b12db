//! The `flotilla` binary: parse arguments, call the libraries, print results.
//!
//! Nothing here holds product logic; each subcommand lives in `cmd/` and is a
//! thin shell over a library crate.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;
mod exit;
mod global;

use global::Global;

// Rendering large trees allocates heavily; mimalloc measurably beats glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Multi-cluster GitOps engine: render Kustomize, decrypt secrets, plan and
/// apply desired state from Git to many Kubernetes clusters.
#[derive(Parser)]
#[command(
    name = "flotilla",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Exit codes: 0 success; 1 error; 2 usage error; 3 ran but not converged \
                  (unhealthy, timed out, cluster unreachable); 4 changes pending \
                  (diff/plan with --exit-code)."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a kustomization directory, printing what `kustomize build` prints.
    Build(cmd::build::Args),
    /// Show what would change on each targeted cluster, without changing anything.
    Plan(cmd::fleet::PlanArgs),
    /// Converge every targeted cluster to the desired state.
    Sync(cmd::fleet::SyncArgs),
    /// Show clusters x units: revision, health, drift, last sync.
    Status(cmd::fleet::StatusArgs),
    /// Show what applying manifests to one cluster would change.
    Diff(cmd::apply::DiffArgs),
    /// Apply manifests to one cluster as a unit (server-side apply, prune, wait).
    Apply(cmd::apply::ApplyArgs),
    /// Encrypt, decrypt, edit and seal secrets (SOPS, Sealed Secrets).
    Secrets(cmd::secrets::Args),
    /// List the fleet's clusters with their metadata and reachability.
    Clusters(cmd::fleet::ClustersArgs),
    /// Which clusters run an image or object (IMAGE or KIND/NAME), at which version.
    Where(cmd::fleet::WhereArgs),
    /// How two clusters' desired states differ, object by object.
    Compare(cmd::fleet::CompareArgs),
    /// Run the controller (not implemented yet: exits with an error).
    Serve(cmd::fleet::ServeArgs),
    /// Print version information.
    Version(cmd::version::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.global.init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::report(anyhow::Error::new(e).context("starting the async runtime")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Build(a) => cmd::build::run(a, &cli.global).await,
            Command::Plan(a) => cmd::fleet::plan(a, &cli.global).await,
            Command::Sync(a) => cmd::fleet::sync(a, &cli.global).await,
            Command::Status(a) => cmd::fleet::status(a, &cli.global).await,
            Command::Diff(a) => cmd::apply::diff(a, &cli.global).await,
            Command::Apply(a) => cmd::apply::apply(a, &cli.global).await,
            Command::Secrets(a) => cmd::secrets::run(a, &cli.global).await,
            Command::Clusters(a) => cmd::fleet::clusters(a, &cli.global).await,
            Command::Where(a) => cmd::fleet::where_(a, &cli.global).await,
            Command::Compare(a) => cmd::fleet::compare(a, &cli.global).await,
            Command::Serve(a) => cmd::fleet::serve(a, &cli.global).await,
            Command::Version(a) => cmd::version::run(a, &cli.global).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => exit::report(e),
    }
}
