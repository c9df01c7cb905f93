//! `dotdir backup`: a verified `.tar.gz` of what the layout's backup rules keep.
//!
//! The selection is the library's ([`dotdir::backup::select`]); this module writes it. The
//! archive is streamed into an [`AtomicFile`] (atomic-store's temporary file next to `--out`,
//! mode 0600 from creation, a symlink at `--out` refused), read back and compared file by file
//! (path, size, CRC-32), and only then committed (synced, renamed into place, directory synced):
//! a failed or interrupted backup never leaves a truncated archive under the requested name,
//! and dropping the unfinished file removes it.

use std::{
    collections::BTreeSet,
    fs::File,
    io::{self, BufReader, BufWriter, Read, Write},
    os::unix::fs::PermissionsExt,
    path::Path,
};

use anyhow::{Context, Result, bail};
use dotdir::{
    atomic_store::{AtomicFile, WriteOptions},
    backup::Selection,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::{
    Outcome,
    layouts::{self, LayoutName},
    style::{self, Style},
};

pub(crate) fn run(
    dir: Option<&Path>,
    layout: Option<LayoutName>,
    out: Option<&Path>,
    list: bool,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let mut targets = layouts::targets(dir, layout)?;
    if targets.len() > 1 {
        let found: Vec<String> = targets.iter().map(|t| t.dir.display().to_string()).collect();
        bail!(
            "several data directories exist ({}): pass the one to back up as DIR",
            found.join(", ")
        );
    }
    let target = targets.remove(0);
    let selection = dotdir::backup::select(&target.dir, target.layout()).with_context(|| {
        format!("cannot read {}: check that you may read every file in it", target.dir.display())
    })?;
    let mut stdout = io::stdout().lock();
    if list {
        if json {
            writeln!(stdout, "{}", serde_json::to_string_pretty(&selection_json(&selection))?)?;
        } else {
            render_list(&mut stdout, &selection, style)?;
        }
        return Ok(Outcome::Clean);
    }
    let Some(out) = out else { bail!("pass --out FILE.tar.gz, or --list to see what would go in") };
    let written = write_archive(&selection, out)?;
    if json {
        let mut value = selection_json(&selection);
        value["archive"] = json!(out.display().to_string());
        value["archive_bytes"] = json!(written.archive_bytes);
        value["verified_files"] = json!(written.files);
        writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(
            stdout,
            "{} {} file(s), {} from the {} layout at {} into {} ({} compressed); {}",
            style.good("backed up"),
            written.files,
            style::size(selection.total_bytes()),
            selection.layout,
            layouts::display(&selection.root),
            out.display(),
            style::size(written.archive_bytes),
            style.good("verified by reading it back"),
        )?;
        let secrets = selection
            .skipped
            .iter()
            .filter(|s| s.reason == dotdir::backup::SkipReason::Secret)
            .count();
        writeln!(
            stdout,
            "left out: {} path(s), {secrets} of them secret (run `dotdir backup --list` to see them)",
            selection.skipped.len()
        )?;
    }
    Ok(Outcome::Clean)
}

fn selection_json(selection: &Selection) -> Value {
    json!({
        "layout": selection.layout,
        "root": selection.root.display().to_string(),
        "files": selection.files.iter().map(|f| json!({"path": f.relative, "size": f.size})).collect::<Vec<_>>(),
        "skipped": selection.skipped.iter().map(|s| json!({"path": s.relative, "reason": s.reason.label()})).collect::<Vec<_>>(),
        "total_bytes": selection.total_bytes(),
    })
}

fn render_list(out: &mut impl Write, selection: &Selection, style: &Style) -> Result<()> {
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "backup of the {} layout at {}",
            selection.layout,
            layouts::display(&selection.root)
        ))
    )?;
    writeln!(
        out,
        "goes in ({} file(s), {}):",
        selection.files.len(),
        style::size(selection.total_bytes())
    )?;
    for file in &selection.files {
        writeln!(out, "  {:>7}  {}", style::size(file.size), file.relative)?;
    }
    writeln!(out, "stays out:")?;
    for skipped in &selection.skipped {
        let reason = style::pad(skipped.reason.label(), 12);
        let reason = if skipped.reason == dotdir::backup::SkipReason::Secret {
            style.bad(&reason)
        } else {
            style.dim(&reason)
        };
        writeln!(out, "  {reason} {}", skipped.relative)?;
    }
    Ok(())
}

struct Written {
    files: usize,
    archive_bytes: u64,
}

/// One file as it went into the archive.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Fingerprint {
    path: String,
    size: u64,
    crc: u32,
}

fn progress(total: u64) -> ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(template) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {eta}")
    {
        bar.set_style(template.progress_chars("=> "));
    }
    bar
}

fn write_archive(selection: &Selection, out: &Path) -> Result<Written> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if out.starts_with(&selection.root)
        || parent
            .canonicalize()
            .ok()
            .zip(selection.root.canonicalize().ok())
            .is_some_and(|(p, r)| p.starts_with(r))
    {
        bail!(
            "the archive would be written inside the data directory it backs up: choose an --out outside {}",
            selection.root.display()
        );
    }
    let mut archive = AtomicFile::create(out, &WriteOptions::secret()).with_context(|| {
        format!(
            "cannot create the archive in {}: check that the directory is writable and that {} is not a symlink",
            parent.display(),
            out.display()
        )
    })?;
    let bar = progress(selection.total_bytes());
    bar.set_message("archiving");
    let mut written = Vec::new();
    {
        let encoder = flate2::write::GzEncoder::new(
            BufWriter::new(&mut archive),
            flate2::Compression::default(),
        );
        let mut builder = tar::Builder::new(encoder);
        builder.mode(tar::HeaderMode::Complete);
        let mut dirs_added = BTreeSet::new();
        for file in &selection.files {
            add_parent_dirs(&mut builder, selection, &file.relative, &mut dirs_added)?;
            let source = File::open(&file.path).with_context(|| {
                format!(
                    "cannot read {}: it changed during the backup; run the backup again",
                    file.path.display()
                )
            })?;
            let meta = source.metadata()?;
            let size = meta.len();
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            header.set_size(size);
            header.set_mode(meta.permissions().mode() & 0o7777);
            let mut reader =
                Crc { inner: source.take(size), crc: crc32fast::Hasher::new(), bar: &bar };
            builder
                .append_data(&mut header, &file.relative, &mut reader)
                .with_context(|| format!("cannot archive {}", file.path.display()))?;
            written.push(Fingerprint {
                path: file.relative.clone(),
                size,
                crc: reader.crc.finalize(),
            });
        }
        let encoder = builder.into_inner().context("cannot finish the archive")?;
        let mut inner = encoder.finish().context("cannot finish the compressed stream")?;
        inner.flush().context("cannot write the archive")?;
    }
    bar.set_message("verifying");
    let read_back = read_back(archive.temp_path())?;
    bar.finish_and_clear();
    written.sort();
    if read_back != written {
        bail!(
            "the archive does not read back as written ({} files written, {} read): a file changed during the backup; run it again",
            written.len(),
            read_back.len()
        );
    }
    let archive_bytes = archive.as_file().metadata()?.len();
    let _ = archive
        .commit()
        .with_context(|| format!("cannot sync the archive and move it to {}", out.display()))?;
    Ok(Written { files: written.len(), archive_bytes })
}

fn add_parent_dirs<W: Write>(
    builder: &mut tar::Builder<W>,
    selection: &Selection,
    relative: &str,
    added: &mut BTreeSet<String>,
) -> Result<()> {
    let mut prefix = String::new();
    let components: Vec<&str> = relative.split('/').collect();
    for component in &components[..components.len() - 1] {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(component);
        if !added.insert(prefix.clone()) {
            continue;
        }
        let path = selection.root.join(&prefix);
        let meta = std::fs::symlink_metadata(&path)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        builder.append_data(&mut header, format!("{prefix}/"), io::empty())?;
    }
    Ok(())
}

/// Reads an archive back: the path, size and CRC-32 of every file in it.
fn read_back(path: &Path) -> Result<Vec<Fingerprint>> {
    let file = File::open(path).context("cannot reopen the archive to verify it")?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut found = Vec::new();
    for entry in archive.entries().context("the archive does not read back")? {
        let mut entry = entry.context("the archive does not read back")?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut hasher = crc32fast::Hasher::new();
        let mut size = 0u64;
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        found.push(Fingerprint { path, size, crc: hasher.finalize() });
    }
    found.sort();
    Ok(found)
}

/// A reader that hashes what it reads and advances the progress bar.
struct Crc<'a, R> {
    inner: R,
    crc: crc32fast::Hasher,
    bar: &'a ProgressBar,
}

impl<R: Read> Read for Crc<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.bar.inc(n as u64);
        Ok(n)
    }
}
