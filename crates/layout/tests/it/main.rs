//! Integration tests of the `dotdir` facade, one module per layout.

mod home;
mod ollim;
mod omicos;
mod secrets;
