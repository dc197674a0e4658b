//! Lowering tests: the errors users see (placed on the right line and
//! column), variable scoping, stages and targets, outline and targets JSON.

use super::*;

fn options() -> LowerOptions {
    LowerOptions {
        target: None,
        build_args: Vec::new(),
        target_platform: "linux/arm64".parse().unwrap(),
        build_platform: "linux/amd64".parse().unwrap(),
    }
}

fn with_target(target: &str) -> LowerOptions {
    LowerOptions {
        target: Some(target.to_owned()),
        ..options()
    }
}

fn with_args(args: &[(&str, &str)]) -> LowerOptions {
    LowerOptions {
        build_args: args
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        ..options()
    }
}

fn dockerfile(text: &str) -> Source {
    Source::new("Dockerfile", text)
}

fn plan_with(text: &str, options: &LowerOptions) -> Plan {
    match lower(&dockerfile(text), options) {
        Ok(plan) => plan,
        Err(error) => panic!("{}", error.render()),
    }
}

fn plan(text: &str) -> Plan {
    plan_with(text, &options())
}

fn error_with(text: &str, options: &LowerOptions) -> ParseError {
    match lower(&dockerfile(text), options) {
        Ok(plan) => panic!("expected an error, got a plan for stage {}", plan.target),
        Err(error) => error,
    }
}

fn error(text: &str) -> ParseError {
    error_with(text, &options())
}

/// The environment the `n`th RUN of stage `stage` sees.
fn run_env(plan: &Plan, stage: usize, n: usize) -> Vec<(String, String)> {
    plan.stages[stage]
        .steps
        .iter()
        .filter_map(|step| match &step.kind {
            StepKind::Run(run) => Some(run.env.clone()),
            _ => None,
        })
        .nth(n)
        .expect("the RUN exists")
}

fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

// Errors on line 7, with the right column and the line quoted.

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

// Scoping.

#[test]
fn global_arg_is_only_for_from_unless_redeclared() {
    let text = "ARG VERSION=3.20\nFROM alpine:${VERSION}\nRUN echo $VERSION\nENV SEEN=${VERSION}\nARG VERSION\nRUN echo $VERSION\n";
    let plan = plan(text);
    let Base::Image(reference) = &plan.stages[0].base else {
        panic!("an image base");
    };
    assert_eq!(reference.written, "alpine:3.20");
    assert_eq!(lookup(&run_env(&plan, 0, 0), "VERSION"), None);
    assert_eq!(
        plan.stages[0].config.env,
        [("SEEN".to_owned(), String::new())]
    );
    assert_eq!(lookup(&run_env(&plan, 0, 1), "VERSION"), Some("3.20"));
}

#[test]
fn build_arg_overrides_declared_args_only() {
    let text = "ARG BASE=alpine\nFROM ${BASE}\nARG MODE=debug\nRUN make\n";
    let plan = plan_with(
        text,
        &with_args(&[("BASE", "busybox"), ("MODE", "release"), ("TYPO", "x")]),
    );
    let Base::Image(reference) = &plan.stages[0].base else {
        panic!("an image base");
    };
    assert_eq!(reference.written, "busybox");
    assert_eq!(lookup(&run_env(&plan, 0, 0), "MODE"), Some("release"));
    assert_eq!(lookup(&run_env(&plan, 0, 0), "TYPO"), None);
    assert_eq!(plan.unused_build_args, ["TYPO"]);
}

#[test]
fn env_shadows_arg_and_later_arg_shadows_env() {
    let text = "FROM alpine\nARG V=arg\nENV V=env\nRUN echo $V\nARG V=again\nRUN echo $V\n";
    let plan = plan_with(text, &with_args(&[("V", "cli")]));
    assert_eq!(lookup(&run_env(&plan, 0, 0), "V"), Some("env"));
    // BuildKit keeps one environment: the ARG after ENV wins for RUN, while
    // the image config keeps the ENV value.
    assert_eq!(lookup(&run_env(&plan, 0, 1), "V"), Some("cli"));
    assert_eq!(
        plan.stages[0].config.env,
        [("V".to_owned(), "env".to_owned())]
    );
}

#[test]
fn env_pairs_expand_against_the_previous_scope() {
    let plan = plan("FROM alpine\nENV A=old\nENV A=new B=$A\n");
    assert_eq!(
        plan.stages[0].config.env,
        [
            ("A".to_owned(), "new".to_owned()),
            ("B".to_owned(), "old".to_owned())
        ]
    );
}

#[test]
fn arg_values_are_visible_later_but_not_in_config() {
    let plan = plan("FROM alpine\nARG DIR=/app\nWORKDIR $DIR\nARG UNSET\nRUN true\n");
    assert_eq!(plan.stages[0].config.workdir.as_deref(), Some("/app"));
    assert!(plan.stages[0].config.env.is_empty());
    let env = run_env(&plan, 0, 0);
    assert_eq!(lookup(&env, "DIR"), Some("/app"));
    assert_eq!(lookup(&env, "UNSET"), None);
}

#[test]
fn platform_args_global_automatically_in_stage_when_declared() {
    let text = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETARCH\nRUN echo $TARGETARCH $BUILDARCH\nFROM alpine:$TARGETARCH\n";
    let plan = plan_with(text, &with_target("build"));
    assert_eq!(
        plan.stages[0].platform,
        Some("linux/amd64".parse().unwrap())
    );
    let env = run_env(&plan, 0, 0);
    assert_eq!(lookup(&env, "TARGETARCH"), Some("arm64"));
    assert_eq!(lookup(&env, "BUILDARCH"), None);
    let plan = plan_with(text, &options());
    let Base::Image(reference) = &plan.stages[1].base else {
        panic!("an image base");
    };
    assert_eq!(reference.written, "alpine:arm64");
}

#[test]
fn target_stage_arg() {
    let text = "FROM alpine AS one\nARG TARGETSTAGE\nRUN true\nFROM alpine AS two\nARG TARGETSTAGE\nRUN true\n";
    let plan = plan_with(text, &with_target("one"));
    assert_eq!(lookup(&run_env(&plan, 0, 0), "TARGETSTAGE"), Some("one"));
}

#[test]
fn proxy_args_need_no_declaration_and_stay_out_of_config() {
    let plan = plan_with(
        "FROM alpine\nRUN apk add curl\n",
        &with_args(&[
            ("http_proxy", "http://proxy:3128"),
            ("NO_PROXY", "localhost"),
        ]),
    );
    assert!(plan.unused_build_args.is_empty());
    assert!(plan.stages[0].config.env.is_empty());
    assert_eq!(lookup(&run_env(&plan, 0, 0), "http_proxy"), None);
    let proxy = plan.proxy_env();
    assert_eq!(lookup(&proxy, "HTTP_PROXY"), Some("http://proxy:3128"));
    assert_eq!(lookup(&proxy, "http_proxy"), Some("http://proxy:3128"));
    assert_eq!(lookup(&proxy, "no_proxy"), Some("localhost"));
}

#[test]
fn child_stage_inherits_env_args_and_workdir() {
    let text = "FROM alpine AS base\nARG FOO=bar\nENV X=1\nWORKDIR /app\nFROM base\nRUN pwd\nCOPY $FOO .\n";
    let plan = plan(text);
    let env = run_env(&plan, 1, 0);
    assert_eq!(lookup(&env, "FOO"), Some("bar"));
    assert_eq!(lookup(&env, "X"), Some("1"));
    let StepKind::Copy(copy) = &plan.stages[1].steps[1].kind else {
        panic!("a COPY");
    };
    assert_eq!(copy.sources, ["bar"]);
    assert_eq!(copy.dest_path, "/app/");
    assert_eq!(plan.stages[1].config.workdir.as_deref(), Some("/app"));
}

#[test]
fn which_instructions_expand() {
    let text = "FROM alpine\nARG V=x\nRUN echo $V\nCMD echo $V\nENTRYPOINT [\"$V\"]\nLABEL l=$V\nUSER $V\nEXPOSE 80$V\nVOLUME /$V\nSTOPSIGNAL SIG$V\n";
    let error = error(text);
    // EXPOSE 80x is expanded and rejected: proof that EXPOSE expands.
    assert!(
        error.message.contains("invalid containerPort: 80x"),
        "{}",
        error.message
    );
    let plan = plan(
        &text
            .replace("EXPOSE 80$V\n", "")
            .replace("SIG$V", "SIGTERM"),
    );
    let kinds: Vec<&StepKind> = plan.stages[0].steps.iter().map(|step| &step.kind).collect();
    let StepKind::Run(run) = kinds[1] else {
        panic!()
    };
    assert_eq!(
        run.command,
        crate::frontend::instructions::CommandLine::Shell("echo $V".to_owned())
    );
    assert_eq!(
        kinds[2],
        &StepKind::Cmd(vec!["/bin/sh".into(), "-c".into(), "echo $V".into()])
    );
    assert_eq!(kinds[3], &StepKind::Entrypoint(Some(vec!["$V".into()])));
    assert_eq!(kinds[4], &StepKind::Label(vec![("l".into(), "x".into())]));
    assert_eq!(kinds[5], &StepKind::User("x".into()));
    assert_eq!(kinds[6], &StepKind::Volume(vec!["/x".into()]));
}

#[test]
fn copy_flags_expand_but_exclude_does_not() {
    let text = "FROM alpine\nARG U=app MODE=755\nCOPY --chown=$U:$U --chmod=$MODE --exclude=$U/*.tmp src/ /dst/\n";
    let plan = plan(text);
    let StepKind::Copy(copy) = &plan.stages[0].steps[1].kind else {
        panic!("a COPY");
    };
    assert_eq!(copy.chown.as_deref(), Some("app:app"));
    assert_eq!(copy.chmod, Some(Chmod::Octal(0o755)));
    assert_eq!(copy.exclude, ["$U/*.tmp"]);
}

#[test]
fn mount_options_expand_and_resolve() {
    let text = "FROM alpine AS deps\nRUN true\nFROM alpine\nARG CACHE=go\nWORKDIR /src\nRUN --mount=type=cache,id=$CACHE,target=cache --mount=from=deps,source=/x,target=/y --mount=type=secret,id=token,env=TOKEN make\n";
    let plan = plan(text);
    let StepKind::Run(run) = &plan.stages[1].steps[2].kind else {
        panic!("a RUN");
    };
    assert_eq!(run.mounts[0].mount.id.as_deref(), Some("go"));
    assert_eq!(run.mounts[0].target.as_deref(), Some("/src/cache"));
    assert_eq!(run.mounts[1].from, Some(FileSource::Stage(0)));
    assert_eq!(run.mounts[2].target, None);
    assert_eq!(plan.needed, [0, 1]);
}

#[test]
fn heredocs_reach_run_and_copy() {
    let text = "FROM alpine\nARG NAME=world\nRUN <<EOF\necho hi\nEOF\nCOPY <<-EOT <<'RAW' /etc/\n\thello $NAME\n\tEOT\nkeep $NAME\nRAW\n";
    let plan = plan(text);
    let StepKind::Run(run) = &plan.stages[0].steps[1].kind else {
        panic!("a RUN");
    };
    assert_eq!(run.heredocs[0].content, "echo hi\n");
    let StepKind::Copy(copy) = &plan.stages[0].steps[2].kind else {
        panic!("a COPY");
    };
    assert_eq!(copy.inline[0].data, "hello world\n");
    assert_eq!(copy.inline[1].data, "keep $NAME\n");
    assert!(copy.sources.is_empty());
}

// Stages.

#[test]
fn unused_stages_are_skipped() {
    let text = "FROM alpine AS a\nRUN true\nFROM alpine AS b\nRUN ${UNDEFINED:?never}\nFROM alpine AS c\nCOPY --from=a /x /x\n";
    let plan = plan(text);
    assert_eq!(plan.target, 2);
    assert_eq!(plan.needed, [0, 2]);
    assert_eq!(
        plan.skipped,
        [StageId {
            index: 1,
            name: Some("b".to_owned())
        }]
    );
    assert!(!plan.stages[1].lowered);
    assert!(plan.stages[1].steps.is_empty());
}

#[test]
fn stages_are_needed_through_from_copy_and_mount() {
    let text = "FROM alpine AS a\nFROM a AS b\nFROM alpine AS c\nFROM alpine AS d\nCOPY --from=b /x /x\nRUN --mount=from=c,target=/c true\nCOPY --from=busybox /bin/sh /sh\n";
    let plan = plan(text);
    assert_eq!(plan.needed, [0, 1, 2, 3]);
    let StepKind::Copy(copy) = &plan.stages[3].steps[2].kind else {
        panic!("a COPY");
    };
    let Some(FileSource::Image(reference)) = &copy.from else {
        panic!("an image");
    };
    assert_eq!(reference.normalized, "docker.io/library/busybox:latest");
}

#[test]
fn circular_dependency_is_an_error() {
    let error = error("FROM alpine AS a\nCOPY --from=b /x /x\nFROM a AS b\n");
    assert_eq!(error.message, "circular dependency detected on stage: a");
    assert_eq!(error.span.start.line, 2);
}

#[test]
fn copy_from_later_stage_is_an_error() {
    let error = error_with(
        "FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\n",
        &with_target("a"),
    );
    assert_eq!(
        error.message,
        "cannot copy from stage \"b\", it needs to be defined before current stage \"a\""
    );
}

#[test]
fn from_that_is_no_stage_and_no_image_is_an_error() {
    let error = error("FROM alpine AS build\nFROM alpine\nCOPY --from=Bulid! /x /x\n");
    assert!(
        error
            .message
            .contains("is not a stage name, nor a valid image reference")
    );
    assert_eq!((error.span.start.line, error.span.start.column), (3, 6));
}

#[test]
fn stage_names_are_lowercased_and_checked() {
    let plan = plan("FROM alpine AS Builder\nFROM builder\n");
    assert_eq!(plan.stages[0].name.as_deref(), Some("builder"));
    assert_eq!(plan.stages[1].base, Base::Stage(0));
    let error = error("FROM alpine AS 1st\n");
    assert!(error.message.starts_with("invalid name for build stage"));
    assert_eq!(error.span.start.column, 16);
}

#[test]
fn no_stages_is_an_error() {
    assert_eq!(
        error("ARG foo=bar\n").message,
        "dockerfile contains no stages to build"
    );
}

#[test]
fn onbuild_triggers_run_in_child_stages() {
    let text = "FROM alpine AS base\nONBUILD RUN echo triggered\nFROM base\nRUN echo child\n";
    let plan = plan(text);
    let child = &plan.stages[1];
    assert!(child.steps[0].on_build);
    assert!(!child.steps[1].on_build);
    assert_eq!(plan.stages[0].config.onbuild, ["RUN echo triggered"]);
    assert!(child.config.onbuild.is_empty());
}

#[test]
fn entrypoint_clears_inherited_cmd() {
    let plan = plan("FROM alpine AS a\nCMD [\"x\"]\nFROM a\nENTRYPOINT [\"y\"]\n");
    assert_eq!(plan.stages[1].config.cmd, Setting::Cleared);
    let plan = self::plan("FROM alpine\nCMD [\"x\"]\nENTRYPOINT [\"y\"]\n");
    assert_eq!(
        plan.stages[0].config.cmd,
        Setting::Set(vec!["x".to_owned()])
    );
}

// Targets and outline.

#[test]
fn targets_list_as_json() {
    let text = "\n# build defines stage for compiling the binary\nFROM alpine AS build\nRUN true\n\nFROM busybox as second\nRUN false\n\nFROM --platform=$BUILDPLATFORM alpine\nRUN false\n\n# binary returns the compiled binary\nFROM second AS binary\n";
    let targets = list_targets(&dockerfile(text)).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&targets).unwrap(), @r#"
    {
      "targets": [
        {
          "name": "build",
          "description": "defines stage for compiling the binary",
          "base": "alpine",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 3,
                  "character": 0
                },
                "end": {
                  "line": 3,
                  "character": 19
                }
              }
            ]
          }
        },
        {
          "name": "second",
          "base": "busybox",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 6,
                  "character": 0
                },
                "end": {
                  "line": 6,
                  "character": 21
                }
              }
            ]
          }
        },
        {
          "base": "alpine",
          "platform": "$BUILDPLATFORM",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 9,
                  "character": 0
                },
                "end": {
                  "line": 9,
                  "character": 36
                }
              }
            ]
          }
        },
        {
          "name": "binary",
          "default": true,
          "description": "returns the compiled binary",
          "base": "second",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 13,
                  "character": 0
                },
                "end": {
                  "line": 13,
                  "character": 20
                }
              }
            ]
          }
        }
      ]
    }
    "#);
}

#[test]
fn outline_args_as_json() {
    let text = r#"
ARG inherited=box
ARG inherited2=box2
ARG unused=abc${inherited2}
# sfx is a suffix
ARG sfx="usy${inherited}"

FROM b${sfx} AS first
# this is not assigned to anything
ARG FOO=123
# BAR is a number
ARG BAR=456
RUN true

FROM alpine${unused} AS second
ARG BAZ
RUN true

FROM scratch AS third
ARG ABC=a
# check=skip=all
ARG password
# alternate_password will show up in the outline
# check=skip=all
ARG alternate_password

# target defines build target
FROM third AS target
COPY --from=first /etc/passwd /

FROM second
"#;
    let options = LowerOptions {
        target: Some("target".to_owned()),
        build_args: vec![("BAR".to_owned(), "678".to_owned())],
        ..options()
    };
    let plan = plan_with(text, &options);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    insta::assert_snapshot!(serde_json::to_string_pretty(&outline(&plan)).unwrap(), @r#"
    {
      "name": "target",
      "description": "defines build target",
      "args": [
        {
          "name": "inherited",
          "value": "box",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 2,
                  "character": 0
                },
                "end": {
                  "line": 2,
                  "character": 16
                }
              }
            ]
          }
        },
        {
          "name": "sfx",
          "description": "is a suffix",
          "value": "usybox",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 6,
                  "character": 0
                },
                "end": {
                  "line": 6,
                  "character": 24
                }
              }
            ]
          }
        },
        {
          "name": "FOO",
          "value": "123",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 10,
                  "character": 0
                },
                "end": {
                  "line": 10,
                  "character": 10
                }
              }
            ]
          }
        },
        {
          "name": "BAR",
          "description": "is a number",
          "value": "678",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 12,
                  "character": 0
                },
                "end": {
                  "line": 12,
                  "character": 10
                }
              }
            ]
          }
        },
        {
          "name": "ABC",
          "value": "a",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 20,
                  "character": 0
                },
                "end": {
                  "line": 20,
                  "character": 8
                }
              }
            ]
          }
        },
        {
          "name": "password",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 22,
                  "character": 0
                },
                "end": {
                  "line": 22,
                  "character": 11
                }
              }
            ]
          }
        },
        {
          "name": "alternate_password",
          "description": "will show up in the outline",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 25,
                  "character": 0
                },
                "end": {
                  "line": 25,
                  "character": 21
                }
              }
            ]
          }
        }
      ]
    }
    "#);
}

#[test]
fn outline_secrets_and_ssh() {
    let text = "
FROM busybox AS first
RUN --mount=type=secret,target=/etc/passwd,required=true --mount=type=ssh true

FROM alpine AS second
RUN --mount=type=secret,id=unused --mount=type=ssh,id=ssh2 true

FROM scratch AS third
ARG BAR
RUN --mount=type=secret,id=second${BAR} true

FROM third AS target
COPY --from=first /foo /
RUN --mount=type=ssh,id=ssh3,required true

FROM second
";
    let options = LowerOptions {
        target: Some("target".to_owned()),
        build_args: vec![("BAR".to_owned(), "678".to_owned())],
        ..options()
    };
    let outline = outline(&plan_with(text, &options));
    let secrets: Vec<(&str, bool, usize)> = outline
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.required, s.location.ranges[0].start.line))
        .collect();
    assert_eq!(secrets, [("passwd", true, 3), ("second678", false, 10)]);
    let ssh: Vec<(&str, bool, usize)> = outline
        .ssh
        .iter()
        .map(|s| (s.name.as_str(), s.required, s.location.ranges[0].start.line))
        .collect();
    assert_eq!(ssh, [("default", false, 3), ("ssh3", true, 14)]);
}

#[test]
fn outline_recursive_args() {
    let text = "
ARG FOO=123
ARG ABC=abc
ARG DEF=def
ARG FOO=${FOO}${ABC}
ARG BAR=${FOO}456
ARG FOO=${FOO}456${BAR}
FROM scratch
ARG FOO
ARG INFOO=123
ARG INBAR=${INFOO}456
ARG INFOO=${INFOO}456${INBAR}
";
    let outline = outline(&plan(text));
    let args: Vec<(&str, &str)> = outline
        .args
        .iter()
        .map(|arg| (arg.name.as_str(), arg.value.as_str()))
        .collect();
    assert_eq!(
        args,
        [
            ("ABC", "abc"),
            ("BAR", "123abc456"),
            ("FOO", "123abc456123abc456"),
            ("INBAR", "123456"),
            ("INFOO", "123456123456"),
        ]
    );
}
