//! Base images for tests and readers of what xb writes: a busybox image
//! built from Debian's `busybox-static` and pushed with skopeo to a test
//! registry, and the layers of an OCI archive read back with the `tar` crate.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use super::registry::{TestRegistry, strict};
use super::source_root;

/// A registry holding `test/busybox:latest`.
pub(crate) struct BusyboxRegistry {
    pub(crate) registry: TestRegistry,
    /// `127.0.0.1:PORT/test/busybox:latest`.
    pub(crate) busybox: String,
}

fn tool_present(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts a registry and pushes busybox to it; `None` (saying why) where a
/// tool is missing outside strict mode.
#[expect(
    clippy::print_stderr,
    reason = "a skipped test says why on the test's stderr"
)]
pub(crate) fn busybox_registry() -> Option<BusyboxRegistry> {
    if !tool_present("skopeo") || !Path::new("/bin/busybox").exists() {
        let why = "skopeo or /bin/busybox is missing (apt-get install skopeo busybox-static)";
        assert!(!strict(), "{why}");
        eprintln!("skipping: {why}");
        return None;
    }
    let registry = TestRegistry::start()?;
    let layout = tempfile::tempdir().expect("a temporary directory");
    let script = source_root().join("testdata/images/busybox-oci.sh");
    let made = Command::new("bash")
        .arg(&script)
        .arg(layout.path().join("bb"))
        .output()
        .expect("bash runs");
    assert!(
        made.status.success(),
        "busybox-oci.sh failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let busybox = format!("{}/test/busybox:latest", registry.address);
    let pushed = Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", layout.path().join("bb").display()))
        .arg(format!("docker://{busybox}"))
        .output()
        .expect("skopeo runs");
    assert!(
        pushed.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    Some(BusyboxRegistry { registry, busybox })
}

/// One entry of an image's merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FsEntry {
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mode: u32,
    pub(crate) kind: char,
    pub(crate) data: Vec<u8>,
    /// Modification time, seconds since the epoch.
    pub(crate) mtime: u64,
}

fn read_json(blobs: &BTreeMap<String, Vec<u8>>, digest: &str) -> serde_json::Value {
    serde_json::from_slice(&blobs[digest.trim_start_matches("sha256:")]).expect("a JSON blob")
}

/// The blobs (by hex) and the manifest of the single image in an OCI archive.
fn read_archive(archive: &Path) -> (BTreeMap<String, Vec<u8>>, serde_json::Value) {
    let mut blobs = BTreeMap::new();
    let mut index = Vec::new();
    let mut tar = tar::Archive::new(fs_err::File::open(archive).expect("open the archive"));
    for entry in tar.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        let path = entry.path().expect("a path").display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read an entry");
        if path == "index.json" {
            index = data;
        } else if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            blobs.insert(hex.to_owned(), data);
        }
    }
    let index: serde_json::Value = serde_json::from_slice(&index).expect("index.json");
    let manifest = read_json(
        &blobs,
        index["manifests"][0]["digest"]
            .as_str()
            .expect("a manifest"),
    );
    (blobs, manifest)
}

/// The raw image config of the single image in an OCI archive.
pub(crate) fn oci_archive_config(archive: &Path) -> serde_json::Value {
    let (blobs, manifest) = read_archive(archive);
    read_json(
        &blobs,
        manifest["config"]["digest"].as_str().expect("a config"),
    )
}

/// The merged filesystem of the single image in an OCI archive: layers
/// applied in order, whiteouts honoured.
pub(crate) fn oci_archive_filesystem(archive: &Path) -> BTreeMap<String, FsEntry> {
    let (blobs, manifest) = read_archive(archive);
    let mut files: BTreeMap<String, FsEntry> = BTreeMap::new();
    for layer in manifest["layers"].as_array().expect("layers") {
        let bytes = &blobs[layer["digest"]
            .as_str()
            .expect("a digest")
            .trim_start_matches("sha256:")];
        let media_type = layer["mediaType"].as_str().unwrap_or_default();
        let reader: Box<dyn std::io::Read> = if media_type.ends_with("gzip") {
            Box::new(flate2::read::GzDecoder::new(&bytes[..]))
        } else {
            Box::new(&bytes[..])
        };
        let mut layer_tar = tar::Archive::new(reader);
        for entry in layer_tar.entries().expect("a layer tar") {
            let mut entry = entry.expect("a layer entry");
            let path = entry.path().expect("a path").display().to_string();
            let path = format!("/{}", path.trim_start_matches("./").trim_end_matches('/'));
            let name = path.rsplit('/').next().unwrap_or_default().to_owned();
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let parent = path
                    .rsplit_once('/')
                    .map_or("", |(parent, _)| parent)
                    .to_owned();
                if hidden == ".wh..opq" {
                    files.retain(|p, _| !p.starts_with(&format!("{parent}/")));
                } else {
                    let gone = format!("{parent}/{hidden}");
                    files.retain(|p, _| p != &gone && !p.starts_with(&format!("{gone}/")));
                }
                continue;
            }
            let header = entry.header().clone();
            let kind = match header.entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Link => 'h',
                _ => 'f',
            };
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read a file");
            if kind != 'd' {
                // A non-directory replaces a directory and all below it.
                files.retain(|p, _| !p.starts_with(&format!("{path}/")));
            }
            files.insert(
                path,
                FsEntry {
                    uid: header.uid().expect("a uid"),
                    gid: header.gid().expect("a gid"),
                    mode: header.mode().expect("a mode") & 0o7777,
                    kind,
                    data,
                    mtime: header.mtime().expect("an mtime"),
                },
            );
        }
    }
    files
}
