//! What a RUN leaves behind when its build ends badly: a failing step, an
//! interrupted build (SIGINT) and a killed one (SIGKILL) leave no mount and
//! no process, and the next build on the same store succeeds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestContext;
use crate::common::image::busybox_registry;

/// A marker no other process on the machine has on its command line.
fn marker() -> String {
    format!("xb-lifecycle-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}

/// Pids of processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs_err::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let cmdline = fs_err::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(name);
        }
    }
    found
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mounts_mentioning(path: &str) -> Vec<String> {
    fs_err::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|line| line.contains(path))
        .map(str::to_owned)
        .collect()
}

fn end_a_build_with(signal: nix::sys::signal::Signal) {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    let marker = marker();
    let store = context.path().join("store");
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN sh -c 'sleep 300; echo {marker}' & sh -c 'sleep 301; echo {marker}'\n",
            registry.busybox
        ),
    );
    let mut child = context
        .command()
        .args(["build", "--root"])
        .arg(&store)
        .args(["--progress=plain", "-o", "type=oci,dest=out.tar", "."])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xb starts");
    wait_until("the step starts", || processes_with(&marker).len() >= 2);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, signal).expect("signal xb");
    let status = child.wait().expect("xb ends");
    assert!(!status.success());
    wait_until("every step process is gone", || {
        processes_with(&marker).is_empty()
    });
    let store_text = store.display().to_string();
    assert!(mounts_mentioning(&store_text).is_empty(), "mounts remain");
    assert!(!context.path().join("out.tar").exists());

    // The next build on the same store works.
    context.write(
        "Dockerfile",
        &format!("FROM {}\nRUN echo fine > /f\n", registry.busybox),
    );
    let output = Command::new(crate::common::xb_bin())
        .current_dir(context.path())
        .env("HOME", context.path())
        .args(["build", "--root"])
        .arg(&store)
        .args(["-o", "type=oci,dest=next.tar", "."])
        .output()
        .expect("xb runs");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn interrupted_build_leaves_no_process_or_mount() {
    end_a_build_with(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn killed_build_leaves_no_process_or_mount() {
    end_a_build_with(nix::sys::signal::Signal::SIGKILL);
}

#[test]
fn terminated_build_leaves_no_process_or_mount() {
    end_a_build_with(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn failing_step_leaves_no_process_or_mount() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    let marker = marker();
    let store = context.path().join("store");
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN (sleep 300; echo {marker}) & sleep 1; exit 7\n",
            registry.busybox
        ),
    );
    let run = context.run(&[
        "build",
        "--root",
        &store.display().to_string(),
        "-o",
        "type=oci,dest=out.tar",
        ".",
    ]);
    run.assert_exit(1);
    assert!(run.stderr.contains("exit code: 7"), "{}", run.stderr);
    wait_until("the orphan is gone", || processes_with(&marker).is_empty());
    assert!(mounts_mentioning(&store.display().to_string()).is_empty());
}
