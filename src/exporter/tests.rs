//! Exporter tests: an image made from a real layer tar, written as an OCI
//! archive, an OCI directory and a Docker archive, then read back by the
//! tools users have (skopeo, umoci) and by the `tar` crate.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use fs_err as fs;
use serde_json::{Value, json};

use super::*;
use crate::frontend::Source;
use crate::frontend::lower::{LowerOptions, lower};
use crate::image::config::{ConfigInputs, build_config, creation_time};
use crate::image::history::history_entry;
use crate::image::{Compression, CompressionKind, LayerBlob, compress_layers};

const EPOCH: u64 = 1_700_000_000;

/// A tool from the outside, or `None` (with a note) when it is missing;
/// `XB_TEST_STRICT=1` turns the skip into a failure.
fn tool(name: &str) -> Option<Command> {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()));
    if found {
        return Some(Command::new(name));
    }
    assert!(
        std::env::var_os("XB_TEST_STRICT").is_none(),
        "{name} is required (XB_TEST_STRICT is set)"
    );
    eprintln!("skipped: {name} is not installed");
    None
}

fn run(mut command: Command) -> String {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("tools print UTF-8")
}

fn json_of(command: Command) -> Value {
    serde_json::from_str(&run(command)).expect("the tool prints JSON")
}

/// A small root filesystem layer: a directory, a file, an executable, a
/// symlink and a file owned by 1000.
fn layer_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add =
        |path: &str, kind: tar::EntryType, mode: u32, uid: u64, body: &[u8], link: Option<&str>| {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_uid(uid);
            header.set_gid(uid);
            header.set_mtime(EPOCH);
            header.set_size(body.len() as u64);
            if let Some(link) = link {
                header.set_link_name(link).unwrap();
            }
            header.set_path(path).unwrap();
            header.set_cksum();
            builder.append(&header, body).unwrap();
        };
    add("app/", tar::EntryType::Directory, 0o755, 0, b"", None);
    add(
        "app/hello.txt",
        tar::EntryType::Regular,
        0o644,
        0,
        b"hello from xb\n",
        None,
    );
    add(
        "app/run.sh",
        tar::EntryType::Regular,
        0o755,
        0,
        b"#!/bin/sh\necho hi\n",
        None,
    );
    add(
        "app/owned",
        tar::EntryType::Regular,
        0o600,
        1000,
        b"mine\n",
        None,
    );
    add(
        "app/link",
        tar::EntryType::Symlink,
        0o777,
        0,
        b"",
        Some("hello.txt"),
    );
    builder.into_inner().unwrap()
}

const DOCKERFILE: &str = "FROM scratch
ENV A=1 B=two
COPY . /app
EXPOSE 80 53/udp
LABEL org.example.team=build version=1
USER 1000:1000
WORKDIR /app
CMD [\"serve\"]
ENTRYPOINT [\"/app/run.sh\"]
";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    image: ExportImage,
}

fn fixture(compression: CompressionKind, oci: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let platform: crate::graph::Platform = "linux/amd64".parse().unwrap();
    let tar = layer_tar();
    let open = move || -> io::Result<Box<dyn Read>> { Ok(Box::new(Cursor::new(layer_tar()))) };
    let layers = compress_layers(
        &[LayerBlob {
            diff_id: Digest::of(&tar),
            compressed: Vec::new(),
            open_uncompressed: &open,
        }],
        Compression {
            kind: compression,
            level: None,
        },
        false,
        &root.join("store"),
    )
    .unwrap();
    let options = LowerOptions {
        target: None,
        build_args: Vec::new(),
        target_platform: platform.clone(),
        build_platform: platform.clone(),
    };
    let plan = lower(&Source::new("Dockerfile", DOCKERFILE), &options).unwrap();
    let stage = plan.target_stage();
    let inputs = ConfigInputs {
        platform: &platform,
        created: creation_time(Some(EPOCH)),
        history: stage.steps.iter().filter_map(history_entry).collect(),
        new_diff_ids: vec![Digest::of(&tar)],
    };
    let config = build_config(None, &stage.config, &inputs).unwrap();
    let mut annotations = crate::image::Annotations::default();
    if oci {
        annotations.manifest.insert(
            "org.opencontainers.image.title".to_owned(),
            "xb test".to_owned(),
        );
        annotations
            .index
            .insert("org.example.index".to_owned(), "yes".to_owned());
    }
    let image = ExportImage {
        config,
        layers,
        platform,
        names: vec!["xb-test:latest".to_owned()],
        annotations,
        oci_mediatypes: oci,
        created: creation_time(Some(EPOCH)),
    };
    Fixture {
        _dir: dir,
        root,
        image,
    }
}

fn skopeo(args: &[&str]) -> Option<Command> {
    let mut command = tool("skopeo")?;
    command.arg("--insecure-policy").args(args);
    Some(command)
}

fn arg(path: &Path, transport: &str) -> String {
    format!("{transport}:{}", path.display())
}

/// The config fields a user checks, as skopeo shows them.
fn check_config(config: &Value) {
    let inner = &config["config"];
    assert_eq!(
        inner["Env"],
        json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "A=1",
            "B=two"
        ])
    );
    assert_eq!(inner["Entrypoint"], json!(["/app/run.sh"]));
    // CMD set in the same stage survives a later ENTRYPOINT (BuildKit's rule).
    assert_eq!(inner["Cmd"], json!(["serve"]));
    assert_eq!(inner["ExposedPorts"], json!({"53/udp": {}, "80/tcp": {}}));
    assert_eq!(
        inner["Labels"],
        json!({"org.example.team": "build", "version": "1"})
    );
    assert_eq!(inner["User"], "1000:1000");
    assert_eq!(inner["WorkingDir"], "/app");
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    assert_eq!(config["architecture"], "amd64");
}

#[test]
fn oci_archive_reads_back_with_skopeo_and_is_stable() {
    let fixture = fixture(CompressionKind::Gzip, true);
    let first = fixture.root.join("first.tar");
    let second = fixture.root.join("second.tar");
    let result = export_oci(&fixture.image, &first, true).unwrap();
    export_oci(&fixture.image, &second, true).unwrap();
    assert_eq!(
        fs::read(&first).unwrap(),
        fs::read(&second).unwrap(),
        "two exports differ"
    );
    let leftovers: Vec<_> = fs::read_dir(&fixture.root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The archive itself: sorted entries, fixed times.
    let mut archive = tar::Archive::new(fs::File::open(&first).unwrap());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            assert_eq!(entry.header().mtime().unwrap(), 0);
            entry.path().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&"oci-layout".to_owned()));

    let Some(inspect) = skopeo(&["inspect", &arg(&first, "oci-archive")]) else {
        return;
    };
    let shown = json_of(inspect);
    assert_eq!(shown["Digest"], result.manifest.digest.to_string());
    assert_eq!(shown["Labels"]["version"], "1");
    let config = json_of(skopeo(&["inspect", "--config", &arg(&first, "oci-archive")]).unwrap());
    check_config(&config);
    let manifest = json_of(skopeo(&["inspect", "--raw", &arg(&first, "oci-archive")]).unwrap());
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "xb test"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        crate::image::media_type::OCI_LAYER_GZIP
    );
}

#[test]
fn oci_directory_unpacks_with_umoci() {
    let fixture = fixture(CompressionKind::Gzip, true);
    let layout = fixture.root.join("layout");
    let result = export_oci(&fixture.image, &layout, false).unwrap();
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entry = &index["manifests"][0];
    assert_eq!(entry["digest"], result.manifest.digest.to_string());
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    assert_eq!(
        entry["annotations"]["io.containerd.image.name"],
        "docker.io/library/xb-test:latest"
    );
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(index["annotations"]["org.example.index"], "yes");
    // A second export replaces the layout whole.
    export_oci(&fixture.image, &layout, false).unwrap();

    if let Some(inspect) = skopeo(&[
        "inspect",
        "--config",
        &format!("oci:{}:latest", layout.display()),
    ]) {
        check_config(&json_of(inspect));
    }
    let Some(mut umoci) = tool("umoci") else {
        return;
    };
    let bundle = fixture.root.join("bundle");
    umoci
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:latest", layout.display()))
        .arg(&bundle);
    run(umoci);
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs::read_to_string(rootfs.join("app/hello.txt")).unwrap(),
        "hello from xb\n"
    );
    assert_eq!(
        fs::read_link(rootfs.join("app/link")).unwrap(),
        Path::new("hello.txt")
    );
    let mode = fs::metadata(rootfs.join("app/run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let spec: Value =
        serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["process"]["args"], json!(["/app/run.sh", "serve"]));
    assert_eq!(spec["process"]["cwd"], "/app");
}

#[test]
fn docker_archive_reads_back_with_skopeo() {
    let fixture = fixture(CompressionKind::Gzip, false);
    let archive = fixture.root.join("docker.tar");
    let result = export_docker(&fixture.image, &archive, true).unwrap();
    let mut manifest_json = None;
    let mut tar = tar::Archive::new(fs::File::open(&archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap() == Path::new("manifest.json") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            manifest_json = Some(serde_json::from_str::<Value>(&text).unwrap());
        }
    }
    let manifest_json = manifest_json.expect("a docker archive has manifest.json");
    assert_eq!(
        manifest_json,
        json!([{
            "Config": format!("blobs/sha256/{}", result.config.digest.hex()),
            "RepoTags": ["xb-test:latest"],
            "Layers": [format!("blobs/sha256/{}", fixture.image.layers[0].digest.hex())],
        }])
    );
    let Some(inspect) = skopeo(&["inspect", "--config", &arg(&archive, "docker-archive")]) else {
        return;
    };
    check_config(&json_of(inspect));
    let raw = json_of(skopeo(&["inspect", "--raw", &arg(&archive, "docker-archive")]).unwrap());
    assert_eq!(raw["config"]["digest"], result.config.digest.to_string());
}

#[test]
fn docker_archive_refuses_zstd_layers() {
    let fixture = fixture(CompressionKind::Zstd, true);
    let archive = fixture.root.join("docker.tar");
    let error = export_docker(&fixture.image, &archive, true).unwrap_err();
    assert!(matches!(error, Error::DockerLayer { .. }), "{error}");
    assert!(!archive.exists());
}

#[test]
fn zstd_and_uncompressed_layers_copy_out_with_skopeo() {
    for kind in [CompressionKind::Zstd, CompressionKind::Uncompressed] {
        let fixture = fixture(kind, true);
        let archive = fixture.root.join("image.tar");
        export_oci(&fixture.image, &archive, true).unwrap();
        let copied = fixture.root.join("copied");
        let Some(copy) = skopeo(&["copy", &arg(&archive, "oci-archive"), &arg(&copied, "dir")])
        else {
            return;
        };
        run(copy);
        let layer = &fixture.image.layers[0];
        let bytes = fs::read(copied.join(layer.digest.hex())).unwrap();
        assert_eq!(Digest::of(&bytes), layer.digest, "{kind:?}");
        let raw = json_of(skopeo(&["inspect", "--raw", &arg(&archive, "oci-archive")]).unwrap());
        assert_eq!(
            raw["layers"][0]["mediaType"],
            crate::image::media_type::layer(kind, true),
        );
    }
}

#[test]
fn a_corrupt_store_blob_fails_and_writes_nothing() {
    let fixture = fixture(CompressionKind::Gzip, true);
    let layer = &fixture.image.layers[0];
    let mut bytes = fs::read(&layer.path).unwrap();
    bytes[20] ^= 0xff;
    let corrupt = fixture.root.join("corrupt-blob");
    fs::write(&corrupt, &bytes).unwrap();
    let mut image = fixture.image.clone();
    image.layers[0].path = corrupt;
    let dest = fixture.root.join("out.tar");
    let error = export_oci(&image, &dest, true).unwrap_err();
    assert!(matches!(error, Error::BlobMismatch { .. }), "{error}");
    assert!(!dest.exists());
    let directory = fixture.root.join("out");
    assert!(export_oci(&image, &directory, false).is_err());
    assert!(!directory.exists());
}

#[test]
fn oci_directory_refuses_to_replace_a_foreign_directory() {
    let fixture = fixture(CompressionKind::Gzip, true);
    let dest = fixture.root.join("mine");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("notes.txt"), b"keep me").unwrap();
    let error = export_oci(&fixture.image, &dest, false).unwrap_err();
    assert!(
        matches!(error, Error::DestinationNotLayout { .. }),
        "{error}"
    );
    assert_eq!(fs::read(dest.join("notes.txt")).unwrap(), b"keep me");
}

fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(Cursor::new({
        let mut bytes = Vec::new();
        write_directory_tar(root, &mut bytes, Some(EPOCH)).unwrap();
        bytes
    }));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut body = String::new();
        entry.read_to_string(&mut body).unwrap();
        let header = entry.header();
        out.insert(
            entry.path().unwrap().to_string_lossy().into_owned(),
            format!(
                "{:?} {:o} {body}",
                header.entry_type(),
                header.mode().unwrap()
            ),
        );
    }
    out
}

#[test]
fn local_and_tar_outputs_hold_the_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let produce = |out: &mut dyn std::io::Write| out.write_all(&layer_tar());
    let rootfs = Rootfs::Tar(&produce);

    let local = dir.path().join("local");
    export_local(&rootfs, &local).unwrap();
    assert_eq!(
        fs::read_to_string(local.join("app/hello.txt")).unwrap(),
        "hello from xb\n"
    );
    assert_eq!(
        fs::read_link(local.join("app/link")).unwrap(),
        Path::new("hello.txt")
    );

    let tar_path = dir.path().join("fs.tar");
    export_tar(&rootfs, &tar_path, None).unwrap();
    assert_eq!(fs::read(&tar_path).unwrap(), layer_tar());

    // A directory source: the same tree, sorted, and stable.
    let from_directory = dir.path().join("from-dir.tar");
    export_tar(&Rootfs::Directory(&local), &from_directory, Some(EPOCH)).unwrap();
    let again = dir.path().join("again.tar");
    export_tar(&Rootfs::Directory(&local), &again, Some(EPOCH)).unwrap();
    assert_eq!(
        fs::read(&from_directory).unwrap(),
        fs::read(&again).unwrap()
    );
    let listing = tree(&local);
    assert_eq!(
        listing.keys().collect::<Vec<_>>(),
        [
            "app",
            "app/hello.txt",
            "app/link",
            "app/owned",
            "app/run.sh"
        ]
    );
    assert_eq!(listing["app/run.sh"], "Regular 755 #!/bin/sh\necho hi\n");

    // Written into an existing directory, as buildx does.
    let copy = dir.path().join("copy");
    fs::create_dir(&copy).unwrap();
    fs::write(copy.join("other"), b"x").unwrap();
    export_local(&Rootfs::Directory(&local), &copy).unwrap();
    assert!(copy.join("other").exists());
    assert_eq!(
        fs::read_to_string(copy.join("app/hello.txt")).unwrap(),
        "hello from xb\n"
    );
}

#[test]
fn a_failing_producer_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let produce = |out: &mut dyn std::io::Write| {
        out.write_all(&layer_tar()[..1024])?;
        Err(std::io::Error::other("snapshot vanished"))
    };
    let rootfs = Rootfs::Tar(&produce);
    let dest = dir.path().join("fs.tar");
    assert!(matches!(
        export_tar(&rootfs, &dest, None),
        Err(Error::ProduceRootfs(_))
    ));
    let local = dir.path().join("local");
    assert!(export_local(&rootfs, &local).is_err());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
