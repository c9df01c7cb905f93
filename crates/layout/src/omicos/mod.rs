//! The omicos global home (`~/.omicos`) and workspace (`<workspace>/.omicos`) layouts.
//!
//! **In progress** (issue #9): the declarations [`HOME_LAYOUT`] and [`WORKSPACE_LAYOUT`] are
//! complete; the typed operations follow.

mod layouts;

pub use self::layouts::{HOME_LAYOUT, WORKSPACE_LAYOUT};
