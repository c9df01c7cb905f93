//! `dotdir push` judges what it would send by what the destination holds and by the secrets'
//! contents, refuses with a non-zero exit before anything leaves, and never prints a credential
//! of a URL. The destinations are bare repositories on the local file system.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Output,
};

use dotdir_test_support::git;

use crate::{Env, code, demo_dirs, json, stderr, stdout};

/// A new empty bare repository `<tmp>/<name>`.
fn empty_bare(tmp: &Path, name: &str) -> PathBuf {
    let path = tmp.join(name);
    fs::create_dir_all(&path).unwrap();
    git(&path, &["init", "-q", "--bare"]);
    path
}

/// The bare repository at `path` has no reference and no object.
fn assert_untouched(path: &Path) {
    assert_eq!(git(path, &["for-each-ref"]), "", "{} got references", path.display());
    let objects = git(path, &["count-objects", "-v"]);
    for line in objects.lines() {
        if let Some(count) = line.strip_prefix("count: ").or_else(|| line.strip_prefix("in-pack: "))
        {
            assert_eq!(count, "0", "{} got objects:\n{objects}", path.display());
        }
    }
}

/// Somebody commits the token by hand, then untracks it: it stays in the history.
fn commit_token_by_hand(dir: &Path) {
    git(dir, &["add", "-f", "state/token.json"]);
    git(dir, &["commit", "-qm", "oops"]);
    git(dir, &["rm", "-q", "--cached", "state/token.json"]);
    git(dir, &["commit", "-qm", "untrack"]);
}

/// A refused push: exit 1, the path named, nothing sent.
fn assert_refused(output: &Output, path: &str) {
    assert_eq!(code(output), 1, "{}{}", stdout(output), stderr(output));
    let text = stdout(output);
    assert!(text.contains(path) && text.contains("nothing was sent"), "{text}");
}

#[test]
fn a_clone_pushed_to_a_new_empty_remote_is_refused() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    commit_token_by_hand(&ollim);
    let source = tmp.path().join("source.git");
    git(tmp.path(), &["clone", "-q", "--bare", ollim.to_str().unwrap(), source.to_str().unwrap()]);
    let clone = tmp.path().join("elsewhere/.ollim-bot");
    let output = env.run(&["clone", source.to_str().unwrap(), clone.to_str().unwrap()]);
    assert!(clone.join(".git").is_dir(), "{}{}", stdout(&output), stderr(&output));
    // The clone's tracking refs hold the whole history; the new remote holds nothing.
    let empty = empty_bare(tmp.path(), "empty.git");

    let output = env.run(&["push", clone.to_str().unwrap(), "--to", empty.to_str().unwrap()]);
    assert_refused(&output, "state/token.json");
    assert_untouched(&empty);
    let output =
        env.run(&["push", "--json", clone.to_str().unwrap(), "--to", empty.to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    let document = json(&output);
    assert_eq!(document["pushed"], false);
    assert_eq!(document["leaks"][0]["path"], "state/token.json");
    assert_untouched(&empty);
}

#[test]
fn a_pushurl_to_another_repository_is_refused() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    commit_token_by_hand(&ollim);
    // `url` already holds everything (pushed by hand, fetched back)...
    let full = tmp.path().join("full.git");
    git(tmp.path(), &["clone", "-q", "--bare", ollim.to_str().unwrap(), full.to_str().unwrap()]);
    git(&ollim, &["remote", "add", "origin", full.to_str().unwrap()]);
    git(&ollim, &["fetch", "-q", "origin"]);
    // ...but pushes go to `pushurl`, which holds nothing.
    let empty = empty_bare(tmp.path(), "empty.git");
    git(&ollim, &["config", "remote.origin.pushurl", empty.to_str().unwrap()]);

    let output = env.run(&["push", ollim.to_str().unwrap()]);
    assert_refused(&output, "state/token.json");
    assert_untouched(&empty);
}

#[test]
fn a_copy_of_a_secret_is_refused_by_its_content_and_never_shown() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    let token = b"{\"access_token\": \"CANARY-cli-5b1e\"}";
    fs::write(ollim.join("state/token.json"), token).unwrap();
    // Copies committed by hand, under paths the layout does not exclude.
    fs::write(ollim.join("state/token.json.bak"), token).unwrap();
    fs::create_dir_all(ollim.join("State")).unwrap();
    fs::write(ollim.join("State/Token.json"), token).unwrap();
    git(&ollim, &["add", "-f", "state/token.json.bak", "State/Token.json"]);
    git(&ollim, &["commit", "-qm", "copies"]);
    let remote = empty_bare(tmp.path(), "r.git");

    let output = env.run(&["push", ollim.to_str().unwrap(), "--to", remote.to_str().unwrap()]);
    assert_refused(&output, "state/token.json.bak");
    let text = stdout(&output);
    assert!(
        text.contains("State/Token.json")
            && text.contains("the content of the secret state/token.json"),
        "{text}"
    );
    assert!(!format!("{text}{}", stderr(&output)).contains("CANARY"), "{text}");
    assert_untouched(&remote);
    let output =
        env.run(&["push", "--json", ollim.to_str().unwrap(), "--to", remote.to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    assert!(!format!("{}{}", stdout(&output), stderr(&output)).contains("CANARY"));
    let document = json(&output);
    let leaks = document["leaks"].as_array().unwrap();
    assert!(!leaks.is_empty());
    for leak in leaks {
        assert_eq!(leak["same_as"], "state/token.json", "{leak}");
    }
    assert_untouched(&remote);
}

#[test]
fn credentials_in_a_url_are_never_printed_or_recorded() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    let dir = ollim.to_str().unwrap();
    // Port 9 on the loopback: nobody listens, the connection is refused.
    let url = "https://x-access-token:CANARY@127.0.0.1:9/x.git";
    let mut outputs = vec![
        env.run(&["push", dir, "--to", url]),
        env.run(&["push", dir, "--to", url]),
        env.run(&["push", "--json", dir, "--to", url]),
    ];
    for output in &outputs {
        assert_ne!(code(output), 0, "{}{}", stdout(output), stderr(output));
    }
    assert!(stderr(&outputs[0]).contains("https://127.0.0.1:9/x.git"), "{}", stderr(&outputs[0]));
    assert!(json(&outputs[2])["error"].as_str().unwrap().contains("127.0.0.1:9"));
    let record = fs::read(ollim.join(".git/dotdir-push.json")).unwrap();
    assert!(!String::from_utf8_lossy(&record).contains("CANARY"));
    outputs.push(env.run(&["check", dir]));
    outputs.push(env.run(&["check", "--json", dir]));
    outputs.push(env.run(&["clone", url, tmp.path().join("c").to_str().unwrap()]));
    outputs.push(env.run(&["clone", "--json", url, tmp.path().join("d").to_str().unwrap()]));
    for output in &outputs {
        let all = format!("{}{}", stdout(output), stderr(output));
        assert!(!all.contains("CANARY"), "{all}");
    }
}
