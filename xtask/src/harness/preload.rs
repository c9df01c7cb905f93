//! `LD_PRELOAD` shims, built at run time with `cc`: the fault shim (`faults/shim.c`: the k-th
//! intercepted libc call fails) and the clock shim (`clock/ahead.c`: the wall clock ahead).

use std::{fs, path::PathBuf, process::Command};

use anyhow::{Context, Result, bail};

/// Builds the shim into `<target>/faults/` when its source changed.
pub(crate) fn fault_shim() -> Result<PathBuf> {
    build_preload("faults", "libdotdir_faults.so", include_str!("../faults/shim.c"))
}

/// Builds an `LD_PRELOAD` library from C `source` into `<target>/<dir>/<name>` when the source
/// changed since the last build.
pub(crate) fn build_preload(dir: &str, name: &str, source: &str) -> Result<PathBuf> {
    let dir = super::target_dir().join(dir);
    fs::create_dir_all(&dir)?;
    let library = dir.join(name);
    let built_from = library.with_extension("c");
    if library.exists() && fs::read_to_string(&built_from).is_ok_and(|s| s == source) {
        return Ok(library);
    }
    // Build under names of our own, then rename: concurrent runs never see a half-written file.
    let own_source = dir.join(format!("{name}-{}.c", std::process::id()));
    let own_library = dir.join(format!("{name}-{}", std::process::id()));
    fs::write(&own_source, source)?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&own_library)
        .arg(&own_source)
        .arg("-ldl")
        .status()
        .with_context(|| format!("running {cc} to build {name}"))?;
    if !status.success() {
        bail!("{cc} failed to build {}", own_source.display());
    }
    fs::rename(&own_library, &library)?;
    fs::rename(&own_source, &built_from)?;
    Ok(library)
}

/// Builds the clock shim into `<target>/clock/` when its source changed.
pub(crate) fn clock_ahead() -> Result<PathBuf> {
    build_preload("clock", "libdotdir_clock_ahead.so", include_str!("../clock/ahead.c"))
}
