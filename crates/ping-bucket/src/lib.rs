//! A persisted refill-on-read token bucket, exact with ollim-bot's ping budget.
//!
//! **Skeleton.** This crate has no public API yet; it is built in issue #7. Nothing here pretends
//! to work.
