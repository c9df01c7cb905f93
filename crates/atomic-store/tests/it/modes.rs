//! Under umask 000 and 077, secrets end 0600 and plain files keep their previous mode; a symlink
//! planted at a secret's path is refused.

use std::fs;

use dotdir_atomic_store::{Error, WriteOptions, write};
use dotdir_test_support::{mode, set_mode};

use crate::{child, child_role};

fn check_under_umask(umask: u32) {
    let dir = tempfile::tempdir().unwrap();
    let output = child("modes::secrets_are_0600_and_plain_files_keep_their_mode", "writer")
        .env("DOTDIR_UMASK", umask.to_string())
        .env("DOTDIR_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
    let d = dir.path();
    assert_eq!(mode(&d.join("secret.json")), 0o600, "new secret, umask {umask:03o}");
    assert_eq!(
        mode(&d.join("was-0644-secret.json")),
        0o600,
        "secret replacing a 0644 file, umask {umask:03o}"
    );
    assert_eq!(mode(&d.join("plain-0644.txt")), 0o644, "plain file kept 0644, umask {umask:03o}");
    assert_eq!(mode(&d.join("plain-0640.txt")), 0o640, "plain file kept 0640, umask {umask:03o}");
    assert_eq!(
        mode(&d.join("secrets")),
        0o700,
        "a directory created for a secret, umask {umask:03o}"
    );
    assert_eq!(mode(&d.join("secrets/deep.json")), 0o600);
}

#[test]
fn secrets_are_0600_and_plain_files_keep_their_mode() {
    if child_role().is_some() {
        let umask: u32 = std::env::var("DOTDIR_UMASK").unwrap().parse().unwrap();
        rustix::process::umask(rustix::fs::Mode::from_bits_truncate(umask));
        let d = std::path::PathBuf::from(std::env::var("DOTDIR_DIR").unwrap());
        let _ = write(&d.join("secret.json"), b"1", &WriteOptions::secret()).unwrap();
        for (name, initial) in
            [("was-0644-secret.json", 0o644), ("plain-0644.txt", 0o644), ("plain-0640.txt", 0o640)]
        {
            fs::write(d.join(name), b"old").unwrap();
            set_mode(&d.join(name), initial);
        }
        let _ = write(&d.join("was-0644-secret.json"), b"2", &WriteOptions::secret()).unwrap();
        let _ = write(&d.join("plain-0644.txt"), b"new", &WriteOptions::new()).unwrap();
        let _ = write(&d.join("plain-0640.txt"), b"new", &WriteOptions::new()).unwrap();
        let _ = write(&d.join("secrets/deep.json"), b"3", &WriteOptions::secret()).unwrap();
        std::process::exit(0);
    }
    check_under_umask(0o000);
    check_under_umask(0o077);
    check_under_umask(0o022);
}

#[test]
fn a_symlink_at_a_secret_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("token.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let err = write(&link, b"secret", &WriteOptions::secret()).unwrap_err();
    assert!(matches!(err, Error::Symlink { .. }), "{err}");
    assert!(err.to_string().contains("token.json"), "the error names the path: {err}");
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
}

#[test]
fn a_symlink_at_a_plain_file_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("notes.txt");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let _ = write(&link, b"new", &WriteOptions::new()).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&link).unwrap().is_file());
    assert_eq!(fs::read(&link).unwrap(), b"new");
}

#[test]
fn a_read_never_follows_a_symlink_nor_blocks_on_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.json");
    std::fs::write(&outside, b"{\"secret\": \"outside-canary\"}").unwrap();
    let link = dir.path().join("config.json");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    match dotdir_atomic_store::read(&link, 1024) {
        Err(dotdir_atomic_store::Error::NotAFile { path }) => assert_eq!(path, link),
        other => panic!("a symlink was read: {other:?}"),
    }
    let fifo = dir.path().join("fifo.json");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let read = dotdir_atomic_store::read(&fifo, 1024);
    assert!(matches!(read, Err(dotdir_atomic_store::Error::NotAFile { .. })), "{read:?}");
}
