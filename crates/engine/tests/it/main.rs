//! Integration tests of the engine on its own public API.

#![allow(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

mod app_lock;
mod archive;
mod check;
mod dir;
mod fix;
mod formats;
mod inspect;
mod lint;
mod support;
