//! Developer tasks that are not part of the product: `cargo xtask bench ...`.
fn main() -> anyhow::Result<()> {
    anyhow::bail!("usage: cargo xtask bench")
}
