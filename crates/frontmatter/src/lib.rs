//! YAML-frontmatter spec files and spec directories.
//!
//! **Skeleton.** This crate has no public API yet; it is built in issue #5. Nothing here pretends
//! to work.
