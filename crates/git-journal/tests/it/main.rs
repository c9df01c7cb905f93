//! Integration tests of dotdir-git-journal.
