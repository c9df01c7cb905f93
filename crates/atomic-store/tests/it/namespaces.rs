//! A live writer's temporary file is never swept by a process in another pid namespace, in
//! either direction, and is swept once its writer is gone. The writer is `python3` holding the
//! file open under the name dotdir gives it (`.<name>.<pid>@<pid namespace>.<rand>.dotdir-tmp`,
//! its pid as its own namespace counts it); the sweeper is `sweep_temps`, on the host or in a
//! container (`unshare --pid --fork --mount-proc`).

use std::{
    fs,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

/// Creates `<dir>/.state.json.<pid>@<ns>.0badcafe.dotdir-tmp`, prints its name, holds it open
/// until stdin closes.
const WRITER: &str = r#"
import os, sys
ns = os.readlink("/proc/self/ns/pid")[5:-1]
name = f".state.json.{os.getpid()}@{ns}.0badcafe.dotdir-tmp"
f = open(os.path.join(sys.argv[1], name), "wb")
f.write(b"half")
f.flush()
print(name, flush=True)
sys.stdin.read()
"#;

fn writer(dir: &Path, in_container: bool) -> (Child, String) {
    let mut command = match in_container {
        true => {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "python3"]);
            c
        }
        false => Command::new("python3"),
    };
    let mut child = command
        .args(["-c", WRITER])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 and unshare run");
    let mut name = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut name).unwrap();
    (child, name.trim().to_owned())
}

fn stop(mut child: Child) {
    drop(child.stdin.take());
    child.wait().unwrap();
}

#[test]
fn a_writer_in_a_container_keeps_its_temp_from_a_host_sweeper() {
    let dir = tempfile::tempdir().unwrap();
    let (child, name) = writer(dir.path(), true);
    let temps = dotdir_atomic_store::find_temps(dir.path(), None).unwrap();
    assert_eq!(temps.len(), 1, "{name}");
    assert_ne!(temps[0].writer_ns, dotdir_atomic_store::own_pid_namespace(), "{name}");
    assert!(
        temps[0].in_flight(),
        "{name}: the host sees pid {} as another process",
        temps[0].writer_pid
    );
    assert_eq!(
        dotdir_atomic_store::sweep_temps(dir.path(), None).unwrap(),
        Vec::<std::path::PathBuf>::new()
    );
    // A host write into the directory (its first: it sweeps) leaves it alone too.
    let _written =
        dotdir_atomic_store::write(&dir.path().join("other.json"), b"{}", &Default::default())
            .unwrap();
    assert!(dir.path().join(&name).exists(), "swept under a live writer");
    stop(child);
    // Its namespace has ended and nothing holds the file: the host sweeps it.
    let swept = dotdir_atomic_store::sweep_temps(dir.path(), None).unwrap();
    assert_eq!(swept, vec![dir.path().join(&name)]);
}

#[test]
fn a_writer_on_the_host_keeps_its_temp_from_a_sweeper_in_a_container() {
    let dir = tempfile::tempdir().unwrap();
    let (child, name) = writer(dir.path(), false);
    // The sweeper: this test binary run again, in a container of its own, on the one test below.
    let sweep = |dir: &Path| {
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "namespaces::sweep_from_env", "--nocapture"])
            .env("DOTDIR_SWEEP_DIR", dir)
            .output()
            .unwrap()
    };
    let output = sweep(dir.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("swept 0"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(dir.path().join(&name).exists(), "swept under a live writer");
    stop(child);
    // From inside a container the host's processes are out of sight: a dead host writer's file
    // cannot be told from a live one's there, and stays (the host sweeps it).
    assert!(dir.path().join(&name).exists());
    assert_eq!(
        dotdir_atomic_store::sweep_temps(dir.path(), None).unwrap(),
        vec![dir.path().join(&name)]
    );
}

/// The sweeper half of the test above: sweeps `DOTDIR_SWEEP_DIR` when it is set.
#[test]
fn sweep_from_env() {
    let Some(dir) = std::env::var_os("DOTDIR_SWEEP_DIR") else {
        // Run directly, it sweeps a directory of its own with a dead writer's file in it.
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(format!(
            ".x.json.{}@{}.0badcafe.dotdir-tmp",
            u32::MAX - 1,
            dotdir_atomic_store::own_pid_namespace().unwrap()
        ));
        fs::write(&dead, b"x").unwrap();
        assert_eq!(dotdir_atomic_store::sweep_temps(dir.path(), None).unwrap(), vec![dead]);
        return;
    };
    let swept = dotdir_atomic_store::sweep_temps(Path::new(&dir), None).unwrap();
    println!("swept {}", swept.len());
}
