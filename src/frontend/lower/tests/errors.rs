//! Errors users see: the message, the line and column, the quoted line.

use super::*;

#[test]
fn unknown_instruction_points_at_line_7() {
    let error = error(
        "# syntax=docker/dockerfile:1\nFROM alpine AS build\nRUN echo one\n\nFROM build\nCOPY a /a\n  FNTRYPOINT [\"/bin/sh\"]\n",
    );
    assert_eq!((error.span.start.line, error.span.start.column), (7, 3));
    insta::assert_snapshot!(error.render(), @r#"
    Dockerfile:7:3: unknown instruction: FNTRYPOINT
      |
    7 |   FNTRYPOINT ["/bin/sh"]
      |   ^^^^^^^^^^
    "#);
    assert_eq!(error.hint.as_deref(), Some("did you mean ENTRYPOINT?"));
}

#[test]
fn unknown_flag_points_at_line_7() {
    let error = error(
        "FROM alpine\n\n# copy the sources\nWORKDIR /src\nCOPY . .\nRUN make\nCOPY --chwon=app:app out /app\n",
    );
    assert_eq!((error.span.start.line, error.span.start.column), (7, 6));
    insta::assert_snapshot!(error.render(), @"
    Dockerfile:7:6: unknown flag: --chwon
      |
    7 | COPY --chwon=app:app out /app
      |      ^^^^^^^
    ");
    assert_eq!(error.hint.as_deref(), Some("did you mean --chown?"));
}

#[test]
fn flag_of_another_instruction_says_whose_it_is() {
    let error = error("FROM alpine\nADD --from=build a /a\n");
    assert_eq!(error.message, "unknown flag: --from");
    assert_eq!(
        error.hint.as_deref(),
        Some("--from is a flag of COPY, not of ADD")
    );
    assert_eq!((error.span.start.line, error.span.start.column), (2, 5));
}

#[test]
fn shell_not_json_points_at_line_7() {
    let error = error(
        "FROM alpine\nENV A=1\nENV B=2\nRUN true\nRUN false || true\nLABEL x=y\nSHELL /bin/bash -c\n",
    );
    assert_eq!((error.span.start.line, error.span.start.column), (7, 7));
    assert_eq!(
        error.message,
        "SHELL requires the arguments to be in JSON form"
    );
    insta::assert_snapshot!(error.render(), @"
    Dockerfile:7:7: SHELL requires the arguments to be in JSON form
      |
    7 | SHELL /bin/bash -c
      |       ^^^^^^^^^^^^
    ");
}

#[test]
fn undefined_numeric_stage_points_at_line_7() {
    let error =
        error("FROM alpine AS a\nRUN true\n\nFROM alpine AS b\nRUN true\n\nCOPY --from=5 /x /y\n");
    assert_eq!((error.span.start.line, error.span.start.column), (7, 6));
    assert!(
        error.message.starts_with("undefined stage"),
        "{}",
        error.message
    );
    insta::assert_snapshot!(error.render(), @"
    Dockerfile:7:6: undefined stage in --from: invalid stage index 5
      |
    7 | COPY --from=5 /x /y
      |      ^^^^^^
    ");
}

#[test]
fn later_numeric_stage_is_undefined_too() {
    let error = error("FROM alpine AS a\nCOPY --from=1 /x /y\nFROM alpine AS b\n");
    assert!(
        error.message.starts_with("undefined stage"),
        "{}",
        error.message
    );
    assert_eq!(error.span.start.line, 2);
}

#[test]
fn target_typo_points_at_the_close_stage() {
    let text = "ARG GO=1.22\n\nFROM alpine AS deps\nRUN true\n\n# compile\nFROM golang:${GO} AS build\nRUN go build\n";
    let error = error_with(text, &with_target("bulid"));
    assert_eq!(error.message, "target stage \"bulid\" could not be found");
    assert_eq!(error.hint.as_deref(), Some("did you mean build?"));
    assert_eq!((error.span.start.line, error.span.start.column), (7, 22));
    insta::assert_snapshot!(error.render(), @r#"
    Dockerfile:7:22: target stage "bulid" could not be found
      |
    7 | FROM golang:${GO} AS build
      |                      ^^^^^
    "#);
}

#[test]
fn target_without_close_stage_has_no_line() {
    let error = error_with("FROM alpine AS build\n", &with_target("release"));
    assert_eq!(error.span.start.line, 0);
    assert!(error.excerpt.is_empty());
}

#[test]
fn target_is_case_insensitive() {
    let plan = plan_with("FROM alpine AS Build\nFROM alpine\n", &with_target("BUILD"));
    assert_eq!(plan.target, 0);
}

#[test]
fn expansion_error_is_at_its_line() {
    let error = error("FROM alpine\nARG NEED\nWORKDIR ${NEED:?set NEED}\n");
    assert_eq!(error.span.start.line, 3);
    assert!(error.message.contains("set NEED"), "{}", error.message);
}

#[test]
fn missing_destination_is_an_error() {
    let error = error("FROM alpine\nCOPY a\n");
    assert!(
        error
            .message
            .starts_with("COPY requires at least two arguments")
    );
    let error = self::error("FROM alpine\nARG\n");
    assert_eq!(error.message, "ARG requires at least one argument");
}

#[test]
fn bad_flag_values_are_errors() {
    let cases = [
        ("RUN --network=bogus true", "invalid network mode \"bogus\""),
        (
            "RUN --security=loose true",
            "security \"loose\" is not valid",
        ),
        (
            "RUN --mount=type=bogus true",
            "unsupported mount type \"bogus\"",
        ),
        (
            "COPY --chmod=999 a /a",
            "invalid chmod parameter: '999'. it should be octal string and between 0 and 07777",
        ),
        (
            "COPY --link=maybe a /a",
            "expecting boolean value for flag --link, not: maybe",
        ),
        (
            "HEALTHCHECK --interval=5x CMD true",
            "time: invalid duration \"5x\"",
        ),
        (
            "HEALTHCHECK --retries=-1 CMD true",
            "--retries cannot be negative (-1)",
        ),
        (
            "ONBUILD ONBUILD RUN true",
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        (
            "ONBUILD FROM alpine",
            "FROM isn't allowed as an ONBUILD trigger",
        ),
        ("STOPSIGNAL SIGBOGUS", "Invalid signal: SIGBOGUS"),
        (
            "COPY --from=$X a /a",
            "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
        ),
        (
            "RUN --mount=from=$X,target=/x true",
            "'from' doesn't support variable expansion, define alias stage instead",
        ),
    ];
    for (line, message) in cases {
        let error = error(&format!("FROM alpine\n{line}\n"));
        assert_eq!(error.message, message, "{line}");
        assert_eq!(error.span.start.line, 2, "{line}");
    }
}

#[test]
fn mount_error_points_at_the_right_mount_flag() {
    // Mount options are checked when the stage is lowered, with variables
    // expanded (BuildKit checks only `from` when typing).
    let error = error(
        "FROM scratch\nRUN --mount=type=cache,target=/a \\\n    --mount=type=cache,target=/b,size=1g true\n",
    );
    assert_eq!(
        error.message,
        "unexpected key 'size' for mount type 'cache'"
    );
    assert_eq!((error.span.start.line, error.span.start.column), (3, 5));
}

#[test]
fn link_flag_forms() {
    let plan =
        plan("FROM alpine\nCOPY --link a /a\nCOPY --link=false b /b\nCOPY --link=TRUE c /c\n");
    let links: Vec<bool> = plan.stages[0]
        .steps
        .iter()
        .map(|step| match &step.kind {
            StepKind::Copy(copy) => copy.link,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(links, [true, false, true]);
}
