//! The ollim-bot data directory (`~/.ollim-bot`). **Skeleton**: built in issue #8.
