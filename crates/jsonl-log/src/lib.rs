//! Append-only JSON Lines logs that survive crashes and concurrent writers.
//!
//! **Skeleton.** This crate has no public API yet; it is built in issue #4. Nothing here pretends
//! to work.
