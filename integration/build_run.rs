//! RUN in the sandbox (issue 4's acceptance): a Dockerfile FROM the test
//! busybox image whose RUN steps create files and users, chown, delete lower
//! files and replace a directory, built to an OCI layout and read back with
//! umoci and the tar reader; cache mounts across builds; secrets that leave
//! no trace; and what a step can see and do. Run as root, as a user with
//! subordinate ids and as one without (see `.ci/test.sh`).

use std::process::Command;

use crate::common::image::{busybox_registry, oci_archive_config, oci_archive_filesystem};
use crate::common::{Run, TestContext};

/// Who runs the tests, which decides what owners RUN can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Root,
    /// `/etc/subuid` lists the user: every id is real in the namespace.
    Subordinate,
    /// Only the caller maps (to root); other owners cannot be given.
    CallerOnly,
}

fn mode() -> Mode {
    let output = Command::new("id").arg("-un").output().expect("id runs");
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if name == "root" {
        return Mode::Root;
    }
    let listed = fs_err::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .any(|line| line.split(':').next() == Some(name.as_str()));
    if listed {
        Mode::Subordinate
    } else {
        Mode::CallerOnly
    }
}

fn build(context: &TestContext, extra: &[&str]) -> Run {
    let store = context.path().join("store").display().to_string();
    let mut args = vec!["build", "--root", &store, "--progress=plain"];
    args.extend_from_slice(extra);
    args.push(".");
    context.run(&args)
}

const LAYERS: &str = "\
RUN mkdir -p /data/keep /data/replace && echo one > /data/keep/a && echo gone > /data/old \\
 && echo x > /data/replace/inner && chmod 0600 /data/keep/a
RUN echo 'app:x:1000:1000:App:/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group \\
 && mkdir -p /home/app && chown 1000:1000 /home/app && echo f > /home/app/f \\
 && chown 1000:2000 /home/app/f && chmod 0640 /home/app/f && touch /srv-owned && chown 33:44 /srv-owned
RUN rm /data/old && rm -rf /data/replace && echo now-a-file > /data/replace && rm /bin/uname
";

/// Steps as another user: only where the namespace maps more than root.
const AS_APP: &str = "\
USER app
RUN echo hi > /home/app/mine && id -u > /home/app/uid
";

#[test]
fn run_steps_build_the_expected_tree_owners_and_deletions() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    let as_app = if mode() == Mode::CallerOnly {
        // Only root exists: a USER step fails, saying why.
        context.write(
            "Dockerfile",
            &format!("FROM {}\n{LAYERS}{AS_APP}", registry.busybox),
        );
        let refused = build(&context, &["-o", "type=oci,dest=refused.tar"]);
        refused.assert_exit(1);
        assert!(
            refused.stderr.contains("maps only root"),
            "{}",
            refused.stderr
        );
        ""
    } else {
        AS_APP
    };
    context.write(
        "Dockerfile",
        &format!("FROM {}\n{LAYERS}{as_app}", registry.busybox),
    );
    build(&context, &["-o", "type=oci,dest=out.tar"]).assert_success();
    let files = oci_archive_filesystem(&context.path().join("out.tar"));
    let entry = |path: &str| {
        files
            .get(path)
            .unwrap_or_else(|| panic!("{path} is missing: {:?}", files.keys()))
    };
    assert_eq!(entry("/data/keep/a").data, b"one\n");
    assert_eq!(entry("/data/keep/a").mode, 0o600);
    assert_eq!(entry("/data/replace").kind, 'f');
    assert_eq!(entry("/data/replace").data, b"now-a-file\n");
    assert!(!files.contains_key("/data/replace/inner"));
    assert!(!files.contains_key("/data/old"));
    assert!(!files.contains_key("/bin/uname"));
    assert!(files.contains_key("/bin/sh"), "the base layer stays");
    let passwd = String::from_utf8_lossy(&entry("/etc/passwd").data).into_owned();
    assert!(passwd.contains("app:x:1000:1000"), "{passwd}");
    assert_eq!(entry("/home/app/f").mode, 0o640);
    // Mount points the sandbox made (/proc, /dev, /etc/hosts…) are not in a layer.
    for made in ["/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf"] {
        assert!(!files.contains_key(made), "{made} leaked into a layer");
    }
    let owners = |path: &str| (entry(path).uid, entry(path).gid);
    match mode() {
        Mode::Root | Mode::Subordinate => {
            assert_eq!(owners("/home/app"), (1000, 1000));
            assert_eq!(owners("/home/app/f"), (1000, 2000));
            assert_eq!(owners("/srv-owned"), (33, 44));
            assert_eq!(owners("/home/app/mine"), (1000, 1000));
            assert_eq!(entry("/home/app/uid").data, b"1000\n");
        }
        Mode::CallerOnly => {
            // Without subordinate ids only root exists in the namespace.
            assert_eq!(owners("/srv-owned"), (0, 0));
        }
    }

    // umoci unpacks the same tree (rootless: owners stay the caller's).
    build(
        &context,
        &["-t", "run:latest", "-o", "type=oci,dest=layout,tar=false"],
    )
    .assert_success();
    let bundle = context.path().join("bundle");
    let mut umoci = Command::new("umoci");
    umoci.arg("unpack");
    if mode() != Mode::Root {
        umoci.arg("--rootless");
    }
    let unpack = umoci
        .arg("--image")
        .arg(format!(
            "{}:latest",
            context.path().join("layout").display()
        ))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        unpack.status.success(),
        "umoci: {}",
        String::from_utf8_lossy(&unpack.stderr)
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs_err::read_to_string(rootfs.join("data/replace")).unwrap(),
        "now-a-file\n"
    );
    assert!(!rootfs.join("data/old").exists());
    assert!(!rootfs.join("bin/uname").exists());
    assert!(rootfs.join("bin/sh").exists());
    if mode() == Mode::Root {
        use std::os::unix::fs::MetadataExt as _;
        let meta = fs_err::metadata(rootfs.join("home/app/f")).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (1000, 2000, 0o640)
        );
    }

    // The second build is all cached.
    let again = build(&context, &["-o", "type=oci,dest=again.tar"]);
    again.assert_success();
    assert!(
        again.stderr.matches("CACHED").count() >= 3,
        "{}",
        again.stderr
    );
}

#[test]
fn run_failure_names_the_line_exit_code_and_output() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN echo before\nRUN echo 'about to fail' && exit 3\n",
            registry.busybox
        ),
    );
    let run = build(&context, &["-o", "type=oci,dest=out.tar"]);
    run.assert_exit(1);
    assert!(run.stderr.contains("exit code: 3"), "{}", run.stderr);
    assert!(run.stderr.contains("about to fail"), "{}", run.stderr);
    assert!(run.stderr.contains("Dockerfile:3"), "{}", run.stderr);
    assert!(!context.path().join("out.tar").exists());
}

#[test]
fn cache_mounts_persist_and_secrets_leave_no_trace() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    let secret = "s3cr3t-value-for-test";
    context.write("token.txt", secret);
    let dockerfile = |n: u32| {
        format!(
            "FROM {}\n\
             ARG N={n}\n\
             RUN --mount=type=cache,target=/cache echo $N >> /cache/runs && cat /cache/runs > /runs\n\
             RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret-length\n\
             RUN --mount=type=secret,id=tok,env=TOKEN,target=/t echo ${{#TOKEN}} > /env-length\n",
            registry.busybox
        )
    };
    context.write("Dockerfile", &dockerfile(1));
    build(
        &context,
        &[
            "--secret",
            "id=tok,src=token.txt",
            "-o",
            "type=oci,dest=one.tar",
        ],
    )
    .assert_success();
    context.write("Dockerfile", &dockerfile(2));
    build(
        &context,
        &[
            "--secret",
            "id=tok,src=token.txt",
            "-o",
            "type=oci,dest=two.tar",
        ],
    )
    .assert_success();
    let archive = context.path().join("two.tar");
    let files = oci_archive_filesystem(&archive);
    assert_eq!(
        files["/runs"].data, b"1\n2\n",
        "the cache kept the first run"
    );
    assert!(
        !files.contains_key("/cache/runs"),
        "the cache is not in a layer"
    );
    let length = secret.len().to_string();
    assert_eq!(
        String::from_utf8_lossy(&files["/secret-length"].data).trim(),
        length,
        "the secret file was readable"
    );
    assert_eq!(
        String::from_utf8_lossy(&files["/env-length"].data).trim(),
        length,
        "the secret variable was set"
    );
    assert!(
        !files.contains_key("/t"),
        "a secret's mount point is no layer's"
    );
    assert!(!files.contains_key("/run/secrets/tok"));
    let raw = fs_err::read(&archive).unwrap();
    let mut all = Vec::new();
    let mut tar = tar::Archive::new(&raw[..]);
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if data.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&data[..]), &mut plain)
                .unwrap();
            data = plain;
        }
        all.extend(data);
    }
    let text = String::from_utf8_lossy(&all);
    assert!(!text.contains(secret), "the secret is in a blob");
    let config = oci_archive_config(&archive).to_string();
    assert!(
        !config.contains(secret),
        "the secret is in the config or history"
    );

    // `xb prune --all` empties cache mounts, as BuildKit's does.
    let store = context.path().join("store").display().to_string();
    context
        .run(&["prune", "--all", "--force", "--root", &store])
        .assert_success();
    context.write("Dockerfile", &dockerfile(3));
    build(
        &context,
        &[
            "--secret",
            "id=tok,src=token.txt",
            "-o",
            "type=oci,dest=pruned.tar",
        ],
    )
    .assert_success();
    let files = oci_archive_filesystem(&context.path().join("pruned.tar"));
    assert_eq!(files["/runs"].data, b"3\n", "the cache was emptied");

    // Without --secret the mount is skipped (it is not `required`), so the
    // step fails on the missing file, with the shell's words in the error.
    let missing = build(&context, &["-o", "type=oci,dest=three.tar", "--no-cache"]);
    missing.assert_exit(1);
    assert!(
        missing.stderr.contains("/run/secrets/tok"),
        "{}",
        missing.stderr
    );
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN --mount=type=secret,id=tok,required true\n",
            registry.busybox
        ),
    );
    let required = build(&context, &["-o", "type=oci,dest=four.tar"]);
    required.assert_exit(1);
    assert!(
        required.stderr.contains("secret tok: not provided"),
        "{}",
        required.stderr
    );
}

#[test]
fn sandbox_hides_the_host_and_refuses_escapes() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\n\
             RUN ps -o pid,comm > /ps.txt; ls /proc | grep -c '^[0-9]' > /pids.txt\n\
             RUN ! ls /work 2>/dev/null && ! ls /root/.cargo 2>/dev/null && touch /host-hidden\n\
             RUN ! sh -c 'echo h > /proc/sysrq-trigger' 2>/dev/null && touch /sysrq-refused\n\
             RUN ! mount --bind / /mnt 2>/dev/null && ! mount -t proc proc /mnt 2>/dev/null && touch /mount-refused\n\
             RUN ! mknod /blk b 8 0 2>/dev/null && touch /mknod-refused\n\
             RUN hostname > /hostname.txt\n\
             RUN trap 'echo forwarded > /signal.txt; exit 0' TERM; kill -TERM 1; sleep 5 & wait\n\
             RUN (sleep 0 &); sleep 1; ps -o stat | grep -c Z > /zombies.txt || true\n\
             RUN grep NoNewPrivs /proc/self/status > /nnp.txt\n\
             RUN sh -c 'ulimit -n' > /tmp/nofile.txt\n",
            registry.busybox
        ),
    );
    let run = build(&context, &["-o", "type=oci,dest=out.tar"]);
    run.assert_success();
    let files = oci_archive_filesystem(&context.path().join("out.tar"));
    let ps = String::from_utf8_lossy(&files["/ps.txt"].data).into_owned();
    let pids: u32 = String::from_utf8_lossy(&files["/pids.txt"].data)
        .trim()
        .parse()
        .unwrap();
    assert!(pids <= 4, "only the sandbox's processes: {pids}\n{ps}");
    for marker in [
        "/host-hidden",
        "/sysrq-refused",
        "/mount-refused",
        "/mknod-refused",
    ] {
        assert!(
            files.contains_key(marker),
            "{marker} missing: {}",
            run.stderr
        );
    }
    assert_eq!(files["/hostname.txt"].data, b"xbsandbox\n");
    assert_eq!(
        files["/signal.txt"].data, b"forwarded\n",
        "pid 1 passes signals on"
    );
    assert_eq!(files["/zombies.txt"].data, b"0\n", "pid 1 reaps orphans");
    // no_new_privs: the kernel ignores setuid bits and file capabilities on
    // exec, so a setuid binary gains nothing. (Busybox drops setuid itself,
    // so running one would not tell the two apart.)
    assert_eq!(files["/nnp.txt"].data, b"NoNewPrivs:\t1\n");
    let nofile: u64 = String::from_utf8_lossy(&files["/tmp/nofile.txt"].data)
        .trim()
        .parse()
        .unwrap();
    assert!(nofile >= 1024, "open files limit {nofile}");
}

#[test]
fn workdir_through_proc_fd_cannot_escape() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nWORKDIR /proc/self/fd/3\nRUN ls ../../../../ > /seen 2>&1 || true\n",
            registry.busybox
        ),
    );
    let run = build(&context, &["-o", "type=local,dest=out"]);
    // Either refused outright, or run inside the sandbox's own root.
    if run.status == Some(0) {
        let seen = fs_err::read_to_string(context.path().join("out/seen")).unwrap_or_default();
        assert!(!seen.contains("work"), "{seen}");
    } else {
        assert!(!run.stderr.is_empty());
    }
}

#[test]
fn run_forms_environment_network_and_backends() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\n\
             ARG GREETING=hello\n\
             ENV WHO=world\n\
             RUN echo \"$GREETING $WHO $HOME\" > /env.txt\n\
             RUN [\"/bin/sh\", \"-c\", \"echo exec-form > /exec.txt\"]\n\
             RUN <<EOF\n\
             echo heredoc > /heredoc.txt\n\
             EOF\n\
             RUN cat > /fed.txt <<DATA\n\
             fed by the shell\n\
             DATA\n\
             RUN <<EOF\n\
             #!/bin/sh\n\
             echo script > /script.txt\n\
             EOF\n\
             RUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /net-none.txt\n\
             WORKDIR /made/by/workdir\n\
             RUN pwd > here.txt\n",
            registry.busybox
        ),
    );
    let expect = |files: &std::collections::BTreeMap<String, crate::common::image::FsEntry>| {
        let text = |path: &str| String::from_utf8_lossy(&files[path].data).into_owned();
        assert_eq!(text("/env.txt"), "hello world /root\n");
        assert_eq!(text("/exec.txt"), "exec-form\n");
        assert_eq!(text("/heredoc.txt"), "heredoc\n");
        assert_eq!(text("/fed.txt"), "fed by the shell\n");
        assert_eq!(text("/script.txt"), "script\n");
        assert_eq!(text("/net-none.txt"), "lo\n");
        assert_eq!(text("/made/by/workdir/here.txt"), "/made/by/workdir\n");
        assert!(!files.contains_key("/dev/pipes/EOF"));
    };
    build(&context, &["-o", "type=oci,dest=overlay.tar"]).assert_success();
    let overlay = oci_archive_filesystem(&context.path().join("overlay.tar"));
    expect(&overlay);
    // The copy backend gives the same tree.
    build(
        &context,
        &[
            "--no-cache",
            "--snapshotter=native",
            "-o",
            "type=oci,dest=native.tar",
        ],
    )
    .assert_success();
    let native = oci_archive_filesystem(&context.path().join("native.tar"));
    expect(&native);
    let paths = |files: &std::collections::BTreeMap<String, crate::common::image::FsEntry>| {
        files.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(paths(&overlay), paths(&native));
}

#[test]
fn chroot_isolation_runs_steps_without_namespaces() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN echo chrooted > /c.txt && ls / > /root-list.txt\n",
            registry.busybox
        ),
    );
    build(
        &context,
        &["--isolation=chroot", "-o", "type=oci,dest=out.tar"],
    )
    .assert_success();
    let files = oci_archive_filesystem(&context.path().join("out.tar"));
    assert_eq!(files["/c.txt"].data, b"chrooted\n");
    let listing = String::from_utf8_lossy(&files["/root-list.txt"].data).into_owned();
    assert!(
        listing.contains("bin") && !listing.contains("work"),
        "{listing}"
    );

    // RUN --mount needs namespaces: refused with a clear error.
    context.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN --mount=type=tmpfs,target=/t true\n",
            registry.busybox
        ),
    );
    let run = build(
        &context,
        &["--isolation=chroot", "-o", "type=oci,dest=m.tar"],
    );
    run.assert_exit(1);
    assert!(run.stderr.contains("needs namespaces"), "{}", run.stderr);
}

#[test]
fn cache_mount_from_a_stage_starts_with_its_files() {
    let Some(registry) = busybox_registry() else {
        return;
    };
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        &format!(
            "FROM {base} AS seed\n\
             RUN mkdir -p /data && echo seeded > /data/hello\n\
             FROM {base}\n\
             RUN --mount=type=cache,id=seeded,target=/c,from=seed,source=/data cat /c/hello > /seen && echo more >> /c/hello\n",
            base = registry.busybox
        ),
    );
    build(&context, &["-o", "type=oci,dest=out.tar"]).assert_success();
    let files = oci_archive_filesystem(&context.path().join("out.tar"));
    assert_eq!(files["/seen"].data, b"seeded\n");
    assert!(!files.contains_key("/c/hello"), "the cache is no layer's");
}
