use crate::global::{Global, OutputFormat};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

pub async fn run(args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    let info = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "target": std::env::consts::ARCH.to_owned() + "-" + std::env::consts::OS,
        "fieldManager": "flotilla",
    });
    match args.output {
        OutputFormat::Text => println!("flotilla {}", env!("CARGO_PKG_VERSION")),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&info)?),
        OutputFormat::Yaml => print!("{}", flotilla_model::yaml::emit(&info)),
    }
    Ok(ExitCode::SUCCESS)
}
