//! `cargo xtask codegen [--check]` (placeholder until helper A lands it).
pub fn run(_check: bool) -> anyhow::Result<()> {
    anyhow::bail!("codegen: not written yet")
}
