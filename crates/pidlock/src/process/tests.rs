//! Unit tests of the `/proc` parsers.

use super::{LockTable, cmdline_matches, find_flock, parse_stat};

#[test]
fn stat_with_hostile_command_name() {
    let stat = "123 (a) b (c) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 100 10";
    assert_eq!(parse_stat(stat), Some(('S', 98765)));
    assert_eq!(parse_stat("123 (x) Z 1 2"), None);
    assert_eq!(parse_stat("garbage"), None);
}

#[test]
fn own_stat_parses() {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let (state, start) = parse_stat(&stat).unwrap();
    assert!(matches!(state, 'R' | 'S'), "state {state}");
    assert!(start > 0);
    assert_eq!(super::own_start_time(), Some(start));
}

#[test]
fn cmdline_substring_like_python() {
    assert!(cmdline_matches(b"/usr/bin/python3\0/home/u/.venv/bin/ollim-bot\0", "ollim-bot"));
    assert!(cmdline_matches(b"vim\0/home/u/.ollim-bot/x\0", "ollim-bot"));
    assert!(!cmdline_matches(b"sleep\x0030\0", "ollim-bot"));
    assert!(!cmdline_matches(b"", "ollim-bot"));
}

#[test]
fn lock_table_lines() {
    let dev = rustix::fs::makedev(0xfe, 0);
    let table = "1: POSIX  ADVISORY  WRITE 10 fe:00:77 0 EOF\n\
                 2: FLOCK  ADVISORY  WRITE 9198 fe:00:10010704 0 EOF\n\
                 2: -> FLOCK  ADVISORY  WRITE 9199 fe:00:10010704 0 EOF\n";
    assert_eq!(find_flock(table, dev, 10010704), LockTable::HeldBy(9198));
    assert_eq!(find_flock(table, dev, 77), LockTable::Free);
    assert_eq!(find_flock(table, dev, 5), LockTable::Free);
    // Another device, same inode (overlayfs): accepted when it is the only candidate.
    assert_eq!(find_flock(table, rustix::fs::makedev(8, 1), 10010704), LockTable::HeldBy(9198));
    assert_eq!(find_flock("garbage\n1: FLOCK\n", dev, 1), LockTable::Free);
}
