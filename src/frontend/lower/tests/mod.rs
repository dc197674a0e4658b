//! Lowering tests, by area: the errors users see (on the right line and
//! column), variable scoping, stages and targets, and the outline and
//! targets JSON.

mod errors;
mod scoping;
mod stages;
mod subrequests;

use super::*;

pub(super) fn options() -> LowerOptions {
    LowerOptions {
        target: None,
        build_args: Vec::new(),
        target_platform: "linux/arm64".parse().unwrap(),
        build_platform: "linux/amd64".parse().unwrap(),
    }
}

pub(super) fn with_target(target: &str) -> LowerOptions {
    LowerOptions {
        target: Some(target.to_owned()),
        ..options()
    }
}

pub(super) fn with_args(args: &[(&str, &str)]) -> LowerOptions {
    LowerOptions {
        build_args: args
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        ..options()
    }
}

pub(super) fn dockerfile(text: &str) -> Source {
    Source::new("Dockerfile", text)
}

pub(super) fn plan_with(text: &str, options: &LowerOptions) -> Plan {
    match lower(&dockerfile(text), options) {
        Ok(plan) => plan,
        Err(error) => panic!("{}", error.render()),
    }
}

pub(super) fn plan(text: &str) -> Plan {
    plan_with(text, &options())
}

pub(super) fn error_with(text: &str, options: &LowerOptions) -> ParseError {
    match lower(&dockerfile(text), options) {
        Ok(plan) => panic!("expected an error, got a plan for stage {}", plan.target),
        Err(error) => error,
    }
}

pub(super) fn error(text: &str) -> ParseError {
    error_with(text, &options())
}

/// The environment the `n`th RUN of stage `stage` sees.
pub(super) fn run_env(plan: &Plan, stage: usize, n: usize) -> Vec<(String, String)> {
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

pub(super) fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}
