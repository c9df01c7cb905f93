//! Unit tests of the verdict on a record: every rule, with a fake `/proc`.

use super::{Previous, Verdict, classify};
use crate::{
    process::ProcessInfo,
    record::{Identity, OnDisk, Parsed},
    stamp::Stamp,
};

const ME: u32 = 100;
const BOOT: &str = "boot-a";
const FILE: Identity = Identity { dev: 1, ino: 2, size: 3, mtime: (4, 5), ctime: (6, 7) };

fn record(parsed: Parsed) -> OnDisk {
    OnDisk { parsed, identity: FILE }
}

fn pid(pid: i64) -> OnDisk {
    record(Parsed::Pid { pid, payload: Vec::new() })
}

fn live(cmdline: &[u8], start_time: u64) -> ProcessInfo {
    ProcessInfo { alive: true, start_time: Some(start_time), cmdline: Some(cmdline.to_vec()) }
}

fn stamp(pid: u32, start_time: u64, boot: &str, record: Identity) -> Stamp {
    Stamp { pid, start_time, boot_id: boot.to_owned(), record }
}

fn check(
    record: Option<OnDisk>,
    stamp: Option<Stamp>,
    program: Option<&str>,
    info: ProcessInfo,
    expected: Verdict,
) {
    let is_program = |cmdline: &[u8]| program.map(|p| crate::process::cmdline_matches(cmdline, p));
    let got = classify(record.as_ref(), stamp.as_ref(), ME, Some(BOOT), is_program, |_| info);
    assert_eq!(got, expected);
}

#[test]
fn missing_corrupt_invalid() {
    let bot = live(b"ollim-bot", 1);
    check(None, None, None, bot.clone(), Verdict::Free(Previous::Missing));
    check(Some(record(Parsed::Corrupt)), None, None, bot.clone(), Verdict::Free(Previous::Corrupt));
    check(Some(pid(0)), None, None, bot.clone(), Verdict::Free(Previous::InvalidPid(0)));
    check(Some(pid(-1)), None, None, bot, Verdict::Free(Previous::InvalidPid(-1)));
}

#[test]
fn own_pid_is_reclaimed() {
    check(Some(pid(ME.into())), None, None, live(b"x", 1), Verdict::Free(Previous::Own(ME)));
}

#[test]
fn dead_and_zombie() {
    check(
        Some(pid(7)),
        None,
        Some("ollim-bot"),
        ProcessInfo::GONE,
        Verdict::Free(Previous::Dead(7)),
    );
}

#[test]
fn python_holder_by_cmdline() {
    let bot = live(b"python3\0/venv/bin/ollim-bot\0", 9);
    check(Some(pid(7)), None, Some("ollim-bot"), bot, Verdict::Held(7));
    let sleep = live(b"sleep\x0030\0", 9);
    check(Some(pid(7)), None, Some("ollim-bot"), sleep, Verdict::Free(Previous::Reused(7)));
}

#[test]
fn no_program_fails_closed() {
    check(Some(pid(7)), None, None, live(b"sleep\x0030\0", 9), Verdict::Held(7));
}

#[test]
fn unreadable_cmdline_fails_closed() {
    let info = ProcessInfo { alive: true, start_time: None, cmdline: None };
    check(Some(pid(7)), None, Some("ollim-bot"), info, Verdict::Held(7));
}

#[test]
fn stamp_start_time_tells_reuse_even_when_cmdline_matches() {
    let editor = live(b"vim\0/home/u/.ollim-bot/USER.md\0", 500);
    let s = stamp(7, 400, BOOT, FILE);
    check(Some(pid(7)), Some(s), Some("ollim-bot"), editor, Verdict::Free(Previous::Reused(7)));
}

#[test]
fn stamp_same_start_time_is_held_mid_exec() {
    let s = stamp(7, 400, BOOT, FILE);
    check(Some(pid(7)), Some(s.clone()), None, live(b"bot", 400), Verdict::Held(7));
    check(Some(pid(7)), Some(s), Some("bot"), live(b"bot", 400), Verdict::Held(7));
}

#[test]
fn stamp_from_an_earlier_boot_means_dead() {
    let s = stamp(7, 400, "boot-old", FILE);
    check(Some(pid(7)), Some(s), None, live(b"bot", 400), Verdict::Free(Previous::Dead(7)));
}

#[test]
fn stamp_for_another_file_or_pid_is_ignored() {
    // The Python bot rewrote the record in place since (same inode, new times): the stamp no
    // longer speaks for it, and the cmdline rule decides.
    let rewritten = Identity { mtime: (9, 9), ..FILE };
    let bot = live(b"ollim-bot", 500);
    check(
        Some(pid(7)),
        Some(stamp(7, 400, BOOT, rewritten)),
        Some("ollim-bot"),
        bot.clone(),
        Verdict::Held(7),
    );
    check(Some(pid(7)), Some(stamp(8, 400, BOOT, FILE)), Some("ollim-bot"), bot, Verdict::Held(7));
}

#[test]
fn stamp_round_trips_and_rejects_torn() {
    let s = stamp(7, 400, "1b2c-33", FILE);
    let text = s.encode();
    assert_eq!(Stamp::parse(&text), Some(s));
    assert_eq!(Stamp::parse(&text[..text.len() - 1]), None);
    assert_eq!(Stamp::parse(&text[..20]), None);
    assert_eq!(Stamp::parse(""), None);
}
