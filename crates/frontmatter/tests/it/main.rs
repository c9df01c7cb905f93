//! Integration tests of `dotdir-frontmatter`: one binary, a module per topic.
//!
//! The modules are `cfg(test)` so helper functions may unwrap like the tests themselves.

#[cfg(test)]
mod dir;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod hazards;
#[cfg(test)]
mod hostile;
#[cfg(test)]
mod pyyaml;
#[cfg(test)]
mod roundtrip;
#[cfg(test)]
mod skills;
#[cfg(test)]
mod specs;
#[cfg(test)]
mod split;
#[cfg(test)]
mod unreadable;
