//! Developer tasks that are not part of the product binary.
//!
//! `cargo xtask bench kustomize|sops|apply|all` compares flotilla with the
//! reference tools on the same inputs in one run and prints the ratios.

mod bench;
mod bench_more;

const USAGE: &str = "usage: cargo xtask bench kustomize [--apps N] [--runs K] [--skip-corpus]
       cargo xtask bench sops [--keys N] [--runs K]
       cargo xtask bench apply [--n 100,500,1000]
       cargo xtask bench all";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    ) {
        (Some("bench"), Some("kustomize")) => bench::kustomize(&args[2..]),
        (Some("bench"), Some("sops")) => bench_more::sops(&args[2..]),
        (Some("bench"), Some("apply")) => bench_more::apply(&args[2..]),
        (Some("bench"), Some("all")) => {
            bench::kustomize(&[])?;
            bench_more::sops(&[])?;
            bench_more::apply(&[])
        }
        _ => anyhow::bail!("{USAGE}"),
    }
}
