//! Failures half-way through an operation (the cases `cargo xtask faults` found), made real
//! by planting an obstacle (a directory where a file is written) for one call: a failed create
//! can be repeated.

use std::fs;

use dotdir::omicos::Error;

use super::support::{login_of, serve_workspace};

#[test]
fn a_failed_create_can_be_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.create_conversation("c1", "First").unwrap();
    // An obstacle where meta.json goes: the create fails after making the directory.
    let c2 = ws.conversation("c2").unwrap();
    fs::create_dir_all(c2.meta_path()).unwrap();
    assert!(ws.create_conversation("c2", "Second").is_err());
    assert!(c2.dir().is_dir(), "the failed create left its directory");
    assert!(!ws.conversation_index().read().unwrap().unwrap().conversations.contains_key("c2"));
    fs::remove_dir(c2.meta_path()).unwrap();
    fs::write(c2.history_path(), "{\"role\": \"user\"}\n").unwrap();

    // Created again: completed, its files kept.
    let _ = ws.create_conversation("c2", "Second").unwrap();
    let meta = c2.meta().read().unwrap().unwrap();
    assert_eq!((meta.session_id.as_str(), meta.summary.title.as_str()), ("c2", "Second"));
    assert!(c2.outputs_dir().is_dir() && c2.uploads_dir().is_dir());
    assert_eq!(fs::read_to_string(c2.history_path()).unwrap(), "{\"role\": \"user\"}\n");
    let index = ws.conversation_index().read().unwrap().unwrap();
    assert_eq!(index.conversations.keys().collect::<Vec<_>>(), ["c1", "c2"]);
    assert_eq!(ws.conversation_index_drift().unwrap(), (vec![], vec![]));
    // A listed id is taken.
    let again = ws.create_conversation("c2", "Again").unwrap_err();
    assert!(matches!(again, Error::ConversationExists { .. }), "{again}");
    assert_eq!(c2.meta().read().unwrap().unwrap().summary.title, "Second");
}

#[test]
fn a_create_repeated_after_its_index_entry_landed_returns_the_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let created = ws.create_conversation("c1", "First").unwrap();
    let index = fs::read(ws.conversation_index_path()).unwrap();
    let meta = fs::read(created.meta_path()).unwrap();
    // The same create again (its first attempt reported an error syncing the directory after
    // the index was written): the conversation, nothing rewritten.
    assert_eq!(ws.create_conversation("c1", "First").unwrap(), created);
    assert_eq!(fs::read(ws.conversation_index_path()).unwrap(), index);
    assert_eq!(fs::read(created.meta_path()).unwrap(), meta);
    // Another title, or another account, is another conversation: the id is taken.
    assert!(matches!(ws.create_conversation("c1", "Other"), Err(Error::ConversationExists { .. })));
    let _ = ws.login(&login_of("u-b")).unwrap();
    assert!(matches!(ws.create_conversation("c1", "First"), Err(Error::ConversationExists { .. })));
}
