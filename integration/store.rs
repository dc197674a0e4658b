//! `xb du` and `xb prune` on stores laid out by hand in the on-disk format
//! (`blobs/sha256/<hex>`, `index/<hex>.json`, `refs/<ns>/<hex>.json`), since
//! no command fills a store yet. Last use is a file's mtime.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::Digest as _;

use crate::common::TestContext;

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Sets a file's last use to `hours` ago.
fn age(path: &Path, hours: u64) {
    let time = SystemTime::now() - Duration::from_secs(hours * 3600);
    fs_err::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(time)
        .expect("set mtime");
}

/// A store written the way xb writes one.
struct HandMadeStore {
    root: PathBuf,
}

impl HandMadeStore {
    fn new(root: PathBuf) -> Self {
        for dir in ["blobs/sha256", "index", "refs/image-tag"] {
            fs_err::create_dir_all(root.join(dir)).expect("create layout");
        }
        fs_err::write(root.join("version"), "1\n").expect("write version");
        Self { root }
    }

    fn blob(&self, content: &[u8], hours: u64) -> String {
        let hex = sha256(content);
        let path = self.root.join("blobs/sha256").join(&hex);
        fs_err::write(&path, content).expect("write blob");
        age(&path, hours);
        format!("sha256:{hex}")
    }

    fn record(&self, key: &str, blobs: &[&str], hours: u64) -> String {
        let hex = sha256(key.as_bytes());
        let path = self.root.join("index").join(format!("{hex}.json"));
        let text = serde_json::json!({ "blobs": blobs, "record": { "key": key } }).to_string();
        fs_err::write(&path, text).expect("write record");
        age(&path, hours);
        format!("sha256:{hex}")
    }

    fn reference(&self, name: &str, digest: &str, hours: u64) {
        let path = self
            .root
            .join("refs/image-tag")
            .join(format!("{}.json", sha256(name.as_bytes())));
        let text = serde_json::json!({ "name": name, "digest": digest }).to_string();
        fs_err::write(&path, text).expect("write ref");
        age(&path, hours);
    }

    fn has_blob(&self, digest: &str) -> bool {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.root.join("blobs/sha256").join(hex).exists()
    }
}

#[test]
fn du_of_a_missing_store_is_empty_and_creates_nothing() {
    let context = TestContext::new();
    let run = context.run(&["du"]);
    run.assert_success();
    insta::assert_snapshot!(run.stdout, @r"
    KIND     ENTRIES  SIZE
    blobs    0        0B
    records  0        0B
    refs     0        0B
    temp     0        0B
    Total:	0B
    ");
    assert!(!context.path().join(".local/share/xb").exists());
}

#[test]
fn du_counts_each_kind_and_lists_entries_when_verbose() {
    let context = TestContext::new();
    let store = HandMadeStore::new(context.path().join("store"));
    let layer = store.blob(&[1u8; 2000], 1);
    let manifest = store.blob(&[2u8; 500], 1);
    let key = store.record("COPY a /a", &[&layer], 1);
    store.reference("docker.io/library/busybox:latest", &manifest, 1);
    fs_err::create_dir_all(store.root.join("snapshots/1")).expect("create area");
    fs_err::write(store.root.join("snapshots/1/file"), [0u8; 3000]).expect("write");

    let run = context.run(&["du", "--root", "store"]);
    run.assert_success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[1], "blobs      2        2.5kB", "{}", run.stdout);
    assert!(lines[2].starts_with("records    1"), "{}", run.stdout);
    assert!(lines[3].starts_with("refs       1"), "{}", run.stdout);
    assert_eq!(lines[4], "snapshots  1        3kB", "{}", run.stdout);
    assert!(lines[6].starts_with("Total:\t5."), "{}", run.stdout);

    let run = context
        .command()
        .args(["du", "--verbose"])
        .env("XB_ROOT", &store.root)
        .output()
        .expect("xb runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("ID:\t\t{key}\nKind:\t\trecord\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "ID:\t\t{layer}\nKind:\t\tblob\nSize:\t\t2kB\nLast used:\t1 hour ago\nUsers:\t\t1\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("ID:\t\timage-tag/docker.io/library/busybox:latest\n"),
        "{stdout}"
    );
}

#[test]
fn prune_removes_old_entries_and_keeps_tags_without_all() {
    let context = TestContext::new();
    let store = HandMadeStore::new(context.path().join("store"));
    let old_layer = store.blob(&[1u8; 1000], 48);
    let new_layer = store.blob(&[2u8; 1000], 1);
    let orphan = store.blob(&[3u8; 1000], 48);
    let manifest = store.blob(&[4u8; 100], 48);
    store.record("old", &[&old_layer], 48);
    let new_key = store.record("new", &[&new_layer], 1);
    store.reference("busybox:latest", &manifest, 48);
    let root = store.root.to_str().expect("utf-8 path");

    // Without --force and with nobody to say yes, nothing happens.
    let run = context.run(&["prune", "--root", root]);
    run.assert_exit(1);
    assert!(
        run.stderr
            .contains("WARNING! This will remove all dangling build cache"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("prune cancelled"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: pass --force"), "{}", run.stderr);
    assert!(store.has_blob(&old_layer));

    let run = context.run(&["prune", "--root", root, "--filter", "until=24h", "-f"]);
    run.assert_success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[1].starts_with("records    1"), "{}", run.stdout);
    assert_eq!(lines[2], "blobs      2        2kB", "{}", run.stdout);
    assert_eq!(lines[3], "refs       0        0B", "{}", run.stdout);
    assert_eq!(lines[4], "snapshots  0        0B", "{}", run.stdout);
    assert!(
        lines[5].starts_with("Total:  reclaimed 2."),
        "{}",
        run.stdout
    );
    assert!(!store.has_blob(&old_layer) && !store.has_blob(&orphan));
    assert!(store.has_blob(&new_layer) && store.has_blob(&manifest));
    let new_record = store
        .root
        .join("index")
        .join(format!("{}.json", &new_key[7..]));
    assert!(new_record.exists());

    let run = context.run(&["prune", "--root", root, "--all", "--force"]);
    run.assert_success();
    assert!(run.stdout.contains("refs          1"), "{}", run.stdout);
    assert!(run.stdout.contains("cache-mounts  0"), "{}", run.stdout);
    let run = context.run(&["du", "--root", root]);
    run.assert_success();
    assert!(run.stdout.ends_with("Total:\t0B\n"), "{}", run.stdout);
}

#[test]
fn prune_keep_storage_removes_least_recently_used_first() {
    let context = TestContext::new();
    let store = HandMadeStore::new(context.path().join("store"));
    let oldest = store.blob(&[1u8; 1000], 30);
    let middle = store.blob(&[2u8; 1000], 20);
    let newest = store.blob(&[3u8; 1000], 10);
    let root = store.root.to_str().expect("utf-8 path");
    let run = context.run(&["prune", "--root", root, "--keep-storage", "1.5kB", "-f"]);
    run.assert_success();
    assert!(
        run.stdout.contains("Total:  reclaimed 2kB"),
        "{}",
        run.stdout
    );
    assert!(!store.has_blob(&oldest) && !store.has_blob(&middle));
    assert!(store.has_blob(&newest));
}

#[test]
fn prune_bad_values_are_usage_errors_naming_the_flag() {
    let context = TestContext::new();
    for (args, flag) in [
        (
            vec!["prune", "-f", "--keep-storage", "10XB"],
            "--keep-storage",
        ),
        (vec!["prune", "-f", "--filter", "label=a"], "--filter"),
        (vec!["prune", "-f", "--filter", "until=soon"], "--filter"),
    ] {
        let run = context.run(&args);
        run.assert_exit(2);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn du_refuses_a_store_of_another_format_version() {
    let context = TestContext::new();
    context.write("store/version", "9\n");
    let run = context.run(&["du", "--root", "store"]);
    run.assert_exit(1);
    assert!(
        run.stderr.contains("format version \"9\""),
        "{}",
        run.stderr
    );
}

#[test]
fn prune_all_reclaims_layers_and_builds_still_work() {
    let context = crate::common::TestContext::new();
    context.write("Dockerfile", "FROM scratch\nCOPY f /f\n");
    context.write("f", &"layer bytes ".repeat(100_000));
    let store = context.path().join("store").display().to_string();
    context
        .run(&["build", "--root", &store, "--progress=quiet", "."])
        .assert_success();
    let prune = context.run(&["prune", "--root", &store, "--all", "--force"]);
    prune.assert_success();
    let snapshots = prune
        .stdout
        .lines()
        .find(|line| line.starts_with("snapshots"))
        .unwrap_or_else(|| panic!("no snapshots row:\n{}", prune.stdout));
    let removed: usize = snapshots
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        removed >= 1,
        "the layer was not reclaimed:\n{}",
        prune.stdout
    );
    assert!(snapshots.ends_with("MB"), "{snapshots}");
    let again = context.run(&["build", "--root", &store, "--progress=plain", "."]);
    again.assert_success();
    assert!(
        !again.stderr.contains("CACHED"),
        "nothing is left to hit:\n{}",
        again.stderr
    );
}
