//! One instance per data directory: an OS-held pid lock with a readable record.
//!
//! **Skeleton.** This crate has no public API yet; it is built in issue #3. Nothing here pretends
//! to work.
