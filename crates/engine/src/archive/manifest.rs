//! The manifest an archive carries: every file's size, mode and SHA-256, and what was left out.

use std::{
    ffi::OsStr,
    io::{self, Read},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use super::interrupted;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(super) const FORMAT: &str = "dotdir-backup/1";

/// What an archive holds, as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// `dotdir-backup/1`.
    pub format: String,
    /// The layout the data directory follows.
    pub layout: String,
    /// The top-level folder every entry is in.
    pub top: String,
    /// Every file, in archive order.
    pub files: Vec<ManifestFile>,
    /// What stayed out, and why (`secret`, `ephemeral`, …).
    pub left_out: Vec<LeftOut>,
}

/// One archived file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestFile {
    /// The relative path (lossy for people when the name is not UTF-8).
    pub path: String,
    /// The exact name as hex bytes, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// The layout does not declare it (archives written before deny-by-default; a backup no
    /// longer carries undeclared files).
    #[serde(default)]
    pub unknown: bool,
}

impl ManifestFile {
    /// The exact relative name, byte for byte.
    pub fn name(&self) -> PathBuf {
        match self.path_hex.as_deref().and_then(from_hex) {
            Some(bytes) => PathBuf::from(OsStr::from_bytes(&bytes)),
            None => PathBuf::from(&self.path),
        }
    }
}

/// A path left out of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeftOut {
    /// The relative path.
    pub path: String,
    /// Why ([`crate::backup::SkipReason::label`]).
    pub reason: String,
}

pub(super) fn manifest_file(name: &Path, size: u64, mode: u32, sha256: String) -> ManifestFile {
    let bytes = name.as_os_str().as_bytes();
    let utf8 = std::str::from_utf8(bytes).is_ok();
    ManifestFile {
        path: name.to_string_lossy().into_owned(),
        path_hex: (!utf8).then(|| hex(bytes)),
        size,
        mode,
        sha256,
        unknown: false,
    }
}

/// A reader that hashes what passes through it and reports progress.
pub(super) struct Hashing<'a, R> {
    inner: R,
    hasher: Sha256,
    progress: &'a mut dyn FnMut(u64),
}

impl<'a, R> Hashing<'a, R> {
    pub(super) fn new(inner: R, progress: &'a mut dyn FnMut(u64)) -> Self {
        Self { inner, hasher: Sha256::new(), progress }
    }

    pub(super) fn finish(self) -> String {
        hex(&self.hasher.finalize())
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if interrupted() {
            return Err(io::Error::other("interrupted by a signal"));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        (self.progress)(n as u64);
        Ok(n)
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}
