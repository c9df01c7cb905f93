//! The holder stamp: who published the record, kept in the sidecar lock file.
//!
//! The record formats are byte-exact with the reference applications, so they have no room for a
//! start-time token. The stamp lives in the lock file instead (which is never renamed over and is
//! only written by the holder of the OS lock): one line naming the pid, its start time, the boot,
//! and the identity of the record file it published. A later starter, holding the lock, trusts
//! the stamp only for the very record file it describes, so a record rewritten by a holder that
//! takes no lock (the Python bot) is never judged by a stale stamp.

use std::{fs::File, os::unix::fs::FileExt};

use crate::record::Identity;

const MAGIC: &str = "dotdir-pidlock-stamp-v1";

/// Who published which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) pid: u32,
    pub(crate) start_time: u64,
    pub(crate) boot_id: String,
    pub(crate) record: Identity,
}

impl Stamp {
    pub(crate) fn encode(&self) -> String {
        let r = &self.record;
        format!(
            "{MAGIC} pid={} start={} boot={} dev={} ino={} size={} mtime={}.{} ctime={}.{}\n",
            self.pid,
            self.start_time,
            self.boot_id,
            r.dev,
            r.ino,
            r.size,
            r.mtime.0,
            r.mtime.1,
            r.ctime.0,
            r.ctime.1,
        )
    }

    /// Parses a stamp; anything else (empty, torn, another version) is `None`.
    pub(crate) fn parse(text: &str) -> Option<Stamp> {
        let line = text.strip_suffix('\n')?;
        let mut fields = line.split(' ');
        if fields.next()? != MAGIC {
            return None;
        }
        let mut value = |key: &str| fields.next()?.strip_prefix(key)?.strip_prefix('=');
        let pid = value("pid")?.parse().ok()?;
        let start_time = value("start")?.parse().ok()?;
        let boot_id = value("boot")?.to_owned();
        let dev = value("dev")?.parse().ok()?;
        let ino = value("ino")?.parse().ok()?;
        let size = value("size")?.parse().ok()?;
        let mtime = time_pair(value("mtime")?)?;
        let ctime = time_pair(value("ctime")?)?;
        if fields.next().is_some() || boot_id.is_empty() {
            return None;
        }
        Some(Stamp { pid, start_time, boot_id, record: Identity { dev, ino, size, mtime, ctime } })
    }

    /// Reads the stamp from the lock file.
    pub(crate) fn read(file: &File) -> Option<Stamp> {
        let mut buf = [0u8; 512];
        let mut len = 0;
        while len < buf.len() {
            match file.read_at(&mut buf[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Stamp::parse(std::str::from_utf8(&buf[..len]).ok()?)
    }

    /// Replaces the lock file's content with this stamp (only ever called by the lock holder).
    pub(crate) fn write(&self, file: &File) -> std::io::Result<()> {
        file.set_len(0)?;
        file.write_all_at(self.encode().as_bytes(), 0)
    }
}

fn time_pair(text: &str) -> Option<(i64, i64)> {
    let (secs, nanos) = text.split_once('.')?;
    Some((secs.parse().ok()?, nanos.parse().ok()?))
}
