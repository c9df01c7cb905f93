//! Integration tests of the `dotdir` facade, one module per layout.

mod ollim;
mod omicos;
