//! Reading the files of a data directory: never through a symbolic link, never blocking.

use crate::IoError;
use std::{
    fs::File,
    io::{self, Read},
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use crate::{Error, Result, Step};

/// Opens `path` for reading the way every reader of a data directory must: without following a
/// symbolic link at the last component (`ELOOP`), and without blocking on a FIFO or a device
/// (`O_NONBLOCK`, which changes nothing for a regular file). The caller checks with `fstat`
/// that it got a regular file before reading: a FIFO, socket or device is never read.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    std::fs::OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path)
}

/// [`open_regular`], following a symbolic link: for a file a person names themselves (an
/// archive to restore), never for a file of a data directory. Still never blocks on a FIFO.
pub fn open_regular_following(path: &Path) -> io::Result<File> {
    let flags = rustix::fs::OFlags::NONBLOCK;
    std::fs::OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path)
}

/// Reads a whole file, refusing one larger than `limit` bytes without allocating it.
/// `Ok(None)` when the file does not exist. Never follows a symbolic link at `path` nor blocks
/// on a FIFO ([`open_regular`]): either is [`Error::NotAFile`].
pub fn read(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let mut file = match open_regular(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // A symbolic link: not followed, and not a regular file.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(Error::NotAFile { path: path.to_path_buf() });
        }
        Err(source) => {
            return Err(Error::Io(IoError { step: Step::Read, path: path.to_path_buf(), source }));
        }
    };
    let meta = file.metadata().map_err(IoError::on(Step::Read, path))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf() });
    }
    if meta.len() > limit {
        return Err(Error::TooLarge { path: path.to_path_buf(), limit });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut file).take(limit + 1).read_to_end(&mut bytes).map_err(IoError::on(Step::Read, path))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge { path: path.to_path_buf(), limit });
    }
    Ok(Some(bytes))
}
