//! Options every subcommand shares, named as kubectl names them.

use clap::{ArgAction, Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Path to the kubeconfig file (like kubectl; default: the files in
    /// $KUBECONFIG, merged, then ~/.kube/config).
    // Not `env = "KUBECONFIG"`: that variable is a path *list* (and may be
    // empty); kube's own loading reads it the way kubectl does.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (like kubectl).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

/// Machine-readable output formats (`-o`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Yaml,
    Json,
}

impl Global {
    /// Logs go to stderr so stdout stays machine-readable.
    pub fn init_logging(&self) {
        use tracing_subscriber::EnvFilter;
        let default = match self.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(self.verbose >= 2)
            .init();
    }
}
