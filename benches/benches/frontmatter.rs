//! Spec files: parse of a routine (vs gray_matter with its YAML engine, deserialised into the same
//! struct), render of a routine (floor: a `format!` of the same bytes), the first listing of a
//! directory of 10,000 specs, and a repeated listing of that unchanged directory (beside the first
//! load, to show what the listing cache saves, and the floor of a listing that notices in-place
//! edits: one `readdir` pass and one `stat` per entry).
//!
//! `DOTDIR_BENCH_SPECS` sets the number of spec files (default 10,000; the group names keep the
//! default's name).

use std::{hint::black_box, path::Path, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use dotdir_frontmatter::{SpecDir, SpecFile, parse, render};
use gray_matter::{Matter, engine::YAML};
use serde::{Deserialize, Serialize};

/// ollim-bot's routine, as the facade declares it (kebab-case keys, defaults omitted on write).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Routine {
    id: String,
    #[serde(default)]
    message: String,
    cron: String,
    #[serde(default)]
    background: bool,
    #[serde(default)]
    model: Option<String>,
    #[serde(default = "yes")]
    thinking: bool,
    #[serde(default)]
    isolated: bool,
    #[serde(default)]
    description: String,
    #[serde(default = "on_ping")]
    update_main_session: String,
    #[serde(default = "yes")]
    allow_ping: bool,
    #[serde(default)]
    allowed_tools: Option<Vec<String>>,
    #[serde(default)]
    skills: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

fn on_ping() -> String {
    "on_ping".to_owned()
}

impl Default for Routine {
    fn default() -> Self {
        Self {
            id: String::new(),
            message: String::new(),
            cron: String::new(),
            background: false,
            model: None,
            thinking: true,
            isolated: false,
            description: String::new(),
            update_main_session: on_ping(),
            allow_ping: true,
            allowed_tools: None,
            skills: None,
        }
    }
}

impl dotdir_frontmatter::Spec for Routine {
    fn id(&self) -> &str {
        &self.id
    }
}

/// A background routine like the fixture `typical/routines/email-triage.md`, with a longer body.
fn routine(n: usize) -> Routine {
    Routine {
        id: format!("{:08x}", n.wrapping_mul(0x9e37_79b9) as u32),
        message: format!(
            "Email triage {n}\n\nCheck the inbox, label what needs an answer today and draft \
             replies for the three most urgent threads."
        ),
        cron: "0 */2 * * *".to_owned(),
        background: true,
        model: Some("haiku".to_owned()),
        thinking: false,
        isolated: true,
        description: "Triage email every two hours".to_owned(),
        update_main_session: "always".to_owned(),
        allow_ping: false,
        allowed_tools: Some(vec!["Bash(ollim-bot gmail *)".to_owned(), "WebFetch".to_owned()]),
        skills: Some(vec!["email-triage".to_owned()]),
    }
}

/// The bytes `render` produces for [`routine`], written out by hand: the floor of rendering.
fn format_routine(r: &Routine) -> String {
    let list = |items: &[String]| -> String {
        items.iter().map(|item| format!("  - \"{item}\"\n")).collect()
    };
    format!(
        "---\nid: \"{}\"\ncron: \"{}\"\nbackground: {}\nmodel: \"{}\"\nthinking: {}\n\
         isolated: {}\ndescription: \"{}\"\nupdate-main-session: \"{}\"\nallow-ping: {}\n\
         allowed-tools:\n{}skills:\n{}---\n{}\n",
        r.id,
        r.cron,
        r.background,
        r.model.as_deref().unwrap_or_default(),
        r.thinking,
        r.isolated,
        r.description,
        r.update_main_session,
        r.allow_ping,
        list(r.allowed_tools.as_deref().unwrap_or_default()),
        list(r.skills.as_deref().unwrap_or_default()),
        r.message,
    )
}

fn parse_and_render(c: &mut Criterion) {
    let routine = routine(7);
    let file = SpecFile::new(routine.clone());
    let text = render(&file).expect("render");
    assert_eq!(text, format_routine(&routine), "the floor writes the same bytes");
    assert_eq!(parse::<Routine>(text.as_bytes()).expect("parse").spec, routine);

    let matter = Matter::<YAML>::new();
    let gray = |text: &str| -> Routine {
        let parsed = matter.parse::<Routine>(text).expect("gray_matter parse");
        let mut routine = parsed.data.expect("front matter");
        routine.message = parsed.content;
        routine
    };
    assert_eq!(gray(&text), routine, "the peer reads the same routine");

    let mut group =
        dotdir_benches::group(c, "frontmatter_parse_routine", Duration::from_secs(3), 100);
    group.bench_function("ours", |b| {
        b.iter(|| parse::<Routine>(black_box(text.as_bytes())).expect("parse"))
    });
    group.bench_function("peer:gray_matter", |b| b.iter(|| gray(black_box(&text))));
    group.finish();

    let mut group =
        dotdir_benches::group(c, "frontmatter_write_routine", Duration::from_secs(3), 100);
    group.bench_function("ours", |b| b.iter(|| render(black_box(&file)).expect("render")));
    group.bench_function("floor", |b| b.iter(|| format_routine(black_box(&routine))));
    group.finish();
}

/// Writes `count` routine files (plain writes: this is set-up, not the thing measured).
fn populate(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir).expect("create dir");
    for n in 0..count {
        let text = render(&SpecFile::new(routine(n))).expect("render");
        std::fs::write(dir.join(format!("email-triage-{n}.md")), text).expect("write");
    }
    // The listing cache trusts a file only once its times are older than their granularity
    // (20 ms here): let the last files settle, as they would in a directory polled every 10 s.
    std::thread::sleep(Duration::from_millis(100));
}

fn spec_dir(c: &mut Criterion) {
    let count = std::env::var("DOTDIR_BENCH_SPECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000usize);
    let temp = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
    let dir = temp.path().join("routines");
    populate(&dir, count);

    let first_load = || {
        let specs = SpecDir::<Routine>::new(&dir);
        let listing = specs.list().expect("list");
        assert_eq!(listing.entries.len(), count);
        assert!(listing.problems.is_empty());
        listing
    };

    let mut group = dotdir_benches::group(c, "spec_dir_load_10000", Duration::from_secs(5), 10);
    group.bench_function("ours", |b| b.iter(first_load));
    group.finish();

    let specs = SpecDir::<Routine>::new(&dir);
    assert_eq!(specs.list().expect("list").entries.len(), count);
    let read_before = specs.files_read();
    let mut group = dotdir_benches::group(c, "spec_dir_relist_10000", Duration::from_secs(3), 10);
    group.bench_function("ours", |b| b.iter(|| specs.list().expect("list")));
    assert_eq!(specs.files_read(), read_before, "a repeated listing read no file");
    group.bench_function("peer:first-load", |b| b.iter(first_load));
    // What any listing that notices an in-place edit must do: read the directory and stat each
    // entry (here through the directory handle, as `DirEntry::metadata` does).
    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut stats = 0usize;
            for entry in std::fs::read_dir(&dir).expect("read_dir") {
                let entry = entry.expect("entry");
                black_box(entry.metadata().expect("stat"));
                stats += 1;
            }
            assert_eq!(stats, count);
        })
    });
    group.finish();
}

criterion_group!(benches, parse_and_render, spec_dir);
criterion_main!(benches);
