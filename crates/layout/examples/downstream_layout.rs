//! A downstream crate declares its own data directory on the same parts as the built-in
//! layouts: a `const Layout` whose entries say what each path is, and the machinery that
//! follows from it — the `.gitignore`, the git journal's exclusion list, lookups for `check`
//! and `inspect`, content validators and secret modes.
//!
//! Run it with `cargo run -p dotdir --example downstream_layout`.

#![allow(clippy::print_stdout, clippy::unwrap_used, reason = "an example prints and unwraps")]

use std::time::Duration;

use dotdir::{
    Backup, Entry, Format, Git, Layout,
    atomic_store::{Document, JsonStyle, WriteOptions},
    git_journal::{Journal, JournalOptions},
};

/// The data directory of a small notes app: notes are tracked, the API key is a secret, the
/// cache is re-creatable, the session map expires after a day.
const NOTES_APP: Layout = Layout::new(
    "notes-app",
    "the data directory of the notes app (~/.notes-app)",
    &[
        Entry::dir(".git/**", "git history of the notes").untracked(),
        Entry::file(".gitignore", Format::Text, "derived from this layout"),
        Entry::file("**/*.lock", Format::Opaque, "lock sidecar")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::file("api_key.json", Format::Json, "the API key").secret(),
        Entry::dir("notes", "the notes"),
        Entry::file("notes/*.md", Format::Spec, "one note (front matter + markdown)"),
        Entry::dir("cache", "rendered previews").untracked().backup(Backup::Recreatable),
        Entry::file("cache/**", Format::Opaque, "a rendered preview")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::file("sessions.json", Format::Json, "open editor sessions (1-day TTL)")
            .untracked()
            .backup(Backup::Ephemeral)
            .retention(Duration::from_secs(24 * 3600))
            .validate("bad-sessions", |bytes| {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
    ],
);

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(".notes-app");

    // The journal refuses every excluded path, whatever a caller asks; the .gitignore follows.
    let journal = Journal::open(
        &root,
        JournalOptions::new()
            .exclusions(NOTES_APP.journal_exclusions())
            .identity_from_git_config(false),
    )
    .unwrap();
    journal
        .write(
            "notes/hello.md",
            b"---\ntitle: \"Hello\"\n---\nHi.\n",
            &WriteOptions::new(),
            "add note hello",
        )
        .unwrap();

    // A secret gets its mode from the declaration.
    let key = NOTES_APP.entry_for("api_key.json").unwrap();
    let mode = key.required_mode().unwrap();
    let _ = Document::<serde_json::Value>::new(root.join("api_key.json"))
        .style(JsonStyle::Pretty)
        .options(WriteOptions::new().mode(dotdir::atomic_store::Mode::Exact(mode)))
        .write(&serde_json::json!({"key": "s3cr3t"}))
        .unwrap();
    assert!(journal.commit_path("api_key.json", "oops").is_err());

    print!("{}", std::fs::read_to_string(root.join(".gitignore")).unwrap());
    for path in ["notes/hello.md", "api_key.json", "cache/x.png", "sessions.json", "stray.txt"] {
        match NOTES_APP.entry_for(path) {
            Some(entry) => println!(
                "{path:16} {:<40} git: {:<8} backup: {:?}{}",
                entry.description,
                if entry.git == Git::Tracked { "tracked" } else { "ignored" },
                entry.backup,
                if entry.secret { " (secret)" } else { "" },
            ),
            None => println!("{path:16} unknown to the layout: `dotdir check` flags it"),
        }
    }
    let sessions = NOTES_APP.entry_for("sessions.json").unwrap().validator.unwrap();
    println!("sessions.json [1, 2] -> {:?}", (sessions.check)(b"[1, 2]"));
}
