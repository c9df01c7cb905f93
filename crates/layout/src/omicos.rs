//! The omicos global home (`~/.omicos`) and workspace (`<workspace>/.omicos`) layouts.
//! **Skeleton**: built in issue #9.
