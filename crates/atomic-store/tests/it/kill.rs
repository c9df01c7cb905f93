//! A child rewrites a document in a loop and is SIGKILLed at random moments: after every kill the
//! document parses, is a version that was written, and the next open sweeps the leftover temp.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::Stdio,
    time::Duration,
};

use dotdir_atomic_store::{Document, JsonStyle, find_temps};
use serde::{Deserialize, Serialize};

use crate::{child, child_role, scale};

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Versioned {
    version: u64,
    padding: String,
}

fn document(path: &Path) -> Document<Versioned> {
    Document::new(path).style(JsonStyle::Python)
}

#[test]
fn sigkill_never_tears_the_document() {
    if let Some(role) = child_role() {
        assert_eq!(role, "rewriter");
        let path = std::env::var("DOTDIR_DOC").unwrap();
        let doc = document(Path::new(&path));
        let start = doc.read().unwrap().map_or(0, |v| v.version);
        for version in start + 1.. {
            // ~20 KB, like the state files of the reliability study.
            let padding = char::from(b'a' + (version % 26) as u8).to_string().repeat(20_000);
            let _ = doc.write(&Versioned { version, padding }).unwrap();
            println!("ACK {version}");
        }
        return;
    }
    let kills = scale(200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut highest_acknowledged = 0;
    let mut temps_seen = 0;
    for _ in 0..kills {
        let mut process = child("kill::sigkill_never_tears_the_document", "rewriter")
            .env("DOTDIR_DOC", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = process.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last = 0;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest's own "test … ... " header may share the first line.
                if let Some((_, v)) = line.rsplit_once("ACK ") {
                    last = v.parse().unwrap();
                }
            }
            last
        });
        std::thread::sleep(Duration::from_micros(fastrand_delay()));
        process.kill().unwrap();
        let _ = process.wait();
        let acknowledged: u64 = reader.join().unwrap();
        highest_acknowledged = highest_acknowledged.max(acknowledged);

        temps_seen += find_temps(dir.path(), None).unwrap().len();
        let reopened = Document::<Versioned>::open(&path).unwrap().style(JsonStyle::Python);
        assert!(find_temps(dir.path(), None).unwrap().is_empty(), "open left a temp file behind");
        if let Some(current) = reopened.read().expect("the document parses after a kill") {
            assert!(
                current.version >= highest_acknowledged,
                "acknowledged version {highest_acknowledged} lost"
            );
            assert!(current.version <= highest_acknowledged + 1, "a version nobody wrote");
            let expected =
                char::from(b'a' + (current.version % 26) as u8).to_string().repeat(20_000);
            assert_eq!(current.padding, expected, "content of version {} is torn", current.version);
            highest_acknowledged = current.version;
        }
    }
    println!("{kills} kills, last version {highest_acknowledged}, temp files swept: {temps_seen}");
    assert!(highest_acknowledged > 0, "the child never wrote: the test exercised nothing");
}

fn fastrand_delay() -> u64 {
    // Long enough for the child to start and write a few versions, short enough to land mid-write.
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    5_000 + u64::from(seed % 40_000)
}
