//! `Layout::lint`: an entry an earlier one shadows is a declaration mistake, named.

use dotdir_engine::{Entry, Format, Layout};

#[test]
fn a_directory_entry_that_swallows_the_files_below_it_is_named() {
    const SHADOWED: Layout = Layout::new(
        "codex-like",
        "rollouts under a catch-all",
        &[
            Entry::dir("sessions/**", "the sessions"),
            Entry::file("sessions/*/*/*/rollout-*.jsonl", Format::Jsonl, "a rollout"),
            Entry::file("config.toml", Format::Toml, "configuration"),
            Entry::file("config.toml", Format::Toml, "the same, twice"),
        ],
    );
    let found = SHADOWED.lint();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("sessions/*/*/*/rollout-*.jsonl") && found[0].contains("sessions/**")
    );
    assert!(found[1].contains("the same, twice"));
    // An extension's entries come first, and may narrow the base's general ones.
    const BASE: Layout =
        Layout::new("base", "a base", &[Entry::file("notes/*.md", Format::Markdown, "a note")]);
    const EXTENDED: Layout =
        Layout::extend(&BASE, &[Entry::file("notes/secret.md", Format::Text, "a secret").secret()]);
    assert_eq!(EXTENDED.lint(), Vec::<String>::new());
}

#[test]
fn a_catch_all_for_dotdirs_sidecars_is_named() {
    const BY_HAND: Layout = Layout::new(
        "app",
        "sidecars declared by hand",
        &[
            // The application's own lock files, named by their directory: fine.
            Entry::file("ide/*.lock", Format::Json, "an IDE connection"),
            Entry::file("state/*.json", Format::Json, "state"),
            Entry::file("**/*.lock", Format::Opaque, "every lock"),
            Entry::file("*.corrupt", Format::Opaque, "set-aside bytes"),
        ],
    );
    let found = BY_HAND.lint();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("`**/*.lock`") && found[0].contains("sidecars"), "{found:#?}");
    assert!(found[1].contains("`*.corrupt`"), "{found:#?}");
}
