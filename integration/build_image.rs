//! Builds without RUN into real images (issue 3's acceptance): FROM a local
//! registry, COPY from the context and from other stages, every metadata
//! instruction, checked from the outside with skopeo and umoci; caching,
//! reproducible digests, push and pull-back, concurrency, and bad input
//! failing cleanly.

use std::process::Command;

use crate::common::image::{busybox_registry, oci_archive_config, oci_archive_filesystem};
use crate::common::{Run, TestContext};

fn dockerfile(base: &str) -> String {
    format!(
        "\
FROM {base} AS base
COPY --chown=nobody:nogroup app/ /srv/app/
COPY --chmod=0750 tool.sh /usr/local/bin/tool

FROM {base} AS other
COPY app/hello.txt /other.txt

FROM {base} AS unused
COPY missing-on-purpose /nothing

FROM base
COPY --from=other /other.txt /copied.txt
ENV GREETING=hi PATH=/usr/local/bin:/bin
LABEL org.example.kind=test
EXPOSE 8080/tcp
VOLUME /data
WORKDIR /srv
USER nobody
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s CMD [\"true\"]
ENTRYPOINT [\"/bin/sh\", \"-c\"]
CMD [\"cat /srv/app/hello.txt\"]
"
    )
}

fn project(base: &str) -> TestContext {
    let context = TestContext::new();
    context.write("Dockerfile", &dockerfile(base));
    context.write("app/hello.txt", "hello\n");
    context.write("app/notes.tmp", "scratch notes\n");
    context.write(".dockerignore", "app/*.tmp\n");
    context.write("tool.sh", "#!/bin/sh\necho tool\n");
    context
}

fn build(context: &TestContext, extra: &[&str]) -> Run {
    let store = context.path().join("store").display().to_string();
    let mut args = vec!["build", "--root", &store, "--progress=plain"];
    args.extend_from_slice(extra);
    args.push(".");
    context.run(&args)
}

fn metadata_digest(context: &TestContext, file: &str) -> String {
    let text = fs_err::read_to_string(context.path().join(file)).expect("metadata file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("metadata JSON");
    json["containerimage.digest"]
        .as_str()
        .expect("a manifest digest")
        .to_owned()
}

fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs");
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn multistage_build_writes_an_oci_archive_other_tools_read() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = project(&registry.busybox);
    build(&context, &["-t", "app:1", "-o", "type=oci,dest=out.tar"]).assert_success();
    let archive = context.path().join("out.tar");

    let config: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--config",
        &format!("oci-archive:{}", archive.display()),
    ]))
    .expect("config JSON");
    let runtime = &config["config"];
    assert_eq!(runtime["User"], "nobody");
    assert_eq!(runtime["WorkingDir"], "/srv");
    assert_eq!(runtime["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(
        runtime["Cmd"],
        serde_json::json!(["cat /srv/app/hello.txt"])
    );
    assert_eq!(runtime["Labels"]["org.example.kind"], "test");
    assert_eq!(runtime["ExposedPorts"], serde_json::json!({"8080/tcp": {}}));
    assert_eq!(runtime["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(runtime["StopSignal"], "SIGTERM");
    assert!(
        runtime["Env"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("GREETING=hi"))
    );
    // Docker's extensions are not in the OCI schema skopeo parses; read the raw config.
    let raw = oci_archive_config(&archive);
    assert_eq!(
        raw["config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "true"])
    );
    assert_eq!(raw["config"]["Healthcheck"]["Interval"], 5_000_000_000_u64);
    let history = config["history"].as_array().expect("history");
    assert!(
        history.iter().any(|h| h["created_by"]
            .as_str()
            .unwrap_or_default()
            .contains("COPY /other.txt /copied.txt # buildkit")),
        "{history:?}"
    );

    let files = oci_archive_filesystem(&archive);
    let hello = &files["/srv/app/hello.txt"];
    assert_eq!(
        (hello.uid, hello.gid, hello.data.as_slice()),
        (65534, 65534, &b"hello\n"[..])
    );
    assert!(
        !files.contains_key("/srv/app/notes.tmp"),
        ".dockerignore excludes it"
    );
    assert_eq!(files["/usr/local/bin/tool"].mode, 0o750);
    assert_eq!(
        files["/usr/local/bin/tool"].uid, 0,
        "context files belong to root"
    );
    assert_eq!(files["/copied.txt"].data, b"hello\n");
    assert!(
        files.contains_key("/bin/busybox"),
        "the base image's layers are there"
    );

    // umoci unpacks it too (rootless: owners are not restored on disk).
    let layout = context.path().join("layout");
    fs_err::create_dir_all(&layout).unwrap();
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&layout)
        .status()
        .unwrap();
    assert!(untar.success());
    let bundle = context.path().join("bundle");
    let unpack = Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:1", layout.display()))
        .arg(&bundle)
        .output()
        .expect("umoci runs");
    assert!(
        unpack.status.success(),
        "umoci: {}",
        String::from_utf8_lossy(&unpack.stderr)
    );
    assert_eq!(
        fs_err::read_to_string(bundle.join("rootfs/srv/app/hello.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        fs_err::read_to_string(bundle.join("rootfs/copied.txt")).unwrap(),
        "hello\n"
    );
}

#[test]
fn rebuild_is_cached_and_reproducible_across_stores() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = project(&registry.busybox);
    let epoch = ["--metadata-file"];
    let command = |store: &str, meta: &str| {
        let mut cmd = context.command();
        cmd.env("SOURCE_DATE_EPOCH", "1700000000").args([
            "build",
            "--root",
            store,
            "--progress=plain",
            "-o",
            "type=oci,dest=out.tar",
            epoch[0],
            meta,
            ".",
        ]);
        let output = cmd.output().expect("xb runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let first = command("store-a", "a.json");
    assert!(first.contains("DONE"), "{first}");
    let second = command("store-a", "b.json");
    // Every step of the second run is reported CACHED: find each COPY's
    // vertex number in the plain output and its CACHED line.
    let copies: Vec<String> = second
        .lines()
        .filter(|line| line.contains("] COPY"))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(copies.len() >= 4, "expected the COPY steps in:\n{second}");
    for vertex in &copies {
        assert!(
            second
                .lines()
                .any(|line| line == format!("{vertex} CACHED")),
            "{vertex} was not CACHED on the second run:\n{second}"
        );
    }
    // Only the context scan runs again (it is how changes are noticed).
    let context_vertex = second
        .lines()
        .find(|line| line.ends_with("[internal] load build context"))
        .and_then(|line| line.split_whitespace().next())
        .expect("the context is loaded");
    let reran: Vec<&str> = second
        .lines()
        .filter(|line| line.contains(" DONE ") && !line.starts_with(&format!("{context_vertex} ")))
        .collect();
    assert!(reran.is_empty(), "steps ran again: {reran:?}\n{second}");
    let third = command("store-b", "c.json");
    assert!(third.contains("DONE"));
    let a = metadata_digest(&context, "a.json");
    assert_eq!(
        a,
        metadata_digest(&context, "b.json"),
        "same store, same digest"
    );
    assert_eq!(
        a,
        metadata_digest(&context, "c.json"),
        "another store, same digest with SOURCE_DATE_EPOCH"
    );
    // Without SOURCE_DATE_EPOCH too: a fully cached rebuild writes the same image.
    let plain = |meta: &str| {
        let output = context
            .command()
            .args([
                "build",
                "--root",
                "store-d",
                "--progress=quiet",
                "-o",
                "type=oci,dest=out.tar",
                "--metadata-file",
                meta,
                ".",
            ])
            .output()
            .expect("xb runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    plain("d1.json");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    plain("d2.json");
    assert_eq!(
        metadata_digest(&context, "d1.json"),
        metadata_digest(&context, "d2.json"),
        "a cached rebuild without SOURCE_DATE_EPOCH changed the digest"
    );
}

#[test]
fn push_then_pull_back_gives_identical_digests() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = project(&registry.busybox);
    let name = format!("{}/test/app:pushed", registry.registry.address);
    build(
        &context,
        &[
            "-t",
            &name,
            "--push",
            "--metadata-file",
            "meta.json",
            "--iidfile",
            "iid",
        ],
    )
    .assert_success();
    let pushed = metadata_digest(&context, "meta.json");
    let inspected: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{name}"),
    ]))
    .unwrap();
    assert_eq!(inspected["Digest"], pushed.as_str());
    let copy = context.path().join("copy");
    skopeo(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("docker://{name}"),
        &format!("oci:{}:x", copy.display()),
    ]);
    let index = fs_err::read_to_string(copy.join("index.json")).unwrap();
    assert!(index.contains(&pushed), "{index}");
    let iid = fs_err::read_to_string(context.path().join("iid")).unwrap();
    assert!(iid.starts_with("sha256:") && iid.len() == 71, "{iid}");
}

#[test]
fn unused_stage_is_never_resolved_and_stages_run_concurrently() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    let base = &registry.busybox;
    context.write(
        "Dockerfile",
        &format!(
            "FROM {base} AS one\nCOPY a /a\n\nFROM {base} AS two\nCOPY b /b\n\n\
             FROM 127.0.0.1:1/never/pulled:latest AS unused\n\n\
             FROM scratch\nCOPY --from=one /a /a\nCOPY --from=two /b /b\n"
        ),
    );
    // Enough bytes per stage that each COPY takes a while, so the check
    // measures the scheduler rather than luck.
    let big = "x".repeat(16 << 20);
    context.write("a", &big);
    context.write("b", &big);
    let run = build(
        &context,
        &["--progress=rawjson", "-o", "type=oci,dest=out.tar"],
    );
    run.assert_success();
    assert!(
        !run.stderr.contains("never/pulled"),
        "the unused stage was resolved:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("skipped unused stages: unused"),
        "{}",
        run.stderr
    );
    // Both stages' COPY vertices started before either finished.
    let mut spans: Vec<(String, String, String)> = Vec::new();
    for line in run.stderr.lines().filter(|l| l.starts_with('{')) {
        let json: serde_json::Value = serde_json::from_str(line).expect("rawjson lines are JSON");
        for vertex in json["vertexes"].as_array().into_iter().flatten() {
            if let (Some(name), Some(started), Some(completed)) = (
                vertex["name"].as_str(),
                vertex["started"].as_str(),
                vertex["completed"].as_str(),
            ) {
                spans.push((name.to_owned(), started.to_owned(), completed.to_owned()));
            }
        }
    }
    let find = |stage: &str| {
        spans
            .iter()
            .find(|(name, ..)| name.starts_with(&format!("[{stage} 2/2]")))
            .cloned()
            .unwrap_or_else(|| panic!("no completed COPY of {stage} in {spans:?}"))
    };
    let (one, two) = (find("one"), find("two"));
    assert!(
        one.1 <= two.2 && two.1 <= one.2,
        "stages did not overlap: {one:?} {two:?}"
    );
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    // A context symlink that leads outside the context.
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!("FROM {}\nCOPY leak/passwd /x\n", registry.busybox),
    );
    std::os::unix::fs::symlink("/etc", context.path().join("leak")).unwrap();
    let run = build(&context, &["-o", "type=oci,dest=out.tar"]);
    run.assert_exit(1);
    assert!(
        run.stderr.contains("escapes the build context"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Dockerfile:2:"), "{}", run.stderr);
    assert!(!context.path().join("out.tar").exists());

    // A registry that serves a blob with the wrong digest.
    let storage = registry.registry.storage();
    let mut tampered = 0;
    for entry in walk(&storage.join("docker/registry/v2/blobs")) {
        if entry.file_name().is_some_and(|n| n == "data")
            && fs_err::metadata(&entry).unwrap().len() > 10_000
        {
            fs_err::write(&entry, b"not the layer you asked for").unwrap();
            tampered += 1;
        }
    }
    assert!(tampered > 0, "found the layer blob to tamper with");
    let fresh = TestContext::new();
    fresh.write(
        "Dockerfile",
        &format!("FROM {}\nCOPY f /f\n", registry.busybox),
    );
    fresh.write("f", "f");
    let run = build(&fresh, &["-o", "type=oci,dest=out.tar"]);
    run.assert_exit(1);
    assert!(
        run.stderr.contains("sha256:"),
        "the error names the digest:\n{}",
        run.stderr
    );
    assert!(!fresh.path().join("out.tar").exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn four_builds_share_one_store() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = project(&registry.busybox);
    let store = context.path().join("store").display().to_string();
    let children: Vec<_> = (0..4)
        .map(|index| {
            context
                .command()
                .args(["build", "--root", &store, "--progress=quiet", "-o"])
                .arg(format!("type=oci,dest=out{index}.tar"))
                .arg(".")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("xb starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("xb ends");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for index in 0..4 {
        assert!(context.path().join(format!("out{index}.tar")).exists());
    }
}

#[test]
fn filesystem_outputs_hold_the_final_tree() {
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        "FROM scratch AS base\nCOPY --chown=1000:1000 a.txt /data/a.txt\n\nFROM base\nCOPY b.txt /data/b.txt\n",
    );
    context.write("a.txt", "a\n");
    context.write("b.txt", "b\n");
    build(
        &context,
        &["-o", "type=tar,dest=fs.tar", "-o", "type=local,dest=rootfs"],
    )
    .assert_success();
    let mut owners = std::collections::BTreeMap::new();
    let file = fs_err::File::open(context.path().join("fs.tar")).unwrap();
    for entry in tar::Archive::new(file).entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        owners.insert(
            path.trim_end_matches('/').to_owned(),
            entry.header().uid().unwrap(),
        );
    }
    assert_eq!(owners.get("data/a.txt"), Some(&1000), "{owners:?}");
    assert_eq!(owners.get("data/b.txt"), Some(&0), "{owners:?}");
    assert_eq!(
        fs_err::read_to_string(context.path().join("rootfs/data/a.txt")).unwrap(),
        "a\n"
    );
    assert_eq!(
        fs_err::read_to_string(context.path().join("rootfs/data/b.txt")).unwrap(),
        "b\n"
    );
}

#[test]
fn base_image_config_shapes_the_build_and_onbuild_triggers_run() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    // A base image made by xb itself, with an ONBUILD trigger and a PATH.
    let parent = TestContext::new();
    parent.write(
        "Dockerfile",
        &format!(
            "FROM {}\nENV PATH=/opt/tools:$PATH\nONBUILD COPY trigger.txt /trigger.txt\n",
            registry.busybox
        ),
    );
    let name = format!("{}/test/parent:1", registry.registry.address);
    build(&parent, &["-t", &name, "--push"]).assert_success();

    let child = TestContext::new();
    child.write(
        "Dockerfile",
        &format!("FROM {name}\nENV PATH=/child:$PATH\n"),
    );
    child.write("trigger.txt", "fired\n");
    build(&child, &["-o", "type=oci,dest=out.tar"]).assert_success();
    let archive = child.path().join("out.tar");
    let files = oci_archive_filesystem(&archive);
    assert_eq!(
        files["/trigger.txt"].data, b"fired\n",
        "the ONBUILD trigger ran"
    );
    let config = oci_archive_config(&archive);
    let env: Vec<&str> = config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let path = env.iter().find(|e| e.starts_with("PATH=")).expect("a PATH");
    assert!(
        path.starts_with("PATH=/child:/opt/tools:"),
        "$PATH expanded from the base image's config: {path}"
    );
}

#[test]
fn build_context_oci_layout_needs_no_network() {
    if !std::path::Path::new("/bin/busybox").exists() {
        assert!(
            !crate::common::registry::strict(),
            "/bin/busybox is missing"
        );
        return;
    }
    let context = TestContext::new();
    let layout = context.path().join("layout");
    let made = Command::new("bash")
        .arg(crate::common::source_root().join("testdata/images/busybox-oci.sh"))
        .arg(&layout)
        .output()
        .expect("bash runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    context.write("lib/util.txt", "from a named directory\n");
    context.write(
        "app/Dockerfile",
        "FROM base\nCOPY --from=src util.txt /util.txt\n",
    );
    // No registry runs: `base` would be docker.io/library/base without the layout.
    let layout_context = format!("base=oci-layout://{}:latest", layout.display());
    let lib = format!("src={}", context.path().join("lib").display());
    let store = context.path().join("store").display().to_string();
    let run = context.run(&[
        "build",
        "--root",
        &store,
        "--build-context",
        &layout_context,
        "--build-context",
        &lib,
        "-o",
        "type=oci,dest=out.tar",
        "app",
    ]);
    run.assert_success();
    let files = oci_archive_filesystem(&context.path().join("out.tar"));
    assert!(
        files.contains_key("/bin/busybox"),
        "the layout's layers are the base"
    );
    assert_eq!(files["/util.txt"].data, b"from a named directory\n");
}

/// Writes an OCI layout whose only layer is `layer_tar` (uncompressed).
fn layout_with_layer(dir: &std::path::Path, layer_tar: &[u8]) {
    use sha2::{Digest as _, Sha256};
    let hex = |bytes: &[u8]| format!("{:x}", Sha256::digest(bytes));
    let blobs = dir.join("blobs/sha256");
    fs_err::create_dir_all(&blobs).expect("write the test layout");
    let layer = hex(layer_tar);
    fs_err::write(blobs.join(&layer), layer_tar).expect("write the test layout");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer}")]},
    }))
    .expect("JSON serializes");
    fs_err::write(blobs.join(hex(&config)), &config).expect("write the test layout");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{}", hex(&config)), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": format!("sha256:{layer}"), "size": layer_tar.len()}],
    }))
    .expect("JSON serializes");
    fs_err::write(blobs.join(hex(&manifest)), &manifest).expect("write the test layout");
    fs_err::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("write the test layout");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": format!("sha256:{}", hex(&manifest)), "size": manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "evil"}}],
    });
    fs_err::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("JSON serializes"),
    )
    .expect("write the test layout");
}

#[test]
fn a_layer_tar_escaping_its_layer_is_refused_and_writes_nothing() {
    let context = TestContext::new();
    // A tar whose entry climbs out of the layer.
    let mut header = tar::Header::new_gnu();
    let body = b"pwned";
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    // `set_path` refuses `..`; write the name field directly, as an attacker would.
    header.as_old_mut().name[..12].copy_from_slice(b"../escape.tx");
    header.set_cksum();
    let mut tar_bytes = Vec::new();
    tar_bytes.extend_from_slice(header.as_bytes());
    tar_bytes.extend_from_slice(body);
    tar_bytes.resize(512 + 512, 0);
    tar_bytes.extend_from_slice(&[0; 1024]);
    let layout = context.path().join("evil-layout");
    layout_with_layer(&layout, &tar_bytes);
    context.write("app/Dockerfile", "FROM base\nCOPY f /f\n");
    context.write("app/f", "f");
    let store = context.path().join("store");
    let base = format!("base=oci-layout://{}:evil", layout.display());
    let run = context.run(&[
        "build",
        "--root",
        &store.display().to_string(),
        "--build-context",
        &base,
        "-o",
        "type=oci,dest=out.tar",
        "app",
    ]);
    run.assert_exit(1);
    assert!(
        run.stderr.contains("escape.tx"),
        "the error names the entry:\n{}",
        run.stderr
    );
    assert!(!context.path().join("out.tar").exists());
    for place in [
        context.path().to_path_buf(),
        store.clone(),
        store.join("snapshots"),
    ] {
        assert!(
            !place.join("escape.tx").exists(),
            "{} got written",
            place.display()
        );
    }
}

#[test]
fn no_cache_filter_rebuilds_only_the_named_stage() {
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        "FROM scratch AS deps\nCOPY a /a\n\nFROM scratch AS app\nCOPY b /b\nCOPY --from=deps /a /a\n",
    );
    context.write("a", "a");
    context.write("b", "b");
    build(&context, &[]).assert_success();
    let run = build(&context, &["--no-cache-filter", "deps"]);
    run.assert_success();
    let status_of = |step: &str| {
        let vertex = run
            .stderr
            .lines()
            .find(|line| line.ends_with(step))
            .and_then(|line| line.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {step} in:\n{}", run.stderr))
            .to_owned();
        if run
            .stderr
            .lines()
            .any(|line| line == format!("{vertex} CACHED"))
        {
            "cached"
        } else {
            "ran"
        }
    };
    assert_eq!(status_of("[deps 2/2] COPY a /a"), "ran", "{}", run.stderr);
    assert_eq!(status_of("[app 2/3] COPY b /b"), "cached", "{}", run.stderr);
}

#[test]
fn every_cache_record_keeps_the_base_blobs_it_builds_on() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!("FROM {}\nCOPY f /f\nCOPY g /g\n", registry.busybox),
    );
    context.write("f", "f");
    context.write("g", "g");
    build(&context, &[]).assert_success();
    let store = context.path().join("store").display().to_string();
    let du = context.run(&["du", "--root", &store, "--verbose"]);
    du.assert_success();
    // One record for the image and one per COPY; each keeps the base layer,
    // so pruning the image's record cannot take a layer a COPY result needs.
    let records: Vec<&str> = du
        .stdout
        .split("\n\n")
        .filter(|entry| entry.contains("Kind:\t\trecord"))
        .collect();
    assert_eq!(records.len(), 3, "{}", du.stdout);
    for record in records {
        let blobs: usize = record
            .lines()
            .find_map(|line| line.strip_prefix("Blobs:\t\t"))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0);
        assert!(blobs >= 1, "a record keeps no blobs:\n{record}");
    }
}
