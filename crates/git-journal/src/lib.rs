//! Auto-commit every write into a git repository, with an exclusion list.
//!
//! **Skeleton.** This crate has no public API yet; it is built in issue #6. Nothing here pretends
//! to work.
