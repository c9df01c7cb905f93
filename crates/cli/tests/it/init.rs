//! `dotdir init`: a new data directory is clean; with a git journal, a git repository with the
//! layout's `.gitignore`.

use std::{fs, os::unix::fs::PermissionsExt};

use crate::{Env, code, json, stdout};

#[test]
fn init_creates_a_clean_directory_for_every_layout() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    for layout in ["ollim-bot", "omicos-home", "omicos-workspace"] {
        let dir = temp.path().join(layout);
        let output = env.run(&["init", "--layout", layout, dir.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}", stdout(&output));
        // Only a layout with a git journal gets a repository (omicos keeps none: it moves with
        // `backup` and `restore`, and `push` refuses it).
        if layout == "ollim-bot" {
            assert!(dir.join(".git").is_dir(), "{layout}");
            let gitignore = fs::read_to_string(dir.join(".gitignore")).unwrap();
            assert!(gitignore.contains("*.lock"), "{layout}");
        } else {
            assert!(!dir.join(".git").exists(), "{layout}: a repository push would refuse");
            assert!(stdout(&output).contains("no git repository"), "{}", stdout(&output));
        }
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let document =
            json(&env.run(&["check", "--json", "--layout", layout, dir.to_str().unwrap()]));
        assert_eq!(document["problems"], serde_json::json!([]), "{layout}");
    }
    assert!(temp.path().join("ollim-bot/routines").is_dir());
    let oauth = temp.path().join("omicos-home/oauth");
    assert_eq!(
        fs::metadata(oauth).unwrap().permissions().mode() & 0o777,
        0o700,
        "a secret directory"
    );
    // Running it again overwrites nothing and is still clean.
    let dir = temp.path().join("ollim-bot");
    fs::write(dir.join("USER.md"), "me\n").unwrap();
    let output = env.run(&["init", "--layout", "ollim-bot", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert_eq!(fs::read_to_string(dir.join("USER.md")).unwrap(), "me\n");
}

#[test]
fn init_leaves_no_lock_file_in_the_data_directory() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    for layout in ["ollim-bot", "omicos-home", "omicos-workspace"] {
        let dir = temp.path().join(layout);
        let output = env.run(&["init", "--layout", layout, dir.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}", stdout(&output));
        assert_eq!(dir.join(".git").is_dir(), layout == "ollim-bot", "{layout}");
        // Every open of the journal after it (here: a repair and a second init) too.
        let output = env.run(&["check", "--fix", "--layout", layout, dir.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}", stdout(&output));
        let output = env.run(&["init", "--layout", layout, dir.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}", stdout(&output));
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".lock"))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "{layout}: lock files left in the data directory");
    }
}
