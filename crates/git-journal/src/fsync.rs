//! The process-wide libgit2 switch that makes it fsync what it writes in the git directory.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result, Step};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns libgit2's `GIT_OPT_ENABLE_FSYNC_GITDIR` on or off.
///
/// When on, libgit2 fsyncs every loose object, the index and every ref it writes, so a commit
/// that returned survives a power cut. It is off by default in libgit2, and git2 0.21 has no safe
/// wrapper for it, so this function makes the one raw `git_libgit2_opts` call of the crate.
///
/// **The option is process-wide**: it applies to every repository every thread of the process
/// opens through libgit2 (this crate's journals and any other git2 user), from the moment it is
/// set. [`crate::JournalOptions::durability`] (`Full`) turns it on when a journal opens; nothing in this
/// crate ever turns it off except a direct call to this function.
pub fn set_fsync_gitdir(enabled: bool) -> Result<()> {
    libgit2_sys::init();
    let code = set_option(enabled);
    if code < 0 {
        return Err(Error::Git {
            step: Step::SetOption,
            path: "GIT_OPT_ENABLE_FSYNC_GITDIR".into(),
            source: git2::Error::from_str("git_libgit2_opts refused GIT_OPT_ENABLE_FSYNC_GITDIR"),
        });
    }
    ENABLED.store(enabled, Ordering::SeqCst);
    Ok(())
}

/// Whether [`set_fsync_gitdir`] last turned the option on in this process.
pub fn fsync_gitdir_enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

#[expect(
    unsafe_code,
    reason = "git2 0.21 has no safe wrapper for GIT_OPT_ENABLE_FSYNC_GITDIR; the variadic call \
              takes one int argument for this option, libgit2 is initialised just before, and \
              the option is a plain global flag"
)]
fn set_option(enabled: bool) -> libc_int {
    // SAFETY: `git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, int)` reads exactly one `int`
    // vararg and stores it in a global; libgit2 has been initialised by `libgit2_sys::init`.
    unsafe {
        libgit2_sys::git_libgit2_opts(
            libgit2_sys::GIT_OPT_ENABLE_FSYNC_GITDIR as libc_int,
            libc_int::from(enabled),
        )
    }
}

#[expect(non_camel_case_types, reason = "the C type's name")]
type libc_int = std::ffi::c_int;
