//! Variable scoping: global ARGs, build-args, ARG and ENV, predefined and proxy args, which instructions expand.

use super::*;

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
