//! Judging a record while holding the OS lock: stale (reclaim it, and say why) or held.

use crate::{
    process::ProcessInfo,
    record::{self, OnDisk},
    stamp::Stamp,
};

/// What an acquire found in the record and replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Previous {
    /// No record.
    Missing,
    /// An empty, non-numeric, non-UTF-8 or oversized record.
    Corrupt,
    /// A pid that cannot name a process: zero, negative or out of range (the Python bot counts
    /// `0` and `-1` as running; this crate does not).
    InvalidPid(i64),
    /// A pid with no live process (or a zombie), or a stamp from an earlier boot.
    Dead(u32),
    /// A live pid that is not the recorded holder: its cmdline lacks the program name, or its
    /// start time differs from the stamp.
    Reused(u32),
    /// This very process: a record kept across `exec`, or by [`PidGuard::release_keep_record`].
    ///
    /// [`PidGuard::release_keep_record`]: super::PidGuard::release_keep_record
    Own(u32),
}

/// The verdict on a record, taken while holding the OS lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Stale: reclaim it.
    Free(Previous),
    /// A live holder that takes no OS lock (or one of ours between `exec` and re-acquire).
    Held(u32),
}

/// Judges a record. Reclaims only on proof: whatever cannot be checked counts as held.
pub(super) fn classify(
    record: Option<&OnDisk>,
    stamp: Option<&Stamp>,
    me: u32,
    boot_id: Option<&str>,
    is_program: impl Fn(&[u8]) -> Option<bool>,
    inspect: impl FnOnce(u32) -> ProcessInfo,
) -> Verdict {
    let Some(record) = record else { return Verdict::Free(Previous::Missing) };
    let raw = match &record.parsed {
        record::Parsed::Corrupt => return Verdict::Free(Previous::Corrupt),
        record::Parsed::Pid { pid, .. } => *pid,
    };
    let Some(pid) = record.parsed.valid_pid() else {
        return Verdict::Free(Previous::InvalidPid(raw));
    };
    if pid == me {
        return Verdict::Free(Previous::Own(pid));
    }
    // The stamp speaks only for the record file it describes.
    let stamp = stamp.filter(|s| s.pid == pid && s.record == record.identity);
    if let (Some(stamp), Some(boot_id)) = (stamp, boot_id)
        && stamp.boot_id != boot_id
    {
        return Verdict::Free(Previous::Dead(pid));
    }
    let info = inspect(pid);
    if !info.alive {
        return Verdict::Free(Previous::Dead(pid));
    }
    if let Some(cmdline) = &info.cmdline
        && is_program(cmdline) == Some(false)
    {
        return Verdict::Free(Previous::Reused(pid));
    }
    if let (Some(stamp), Some(start_time)) = (stamp, info.start_time)
        && stamp.start_time != start_time
    {
        return Verdict::Free(Previous::Reused(pid));
    }
    Verdict::Held(pid)
}

#[cfg(test)]
mod tests;
