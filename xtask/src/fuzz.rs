//! `cargo xtask fuzz [--seconds S] [--target NAME] [--seed N]`: an in-process, coverage-less
//! mutation fuzzer for every parser of the workspace (the toolchain is stable: no libFuzzer).
//!
//! Each target starts from its seeds (`xtask/corpus/<target>/`, plus a few built in) and runs
//! mutated inputs (byte flips, inserts, deletes, splices, repeated chunks, random UTF-8, YAML and
//! JSON tokens) for S seconds. Every input runs under `catch_unwind` and is timed: a panic, a
//! broken property (a target's own assertion) or an input slower than one second is saved to
//! `<target dir>/fuzz-crashes/<target>/` and fails the run. A watchdog aborts the process (after
//! saving the input) when one input runs for more than ten seconds.
//!
//! `cargo xtask fuzz --replay FILE --target NAME` runs one saved input again.

mod targets;

use std::{
    fmt::Write as _,
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

/// What one run of a target on one input found wrong (a broken property).
pub(crate) type Verdict = std::result::Result<(), String>;

/// A prepared target: runs one input.
pub(crate) type Runner = Box<dyn FnMut(&[u8]) -> Verdict>;

/// A fuzz target: its name, built-in seeds and the constructor of its runner (which may create
/// temporary directories that live as long as the runner).
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) seeds: &'static [&'static [u8]],
    pub(crate) make: fn() -> Result<Runner>,
}

/// An input slower than this is a hang.
const HANG: Duration = Duration::from_secs(1);
/// The watchdog gives up on an input after this long.
const WATCHDOG: Duration = Duration::from_secs(10);
/// Inputs grow up to this size.
const MAX_INPUT: usize = 64 * 1024;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Totals {
    pub(crate) inputs: u64,
    pub(crate) crashes: u64,
    pub(crate) hangs: u64,
}

/// `cargo xtask fuzz`'s options.
pub(crate) struct Options {
    /// How long each target runs.
    pub(crate) seconds: f64,
    /// One target only.
    pub(crate) only: Option<String>,
    /// The seed; `None`: `DOTDIR_FUZZ_SEED`, else random.
    pub(crate) seed: Option<u64>,
    /// One saved input to run again.
    pub(crate) replay: Option<PathBuf>,
}

/// `cargo xtask fuzz`.
pub(crate) fn run(options: &Options) -> Result<()> {
    let seed = options.seed.unwrap_or_else(|| {
        std::env::var("DOTDIR_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fastrand::u64(..))
    });
    let all = targets::all();
    let selected: Vec<&Target> = match &options.only {
        Some(name) => {
            let found: Vec<&Target> = all.iter().filter(|t| t.name == name).collect();
            if found.is_empty() {
                let names: Vec<&str> = all.iter().map(|t| t.name).collect();
                bail!("no fuzz target {name}; targets: {}", names.join(", "));
            }
            found
        }
        None => all.iter().collect(),
    };
    if let Some(file) = &options.replay {
        let input = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        for target in selected {
            let mut runner = (target.make)()?;
            let started = Instant::now();
            let outcome = run_one(&mut runner, &input);
            println!("replay {}: {:?} in {:?}", target.name, outcome, started.elapsed());
        }
        return Ok(());
    }
    let totals = fuzz_targets(&selected, options.seconds, seed)?;
    println!("fuzz: {} inputs, {} crashes, {} hangs", totals.inputs, totals.crashes, totals.hangs);
    if totals.crashes > 0 || totals.hangs > 0 {
        bail!(
            "fuzz found {} crashes and {} hangs (inputs in {}; reproduce with --seed {})",
            totals.crashes,
            totals.hangs,
            crash_root().display(),
            seed
        );
    }
    Ok(())
}

/// The state the watchdog thread sees: which target runs which input since when.
type Current = Arc<Mutex<Option<(&'static str, Vec<u8>, Instant)>>>;

fn fuzz_targets(targets: &[&Target], seconds: f64, seed: u64) -> Result<Totals> {
    println!("fuzz: {} targets, {seconds} s each, seed {seed}", targets.len());
    let current: Current = Arc::new(Mutex::new(None));
    let watchdog = {
        let current = Arc::clone(&current);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let guard = current.lock().unwrap_or_else(|e| e.into_inner());
                let Some((name, input, since)) = guard.as_ref() else { continue };
                if *name == "done" {
                    return;
                }
                if since.elapsed() > WATCHDOG {
                    let saved = save_input(name, "hang", input);
                    eprintln!(
                        "fuzz: target {name}: one input ran for more than {WATCHDOG:?}; saved to \
                         {}\n{}",
                        saved.display(),
                        hex_prefix(input)
                    );
                    std::process::exit(3);
                }
            }
        })
    };
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let mut last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some(info.to_string());
    }));
    let mut totals = Totals::default();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut result = Ok(());
    for target in targets {
        match fuzz_target(target, seconds, &mut rng, &current) {
            Ok(t) => {
                totals.inputs += t.inputs;
                totals.crashes += t.crashes;
                totals.hangs += t.hangs;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    panic::set_hook(previous_hook);
    *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(("done", Vec::new(), Instant::now()));
    let _ = watchdog.join();
    result.map(|()| totals)
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn run_one(runner: &mut Runner, input: &[u8]) -> Verdict {
    match panic::catch_unwind(AssertUnwindSafe(|| runner(input))) {
        Ok(verdict) => verdict,
        Err(_) => {
            let message = LAST_PANIC
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_else(|| "panic".to_owned());
            Err(format!("panic: {message}"))
        }
    }
}

fn fuzz_target(
    target: &Target,
    seconds: f64,
    rng: &mut fastrand::Rng,
    current: &Current,
) -> Result<Totals> {
    let mut runner =
        (target.make)().with_context(|| format!("setting up fuzz target {}", target.name))?;
    let mut corpus: Vec<Vec<u8>> = target.seeds.iter().map(|s| s.to_vec()).collect();
    corpus.extend(load_seeds(target.name)?);
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let seeds = corpus.len();
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut slowest = Duration::ZERO;
    let mut index = 0usize;
    let mut reported = std::collections::HashSet::new();
    while index < seeds || started.elapsed() < budget {
        let input = if index < seeds { corpus[index].clone() } else { mutate(rng, &corpus) };
        index += 1;
        *current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((target.name, input.clone(), Instant::now()));
        let began = Instant::now();
        let verdict = run_one(&mut runner, &input);
        let took = began.elapsed();
        slowest = slowest.max(took);
        totals.inputs += 1;
        if let Err(message) = verdict {
            totals.crashes += 1;
            // One report per distinct message first line: a broken property repeats.
            let key = message.lines().next().unwrap_or_default().to_owned();
            let saved = save_input(target.name, "crash", &input);
            if reported.insert(key) {
                eprintln!(
                    "fuzz: target {}: {message}\n  input saved to {}\n{}",
                    target.name,
                    saved.display(),
                    hex_prefix(&input)
                );
            }
            // The runner may be in a bad state after a panic: make a fresh one.
            runner = (target.make)()?;
        } else if took > HANG {
            // A shared machine can stall any process for a second (writeback, a noisy
            // neighbour): an input is a hang only when it is slow every time it runs.
            let replays: Vec<Duration> = (0..3)
                .map(|_| {
                    let began = Instant::now();
                    let _ = run_one(&mut runner, &input);
                    began.elapsed()
                })
                .collect();
            if replays.iter().all(|t| *t > HANG) {
                totals.hangs += 1;
                let saved = save_input(target.name, "slow", &input);
                eprintln!(
                    "fuzz: target {}: one input took {took:?}, then {replays:?} again (> {HANG:?}); \
                     saved to {}\n{}",
                    target.name,
                    saved.display(),
                    hex_prefix(&input)
                );
            } else {
                eprintln!(
                    "fuzz: target {}: one input took {took:?} once, then {replays:?}: a stall of \
                     the machine, not a hang",
                    target.name
                );
            }
        } else if index > seeds && rng.u8(..) < 8 && corpus.len() < 4096 {
            // Keep some mutants as parents: deeper mutations without coverage feedback.
            corpus.push(input);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "fuzz {:<22} {:>8} inputs {:>9.0}/s  slowest {:>7.2} ms  {} crashes  {} hangs",
        target.name,
        totals.inputs,
        totals.inputs as f64 / elapsed.max(1e-9),
        slowest.as_secs_f64() * 1e3,
        totals.crashes,
        totals.hangs
    );
    Ok(totals)
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target)
}

/// Every file under `xtask/corpus/<target>/` (recursively).
fn load_seeds(target: &str) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut pending = vec![corpus_dir(target)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
            }
        }
    }
    Ok(out)
}

fn crash_root() -> PathBuf {
    crate::harness::target_dir().join("fuzz-crashes")
}

fn save_input(target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = crash_root().join(target);
    let path = dir.join(format!("{kind}-{:016x}.bin", fnv1a(input)));
    if let Err(e) = fs::create_dir_all(&dir).and_then(|()| fs::write(&path, input)) {
        eprintln!("fuzz: could not save the input to {}: {e}", path.display());
    }
    path
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The first 128 bytes as a hex dump (16 per line, with ASCII).
pub(crate) fn hex_prefix(input: &[u8]) -> String {
    let mut out = format!("  {} bytes:\n", input.len());
    for (row, chunk) in input.chunks(16).take(8).enumerate() {
        let _ = write!(out, "  {:04x}  ", row * 16);
        for b in chunk {
            let _ = write!(out, "{b:02x} ");
        }
        for _ in chunk.len()..16 {
            out.push_str("   ");
        }
        out.push(' ');
        out.extend(
            chunk.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }),
        );
        out.push('\n');
    }
    out
}

/// Tokens that matter to the parsers: YAML and JSON syntax, delimiters, numbers at the edges,
/// path components the guards care about, invisible and invalid code units.
const TOKENS: &[&[u8]] = &[
    b"---",
    b"---\n",
    b"\n---\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"\t",
    b" ",
    b"\xef\xbb\xbf",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b":",
    b": ",
    b",",
    b"- ",
    b"? ",
    b"&a ",
    b"*a",
    b"&a [*a, *a]",
    b"!!str ",
    b"!!binary ",
    b"!!python/object ",
    b"<<: ",
    b"|",
    b"|-\n  ",
    b">",
    b"#",
    b"%YAML 1.1\n",
    b"...\n",
    b"~",
    b"null",
    b"true",
    b"false",
    b"yes",
    b"no",
    b"on",
    b"NaN",
    b".nan",
    b".inf",
    b"-.inf",
    b"1e999",
    b"-1e999",
    b"-0",
    b"0.1",
    b"1e-400",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"4294967296",
    b"4294967295",
    b"2147483648",
    b"0",
    b"-1",
    b"0x1f",
    b"0o17",
    b"\\u0000",
    b"\\ud800",
    b"\\uDC00",
    b"\\\"",
    b"\\",
    b"\x00",
    b"\xff",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xe2\x80\x8b",
    b"\xe2\x80\x8c",
    b"\xe2\x80\xae",
    b"\xf0\x9f\x98\x80",
    b"\xe2\x84\xaa",
    b"..",
    b"../",
    b"/",
    b"./",
    b"state",
    b"STATE",
    b"St\xe2\x80\x8bate",
    b".git",
    b"GIT~1",
    b"CON",
    b"nul.txt",
    b"id: ",
    b"message: ",
    b"cron: ",
    b"run-at: ",
    b"run_at: ",
    b"description: ",
    b"allowed-tools: ",
    b"\"id\": ",
    b"\"ts\": ",
    b"\"message\": ",
    b"\"capacity\": ",
    b"\"available\": ",
    b"\"last_refill\": ",
    b"\"session_id\": ",
    b"\"event\": ",
    b"\"timestamp\": ",
    b"2026-11-21T10:45:00-08:00",
    b"2026-13-45",
    b"9999-12-31T23:59:59Z",
    b"-999999-01-01",
    b"crc32:",
    b"\"prompt\": ",
];

/// One mutated input built from the corpus.
fn mutate(rng: &mut fastrand::Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = corpus[rng.usize(..corpus.len())].clone();
    let rounds = 1 + rng.usize(..8).min(rng.usize(..8));
    for _ in 0..rounds {
        mutate_once(rng, &mut data, corpus);
        if data.len() > MAX_INPUT {
            data.truncate(MAX_INPUT);
        }
    }
    data
}

fn mutate_once(rng: &mut fastrand::Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = data.len();
    let at = |rng: &mut fastrand::Rng| if len == 0 { 0 } else { rng.usize(..=len) };
    match rng.u8(..12) {
        0 if len > 0 => {
            let i = rng.usize(..len);
            data[i] ^= 1 << rng.u8(..8);
        }
        1 if len > 0 => {
            let i = rng.usize(..len);
            data[i] = rng.u8(..);
        }
        2 => {
            let i = at(rng);
            data.insert(i, rng.u8(..));
        }
        3 if len > 0 => {
            let start = rng.usize(..len);
            let end = (start + 1 + rng.usize(..16.min(len - start))).min(len);
            data.drain(start..end);
        }
        4 | 5 => {
            let token = TOKENS[rng.usize(..TOKENS.len())];
            let i = at(rng);
            data.splice(i..i, token.iter().copied());
        }
        6 if len > 0 => {
            // Repeat a chunk: long lines, deep nesting, many keys.
            let start = rng.usize(..len);
            let end = (start + 1 + rng.usize(..32.min(len - start))).min(len);
            let chunk = data[start..end].to_vec();
            let times = 1 + rng.usize(..64);
            let i = at(rng);
            let repeated: Vec<u8> =
                chunk.iter().copied().cycle().take(chunk.len() * times).collect();
            data.splice(i..i, repeated);
        }
        7 => {
            // Splice in part of another input.
            let other = &corpus[rng.usize(..corpus.len())];
            if !other.is_empty() {
                let start = rng.usize(..other.len());
                let end = start + rng.usize(..=(other.len() - start));
                let i = at(rng);
                data.splice(i..i, other[start..end].iter().copied());
            }
        }
        8 => {
            // Random UTF-8: any scalar value, often outside ASCII.
            let c = loop {
                let v = match rng.u8(..3) {
                    0 => rng.u32(..0x80),
                    1 => rng.u32(0x80..0x1_0000),
                    _ => rng.u32(0x1_0000..0x11_0000),
                };
                if let Some(c) = char::from_u32(v) {
                    break c;
                }
            };
            let mut buf = [0u8; 4];
            let i = at(rng);
            data.splice(i..i, c.encode_utf8(&mut buf).bytes());
        }
        9 if len > 0 => {
            let i = rng.usize(..len);
            data.truncate(i);
        }
        10 if len > 1 => {
            // Swap two ranges' order by moving one chunk elsewhere.
            let start = rng.usize(..len);
            let end = (start + 1 + rng.usize(..16.min(len - start))).min(len);
            let chunk: Vec<u8> = data.drain(start..end).collect();
            let i = rng.usize(..=data.len());
            data.splice(i..i, chunk);
        }
        _ => {
            // An ASCII digit run: numbers at random places.
            let digits = 1 + rng.usize(..24);
            let i = at(rng);
            let run: Vec<u8> = (0..digits).map(|_| b'0' + rng.u8(..10)).collect();
            data.splice(i..i, run);
        }
    }
}
