//! Stages: what the target needs, cycles, names, ONBUILD, config inheritance.

use super::*;
use crate::frontend::instructions::Keyword;

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

#[test]
fn stage_built_on_a_stage_keeps_its_platform() {
    let plan = plan(
        "FROM --platform=linux/riscv64 alpine AS cross\nFROM --platform=linux/s390x cross\nRUN true\n",
    );
    let riscv: Option<Platform> = Some("linux/riscv64".parse().unwrap());
    assert_eq!(plan.stages[0].platform, riscv);
    assert_eq!(plan.stages[1].platform, riscv);
}

#[test]
fn base_image_config_feeds_expansion() {
    struct Golang;
    impl BaseImages for Golang {
        fn config(&self, reference: &ImageReference, _: &Platform) -> Option<BaseConfig> {
            (reference.normalized == "docker.io/library/golang:latest").then(|| BaseConfig {
                env: vec![
                    ("PATH".into(), "/go/bin:/usr/bin".into()),
                    ("GOPATH".into(), "/go".into()),
                ],
                workdir: Some("/go".into()),
                ..BaseConfig::default()
            })
        }
    }
    let source = dockerfile(
        "FROM golang AS build\nENV PATH=$PATH:/extra\nCOPY . $GOPATH/src/\nFROM scratch\nRUN true\n",
    );
    let plan = lower_with(&source, &with_target("build"), &Golang).unwrap();
    assert_eq!(
        plan.stages[0].config.env,
        [("PATH".to_owned(), "/go/bin:/usr/bin:/extra".to_owned())]
    );
    let StepKind::Copy(copy) = &plan.stages[0].steps[1].kind else {
        panic!("a COPY");
    };
    assert_eq!(copy.dest_path, "/go/src/");
    let plan = lower_with(&source, &options(), &Golang).unwrap();
    let env = run_env(&plan, 1, 0);
    assert_eq!(lookup(&env, "PATH"), Some(dispatch::DEFAULT_PATH));
}

#[test]
fn base_image_onbuild_triggers_run_first() {
    struct WithTriggers;
    impl BaseImages for WithTriggers {
        fn config(&self, reference: &ImageReference, _: &Platform) -> Option<BaseConfig> {
            (reference.written == "node-onbuild").then(|| BaseConfig {
                onbuild: vec![
                    "COPY --from=deps /deps /deps".into(),
                    "RUN npm install".into(),
                ],
                ..BaseConfig::default()
            })
        }
    }
    let text =
        "FROM alpine AS deps\nRUN true\nFROM alpine AS unused\nFROM node-onbuild\nRUN npm test\n";
    let plan = lower_with(&dockerfile(text), &options(), &WithTriggers).unwrap();
    assert_eq!(plan.needed, [0, 2]);
    let steps = &plan.stages[2].steps;
    let on_build: Vec<(Keyword, bool)> = steps
        .iter()
        .map(|step| (step.keyword, step.on_build))
        .collect();
    assert_eq!(
        on_build,
        [
            (Keyword::Copy, true),
            (Keyword::Run, true),
            (Keyword::Run, false)
        ]
    );
    assert_eq!(steps[0].span.start.line, 4);
}

#[test]
fn bad_base_image_trigger_points_at_from() {
    struct BadTrigger;
    impl BaseImages for BadTrigger {
        fn config(&self, _: &ImageReference, _: &Platform) -> Option<BaseConfig> {
            Some(BaseConfig {
                onbuild: vec!["FNORD x".into()],
                ..BaseConfig::default()
            })
        }
    }
    let error = lower_with(&dockerfile("FROM alpine\n"), &options(), &BadTrigger).unwrap_err();
    assert_eq!(
        error.message,
        "ONBUILD trigger of the base image: unknown instruction: FNORD"
    );
    assert_eq!(error.span.start.line, 1);
}

#[test]
fn from_scratch_is_nothing_unless_a_stage_is_called_so() {
    let plan = plan("FROM alpine\nCOPY --from=scratch / /empty\n");
    let StepKind::Copy(copy) = &plan.stages[0].steps[0].kind else {
        panic!("a COPY");
    };
    assert_eq!(copy.from, Some(FileSource::Scratch));
}
