//! `cargo xtask hostile`: the hostile-input corpus and planted symlinks (in progress).

use anyhow::Result;

/// `cargo xtask hostile`.
pub(crate) fn run(_args: &[String]) -> Result<()> {
    Ok(())
}

/// `xtask hostile-child <case> <file>`.
pub(crate) fn child(_args: &[String]) -> Result<()> {
    Ok(())
}
