//! The `dotdir` command: inspect, check, repair and back up a data directory.
//!
//! **Work in progress.** Only `demo` exists, and it says plainly which parts of dotdir are built.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("demo") => demo(),
        _ => {
            let mut err = std::io::stderr();
            writeln!(err, "usage: dotdir demo")?;
            std::process::exit(2);
        }
    }
}

fn demo() -> anyhow::Result<()> {
    use dotdir::atomic_store::{Document, JsonStyle, WriteOptions};
    let dir = tempfile::tempdir()?;
    let counter: Document<u64> =
        Document::open(dir.path().join("state/counter.json"))?.style(JsonStyle::Python);
    for _ in 0..3 {
        counter.update(|n| *n += 1)?;
    }
    let secret = Document::<String>::new(dir.path().join("state/token.json"))
        .options(WriteOptions::secret());
    let _ = secret.write(&"demo-secret".to_owned())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "dotdir demo in {}", dir.path().display())?;
    writeln!(
        out,
        "  built: atomic-store (durable atomic writes, Python-compatible JSON, cross-process update)"
    )?;
    writeln!(
        out,
        "  state/counter.json = {}",
        String::from_utf8_lossy(&counter.read_bytes()?.unwrap_or_default())
    )?;
    writeln!(
        out,
        "  not built yet: pidlock, jsonl-log, frontmatter, git-journal, ping-bucket, layouts, inspect/check/backup"
    )?;
    Ok(())
}
