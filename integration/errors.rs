//! A Dockerfile mistake on line 7 gives an error that names line 7 and shows
//! it, for each kind of mistake the frontend catches (issue 2's acceptance).

use crate::common::{Run, TestContext};

/// Six lines that are fine, so that the mistake lands on line 7.
const PREAMBLE: &str = "\
# syntax=docker/dockerfile:1
# A small image with one mistake.
ARG BASE=scratch

FROM ${BASE} AS base
COPY app /app
";

fn build_with_line_7(line7_onwards: &str, extra_args: &[&str]) -> (TestContext, Run) {
    let context = TestContext::new();
    context.write("app", "payload\n");
    context.write("Dockerfile", &format!("{PREAMBLE}{line7_onwards}"));
    let mut args = vec!["build"];
    args.extend_from_slice(extra_args);
    args.push(".");
    let run = context.run(&args);
    (context, run)
}

#[track_caller]
fn assert_points_at_line_7(run: &Run, quoted: &str, message: &str) {
    run.assert_exit(1);
    assert!(
        run.stderr.contains("Dockerfile:7:"),
        "error does not name line 7:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("7 | {quoted}")),
        "error does not show line 7 ({quoted}):\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(message),
        "error does not say {message:?}:\n{}",
        run.stderr
    );
}

#[test]
fn line_7_unknown_instruction() {
    let (_context, run) = build_with_line_7("FNTRYPOINT [\"/app\"]\n", &[]);
    assert_points_at_line_7(&run, "FNTRYPOINT [\"/app\"]", "unknown instruction");
    assert!(
        run.stderr.contains("ENTRYPOINT"),
        "no suggestion:\n{}",
        run.stderr
    );
}

#[test]
fn line_7_unknown_flag() {
    let (_context, run) = build_with_line_7("COPY --chwon=1000:1000 app /srv/app\n", &[]);
    assert_points_at_line_7(&run, "COPY --chwon=1000:1000 app /srv/app", "--chwon");
    assert!(
        run.stderr.contains("Dockerfile:7:6"),
        "column is not the flag's:\n{}",
        run.stderr
    );
}

#[test]
fn line_7_bad_json_where_json_is_required() {
    let (_context, run) = build_with_line_7("SHELL /bin/bash -c\nRUN echo hi\n", &[]);
    assert_points_at_line_7(&run, "SHELL /bin/bash -c", "JSON");
}

#[test]
fn line_7_unterminated_heredoc() {
    let (_context, run) = build_with_line_7("RUN <<EOT\necho never ends\n", &[]);
    assert_points_at_line_7(&run, "RUN <<EOT", "unterminated heredoc");
}

#[test]
fn line_7_undefined_stage_in_from() {
    let (_context, run) = build_with_line_7("COPY --from=3 /out /out\n", &[]);
    assert_points_at_line_7(&run, "COPY --from=3 /out /out", "3");
}

#[test]
fn line_7_target_naming_no_stage() {
    let (_context, run) = build_with_line_7(
        "FROM base AS build\nCOPY app /again\n",
        &["--target", "bulid"],
    );
    assert_points_at_line_7(&run, "FROM base AS build", "bulid");
    assert!(
        run.stderr.contains("did you mean build"),
        "no suggestion:\n{}",
        run.stderr
    );
}

#[test]
fn errors_in_named_dockerfiles_use_the_given_name() {
    let context = TestContext::new();
    context.write("docker/app.Dockerfile", "FROM scratch\nCOPY --bogus a b\n");
    let run = context.run(&["build", "-f", "docker/app.Dockerfile", "."]);
    run.assert_exit(1);
    assert!(
        run.stderr.contains("docker/app.Dockerfile:2:"),
        "{}",
        run.stderr
    );
}
