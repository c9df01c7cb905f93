//! Removing a spec: every file that holds its id.

use dotdir_atomic_store::Step;
use std::{fs, io, path::PathBuf};

use dotdir_atomic_store as store;

use super::{LOCK_STEM, SpecDir, dir_stamp};
use crate::{
    IoError,
    error::{Error, Result},
    spec::Spec,
};

impl<T: Spec> SpecDir<T> {
    /// Removes every file whose front matter carries `id`; returns the removed files (empty
    /// when none did, or when the directory does not exist). Corrupt files are left alone.
    ///
    /// A spec file that cannot be read (an I/O error such as `EIO` or `EACCES`) might hold the
    /// id: the removal is then [`Error::UnreadableEntry`] and removes nothing, rather than
    /// reporting success while the spec stays. So is a write: see [`SpecDir::write_file`].
    pub fn remove(&self, id: &str) -> Result<Vec<PathBuf>> {
        match fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Ok(Vec::new()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::Stat,
                    path: self.dir.clone(),
                    source,
                }));
            }
        }
        let _lock = store::lock(&self.dir.join(LOCK_STEM))?;
        let mut removed = Vec::new();
        for entry in self.holders(id, "remove")? {
            let _ = store::remove(&entry.path, self.options.durability)?;
            removed.push(entry.path.clone());
        }
        if !removed.is_empty() {
            let mut cache = self.cache.lock();
            cache.last = None;
            for path in &removed {
                if let Some(name) = path.file_name() {
                    cache.files.remove(name);
                }
            }
            cache.dir_stamp = dir_stamp(&self.dir);
        }
        Ok(removed)
    }
}
