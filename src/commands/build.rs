//! `xb build`: reads the context and Dockerfile, runs the frontend, and
//! answers `--call`. Executing the plan arrives with the solver; until then a
//! `--call=build` plans the Dockerfile, reports the plan and refuses to go on.

use std::io::Write as _;

use anyhow::bail;

use crate::cli::BuildArgs;
use crate::frontend::lower::{LowerOptions, lower};
use crate::graph::Platform;
use crate::hint::Hinted;
use crate::settings::{CallKind, CallSpec, Network, Progress};
use crate::source::context::read_build_input;

use super::{ExitStatus, call};

pub(super) fn build(args: &BuildArgs) -> anyhow::Result<ExitStatus> {
    let call = if args.check {
        CallSpec {
            kind: CallKind::Check,
            ..args.call
        }
    } else {
        args.call
    };
    if args.platforms.len() > 1 {
        bail!(Hinted::new(
            format!(
                "multi-platform builds ({} platforms) are not supported yet",
                args.platforms.len()
            ),
            "build one --platform at a time",
        ));
    }
    let input = read_build_input(&args.context, args.file.as_deref(), std::io::stdin().lock())?;
    let options = lower_options(args);
    if call.kind != CallKind::Build {
        warn_unused_flags(args, call.kind);
    }
    match call.kind {
        CallKind::Targets => call::targets(&input.dockerfile, call.format, args),
        CallKind::Outline => call::outline(&input.dockerfile, &options, call.format, args),
        CallKind::Check => call::check(&input.dockerfile, &options, call.format, args),
        CallKind::Build => plan_only(&input.dockerfile, &options, args),
    }
}

fn lower_options(args: &BuildArgs) -> LowerOptions {
    let build_platform = Platform::host();
    LowerOptions {
        target: args.target.clone(),
        build_args: args
            .build_args
            .iter()
            .filter_map(|arg| Some((arg.key.clone(), arg.value.clone()?)))
            .collect(),
        target_platform: args
            .platforms
            .first()
            .cloned()
            .unwrap_or_else(|| build_platform.clone()),
        build_platform,
    }
}

/// The flags given that do something only when building.
fn build_only_flags(args: &BuildArgs) -> Vec<&'static str> {
    let given = [
        (!args.tags.is_empty(), "--tag"),
        (!args.outputs.is_empty(), "--output"),
        (args.push, "--push"),
        (args.load, "--load"),
        (!args.cache_from.is_empty(), "--cache-from"),
        (!args.cache_to.is_empty(), "--cache-to"),
        (args.no_cache, "--no-cache"),
        (!args.no_cache_filter.is_empty(), "--no-cache-filter"),
        (args.pull, "--pull"),
        (!args.secrets.is_empty(), "--secret"),
        (!args.ssh.is_empty(), "--ssh"),
        (args.network != Network::Default, "--network"),
        (!args.labels.is_empty(), "--label"),
        (!args.build_contexts.is_empty(), "--build-context"),
        (args.iidfile.is_some(), "--iidfile"),
        (!args.insecure_registries.is_empty(), "--insecure-registry"),
    ];
    given
        .into_iter()
        .filter_map(|(set, flag)| set.then_some(flag))
        .collect()
}

fn warn_unused_flags(args: &BuildArgs, kind: CallKind) {
    let flags = build_only_flags(args);
    if !flags.is_empty() && args.progress != Progress::Quiet {
        let name = match kind {
            CallKind::Check => "check",
            CallKind::Outline => "outline",
            CallKind::Targets => "targets",
            CallKind::Build => "build",
        };
        tracing::warn!(
            "{} {} no effect with --call={name}",
            flags.join(", "),
            if flags.len() == 1 { "has" } else { "have" }
        );
    }
}

/// `--call=build` today: check and plan everything, then say what is missing.
fn plan_only(
    dockerfile: &crate::frontend::Source,
    options: &LowerOptions,
    args: &BuildArgs,
) -> anyhow::Result<ExitStatus> {
    let plan = lower(dockerfile, options)?;
    if !args.quiet && args.progress != Progress::Quiet {
        let mut stderr = std::io::stderr().lock();
        writeln!(stderr, "{}", call::describe_plan(&plan))?;
    }
    let mut missing = vec!["executing the build"];
    missing.extend(build_only_flags(args));
    bail!(Hinted::new(
        format!(
            "not supported yet: {} (this release checks and plans Dockerfiles; the builder lands next)",
            missing.join(", ")
        ),
        "use --call=check, --call=outline or --call=targets to inspect the Dockerfile",
    ))
}
