//! Developer tasks that are not part of the product.
//!
//! `cargo xtask bench kustomize [--apps N] [--runs K] [--skip-corpus]`
//! renders the same trees with flotilla and with the real kustomize v5.5.0
//! (installed with `go install` into a cache dir when missing), checks the
//! outputs are byte-identical, and prints timings and the speed ratio for
//! (a) every case of the conformance corpus and (b) a generated large tree.

mod bench;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => match args.get(1).map(String::as_str) {
            Some("kustomize") => bench::kustomize(&args[2..]),
            _ => anyhow::bail!(
                "usage: cargo xtask bench kustomize [--apps N] [--runs K] [--skip-corpus]"
            ),
        },
        _ => anyhow::bail!(
            "usage: cargo xtask bench kustomize [--apps N] [--runs K] [--skip-corpus]"
        ),
    }
}
