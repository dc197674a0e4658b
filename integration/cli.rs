//! The command line itself: version, completions, usage errors, exit codes,
//! reading the Dockerfile from standard input, and flags that are accepted
//! but whose machinery has not landed refusing clearly.

use crate::common::TestContext;

#[test]
fn version_names_the_release() {
    let run = TestContext::new().run(&["version"]);
    run.assert_success();
    assert!(
        run.stdout
            .starts_with(&format!("xb {}\n", env!("CARGO_PKG_VERSION"))),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("linkage: static"), "{}", run.stdout);
}

#[test]
fn completion_scripts_name_build_flags() {
    let context = TestContext::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = context.run(&["completion", shell]);
        run.assert_success();
        // fish spells long flags `-l name`; bash and zsh write `--name`.
        for flag in [
            "build-arg",
            "no-cache-filter",
            "metadata-file",
            "build-context",
        ] {
            assert!(run.stdout.contains(flag), "{shell} completion lacks {flag}");
        }
    }
}

#[test]
fn usage_errors_exit_2_and_name_the_flag() {
    let context = TestContext::new();
    let cases = [
        (
            vec!["build", "--output", "type=ocy,dest=x", "."],
            "--output",
        ),
        (vec!["build", "-t", "Not/Valid:Tag", "."], "--tag"),
        (
            vec!["build", "--secret", "id=a,src=x,env=Y", "."],
            "--secret",
        ),
        (vec!["build", "--network", "bridge", "."], "--network"),
        (vec!["build", "--progress", "fancy", "."], "--progress"),
        (
            vec!["build", "--platform", "linux//amd64", "."],
            "--platform",
        ),
        (vec!["build", "--call", "lint", "."], "--call"),
        (vec!["build", "--no-such-flag", "."], "--no-such-flag"),
        (vec!["build"], "CONTEXT"),
    ];
    for (args, flag) in cases {
        let run = context.run(&args);
        run.assert_exit(2);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn build_refuses_flags_whose_machinery_has_not_landed() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch\nCOPY a /a\n");
    context.write("a", "x");
    let store = context.path().join("store").display().to_string();
    let run = context.run(&[
        "build",
        "--root",
        &store,
        "--cache-to",
        "type=local,dest=cache",
        "-o",
        "type=oci,dest=out.tar",
        ".",
    ]);
    run.assert_exit(1);
    for needle in ["not supported yet", "--cache-to"] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        !context.path().join("out.tar").exists(),
        "nothing may be written"
    );
}

#[test]
fn multi_platform_is_refused_with_a_hint() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch\n");
    let run = context.run(&[
        "build",
        "--platform",
        "linux/amd64,linux/arm64",
        "--call=targets",
        ".",
    ]);
    run.assert_exit(1);
    assert!(run.stderr.contains("multi-platform"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn missing_dockerfile_gives_a_hint() {
    let context = TestContext::new();
    let run = context.run(&["build", "--call=targets", "."]);
    run.assert_exit(1);
    assert!(
        run.stderr.contains("failed to read the Dockerfile"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: name the Dockerfile with -f"),
        "{}",
        run.stderr
    );
}

#[test]
fn dockerfile_on_stdin_with_dash_context() {
    let context = TestContext::new();
    let run = context.run_with_stdin(
        &["build", "--call=targets", "-"],
        b"FROM scratch AS one\n\n# two is the second\nFROM one AS two\n",
    );
    run.assert_success();
    assert!(run.stdout.contains("two"), "{}", run.stdout);
    assert!(
        run.stdout.contains("two (default)   is the second"),
        "{}",
        run.stdout
    );
}

#[test]
fn dockerfile_on_stdin_with_dash_file() {
    let context = TestContext::new();
    let run = context.run_with_stdin(
        &["build", "-f", "-", "--call=targets", "."],
        b"FROM scratch AS only\n",
    );
    run.assert_success();
    assert!(run.stdout.contains("only"), "{}", run.stdout);
}

#[test]
fn scratch_build_without_output_stays_in_cache_and_skips_unused_stages() {
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        "FROM scratch AS deps\nCOPY a /a\n\nFROM scratch AS unused\nCOPY a /b\n\nFROM deps AS final\nCOPY a /c\n",
    );
    context.write("a", "x");
    let store = context.path().join("store").display().to_string();
    let run = context.run(&["build", "--root", &store, "--progress=plain", "."]);
    run.assert_success();
    assert!(
        run.stderr.contains("skipped unused stages: unused"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("stays in the cache only"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("[final 2/2] COPY a /c"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("[unused"), "{}", run.stderr);
}

#[test]
fn rewrite_timestamp_clamps_file_times_to_source_date_epoch() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch\nCOPY a /a\n");
    context.write("a", "x");
    let store = context.path().join("store").display().to_string();
    let epoch = 1_000_000_000_u64;
    let output = context
        .command()
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .args([
            "build",
            "--root",
            &store,
            "-o",
            "type=oci,dest=out.tar,rewrite-timestamp=true",
            ".",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let files = crate::common::image::oci_archive_filesystem(&context.path().join("out.tar"));
    // The context file was written just now, long after the epoch.
    assert_eq!(files["/a"].mtime, epoch, "{files:?}");

    let run = context.run(&[
        "build",
        "--root",
        &store,
        "-o",
        "type=oci,dest=again.tar,rewrite-timestamp=true",
        ".",
    ]);
    run.assert_success();
    assert!(
        run.stderr
            .contains("rewrite-timestamp is specified, but SOURCE_DATE_EPOCH is not set"),
        "{}",
        run.stderr
    );
}
