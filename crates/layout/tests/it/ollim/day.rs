//! A scripted day of an ollim-bot in a temporary directory, inspected with the real `git` CLI.
