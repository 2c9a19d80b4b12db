//! One module per subcommand (or family); each owns its clap `Args`.

pub mod apply;
pub mod build;
pub mod fleet;
pub mod secrets;
pub mod version;

/// The error for commands whose engine has not landed yet: explicit, never silent.
pub fn not_yet(what: &str) -> anyhow::Error {
    anyhow::anyhow!("`flotilla {what}` is not implemented yet")
}
