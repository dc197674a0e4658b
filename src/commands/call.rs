//! Prints the answers to `--call=targets|outline|check` (text tables like
//! buildx, or JSON with `format=json`), writes them to `--metadata-file`, and
//! describes a plan for `--call=build`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::BuildArgs;
use crate::frontend::Source;
use crate::frontend::lint::{CheckReport, check as check_dockerfile};
use crate::frontend::lower::{LowerOptions, Plan, list_targets, lower, outline as outline_plan};
use crate::settings::{CallFormat, Progress};

use super::ExitStatus;
use super::table::table;

fn write_metadata(path: Option<&Path>, call: &str, result: &impl Serialize) -> anyhow::Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let document = serde_json::json!({ "xb.call": call, "result": result });
    let text = serde_json::to_string_pretty(&document)?;
    fs_err::write(path, text + "\n").context("failed to write the metadata file")
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

fn print_text(text: &str) -> anyhow::Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// `--call=targets`.
pub(super) fn targets(
    source: &Source,
    format: CallFormat,
    args: &BuildArgs,
) -> anyhow::Result<ExitStatus> {
    let targets = list_targets(source)?;
    write_metadata(args.metadata_file.as_deref(), "targets", &targets)?;
    if format == CallFormat::Json {
        print_json(&targets)?;
        return Ok(ExitStatus::Success);
    }
    let mut rows = vec![vec!["TARGET".to_owned(), "DESCRIPTION".to_owned()]];
    for target in &targets.targets {
        let mut name = target
            .name
            .clone()
            .unwrap_or_else(|| format!("({})", target.base));
        if target.default {
            name.push_str(" (default)");
        }
        rows.push(vec![name, target.description.clone().unwrap_or_default()]);
    }
    print_text(&table(&rows, 3))?;
    Ok(ExitStatus::Success)
}

/// `--call=outline`.
pub(super) fn outline(
    source: &Source,
    options: &LowerOptions,
    format: CallFormat,
    args: &BuildArgs,
) -> anyhow::Result<ExitStatus> {
    let plan = lower(source, options)?;
    let outline = outline_plan(&plan);
    write_metadata(args.metadata_file.as_deref(), "outline", &outline)?;
    if format == CallFormat::Json {
        print_json(&outline)?;
        return Ok(ExitStatus::Success);
    }
    let mut text = String::new();
    let target = outline
        .name
        .clone()
        .unwrap_or_else(|| plan.target_stage().display_name());
    let _ = writeln!(text, "TARGET:      {target}");
    if let Some(description) = &outline.description {
        let _ = writeln!(text, "DESCRIPTION: {description}");
    }
    if !outline.args.is_empty() {
        let mut rows = vec![vec![
            "BUILD ARG".to_owned(),
            "VALUE".to_owned(),
            "DESCRIPTION".to_owned(),
        ]];
        for arg in &outline.args {
            let value = if arg.value.is_empty() {
                "<none>".to_owned()
            } else {
                arg.value.clone()
            };
            rows.push(vec![
                arg.name.clone(),
                value,
                arg.description.clone().unwrap_or_default(),
            ]);
        }
        let _ = write!(text, "\n{}", table(&rows, 3));
    }
    for (heading, uses) in [("SECRET", &outline.secrets), ("SSH", &outline.ssh)] {
        if uses.is_empty() {
            continue;
        }
        let mut rows = vec![vec![heading.to_owned(), "REQUIRED".to_owned()]];
        for used in uses {
            rows.push(vec![
                used.name.clone(),
                if used.required { "true" } else { "" }.to_owned(),
            ]);
        }
        let _ = write!(text, "\n{}", table(&rows, 3));
    }
    print_text(&text)?;
    Ok(ExitStatus::Success)
}

/// `--call=check`: exit 1 when a rule set to error fired.
pub(super) fn check(
    source: &Source,
    options: &LowerOptions,
    format: CallFormat,
    args: &BuildArgs,
) -> anyhow::Result<ExitStatus> {
    let report = check_dockerfile(source, options)?;
    write_metadata(args.metadata_file.as_deref(), "check", &report)?;
    if args.progress == Progress::Rawjson {
        let mut stderr = std::io::stderr().lock();
        for warning in &report.warnings {
            serde_json::to_writer(&mut stderr, warning)?;
            writeln!(stderr)?;
        }
    }
    if format == CallFormat::Json {
        print_json(&report)?;
    } else {
        print_text(&render_check(source, &report))?;
    }
    Ok(if report.failed() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn render_check(source: &Source, report: &CheckReport) -> String {
    let mut text = String::new();
    for warning in &report.warnings {
        let _ = writeln!(text, "{}\n", warning.render(source));
    }
    let _ = match report.warnings.len() {
        0 => writeln!(text, "Check complete, no warnings found."),
        1 => writeln!(text, "Check complete, 1 warning has been found!"),
        n => writeln!(text, "Check complete, {n} warnings have been found!"),
    };
    if let Some(error) = &report.error {
        let _ = writeln!(text, "\nerror: {}", error.error.render());
    }
    text
}

/// The stages a build leaves out and the build args nothing used, for the log.
pub(super) fn describe_skipped(plan: &Plan) -> Option<String> {
    let mut lines = Vec::new();
    if !plan.skipped.is_empty() {
        let names: Vec<String> = plan
            .skipped
            .iter()
            .map(|stage| plan.stages[stage.index].display_name())
            .collect();
        lines.push(format!("skipped unused stages: {}", names.join(", ")));
    }
    if !plan.unused_build_args.is_empty() {
        lines.push(format!(
            "warning: build args not consumed by any stage: {}",
            plan.unused_build_args.join(", ")
        ));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}
