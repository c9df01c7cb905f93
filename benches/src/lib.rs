//! Comparison benchmarks for dotdir, run by `cargo xtask bench`.
//!
//! Every benchmark group is one operation with three functions: `ours` (the dotdir crate), `peer`
//! (what a user would otherwise pick) and `floor` (the raw syscall sequence any correct
//! implementation must perform). `cargo xtask bench` reads criterion's estimates and prints the
//! ratios ours/peer and ours/floor from the same run. This crate has no library code.
