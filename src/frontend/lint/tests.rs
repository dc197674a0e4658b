//! Lint tests. The corpus under `testdata/dockerfile/lint/<case>/` holds a
//! `Dockerfile`, the `expected` findings (one `<line> <Rule> <detail>` per
//! warning, `error <line> <message>` for an error) and optional
//! `build-args` (`NAME=value` lines); one test walks it. Most cases are
//! BuildKit's own `--call=check` tests.

use std::fmt::Write as _;
use std::path::Path;

use super::*;
use crate::graph::Platform;

fn options(build_args: Vec<(String, String)>) -> LowerOptions {
    LowerOptions {
        target: None,
        build_args,
        target_platform: "linux/amd64".parse::<Platform>().unwrap(),
        build_platform: "linux/amd64".parse::<Platform>().unwrap(),
    }
}

/// The report in the corpus' `expected` format, ordered by line.
fn findings(report: &CheckReport) -> String {
    let mut lines: Vec<(usize, String)> = report
        .warnings
        .iter()
        .map(|warning| {
            (
                warning.span.start.line,
                format!(
                    "{} {} {}",
                    warning.span.start.line, warning.rule.name, warning.detail
                ),
            )
        })
        .collect();
    lines.sort();
    let mut out: String = lines.into_iter().map(|(_, line)| line + "\n").collect();
    if let Some(error) = &report.error {
        let _ = writeln!(
            out,
            "error {} {}",
            error.error.span.start.line, error.message
        );
    }
    out
}

fn sorted(expected: &str) -> String {
    let (errors, warnings): (Vec<&str>, Vec<&str>) = expected
        .lines()
        .partition(|line| line.starts_with("error "));
    let mut warnings: Vec<(usize, &str)> = warnings
        .into_iter()
        .map(|line| {
            let number = line.split(' ').next().unwrap().parse().unwrap();
            (number, line)
        })
        .collect();
    warnings.sort_unstable();
    let mut out = String::new();
    for line in warnings.into_iter().map(|(_, line)| line).chain(errors) {
        let _ = writeln!(out, "{line}");
    }
    out
}

fn run_case(dir: &Path) -> Result<(), String> {
    let text = fs_err::read_to_string(dir.join("Dockerfile")).unwrap();
    let expected = fs_err::read_to_string(dir.join("expected")).unwrap();
    let build_args = fs_err::read_to_string(dir.join("build-args"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let source = Source::new("Dockerfile", text);
    let report = check(&source, &options(build_args)).map_err(|error| error.render())?;
    let actual = findings(&report);
    let expected = sorted(&expected);
    if actual == expected {
        Ok(())
    } else {
        Err(format!("expected:\n{expected}actual:\n{actual}"))
    }
}

#[test]
fn lint_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/dockerfile/lint");
    let mut cases: Vec<_> = fs_err::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case)
                .err()
                .map(|why| format!("--- {}\n{why}", case.display()))
        })
        .collect();
    assert!(cases.len() >= 30, "the corpus is missing");
    assert!(
        failures.is_empty(),
        "{}/{} lint cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn check_report_as_json() {
    let source = Source::new(
        "Dockerfile",
        "#check=error=true\nFROM alpine AS Build\nCMD make\n",
    );
    let report = check(&source, &options(Vec::new())).unwrap();
    assert!(report.failed());
    insta::assert_snapshot!(serde_json::to_string_pretty(&report).unwrap(), @r#"
    {
      "warnings": [
        {
          "ruleName": "StageNameCasing",
          "description": "Stage names should be lowercase",
          "url": "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/",
          "detail": "Stage name 'Build' should be lowercase",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 2,
                  "character": 0
                },
                "end": {
                  "line": 2,
                  "character": 19
                }
              }
            ]
          }
        },
        {
          "ruleName": "JSONArgsRecommended",
          "description": "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
          "url": "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
          "detail": "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 3,
                  "character": 0
                },
                "end": {
                  "line": 3,
                  "character": 7
                }
              }
            ]
          }
        }
      ],
      "buildError": {
        "message": "lint violation found for rules: StageNameCasing, JSONArgsRecommended",
        "location": {
          "ranges": [
            {
              "start": {
                "line": 2,
                "character": 0
              },
              "end": {
                "line": 2,
                "character": 19
              }
            }
          ]
        }
      }
    }
    "#);
}

#[test]
fn check_covers_stages_a_build_skips() {
    let source = Source::new(
        "Dockerfile",
        "FROM alpine AS unused\nENV key value\nFROM alpine\n",
    );
    let report = check(&source, &options(Vec::new())).unwrap();
    assert_eq!(report.warnings.len(), 2, "{report:?}");
    let plan = lower::lower(&source, &options(Vec::new())).unwrap();
    assert!(plan.warnings.is_empty());
}

#[test]
fn lint_error_fails_the_build() {
    let source = Source::new(
        "Dockerfile",
        "# check=error=true\nFROM alpine\nMAINTAINER me\n",
    );
    let error = lower::lower(&source, &options(Vec::new())).unwrap_err();
    assert_eq!(
        error.message,
        "lint violation found for rules: MaintainerDeprecated"
    );
    assert_eq!(error.span.start.line, 3);
}

#[test]
fn bad_check_directive_is_an_error() {
    let source = Source::new("Dockerfile", "# check=skip\nFROM alpine\n");
    let error = check(&source, &options(Vec::new())).unwrap_err();
    assert!(error.message.starts_with("failed to parse check options"));
}

#[test]
fn secret_names() {
    for name in [
        "API_KEY",
        "password",
        "GITHUB_TOKEN",
        "secret_MESSAGE",
        "AUTH",
    ] {
        assert!(looks_secret(name), "{name}");
    }
    for name in [
        "PUBLIC_KEY",
        "SECRET_FILE",
        "keyboard",
        "AUTH_MODULE_VERSION",
        "sunflower",
    ] {
        assert!(!looks_secret(name), "{name}");
    }
}

#[test]
fn rule_urls_follow_the_docs_pattern() {
    for rule in rules::ALL {
        let url = rule.url.unwrap();
        assert!(url.starts_with("https://docs.docker.com/go/dockerfile/rule/"));
        let slug = url.trim_end_matches('/').rsplit('/').next().unwrap();
        let kebab: String = rule
            .name
            .replace("JSON", "Json")
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let dash = (i > 0 && c.is_ascii_uppercase()).then_some('-');
                dash.into_iter()
                    .chain(std::iter::once(c.to_ascii_lowercase()))
            })
            .collect();
        assert_eq!(slug, kebab, "{}", rule.name);
    }
}

#[test]
fn warning_renders_with_rule_and_line() {
    let source = Source::new("Dockerfile", "FROM scratch as base\n");
    let report = check(&source, &options(Vec::new())).unwrap();
    insta::assert_snapshot!(report.warnings[0].render(&source), @"
    WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/
    Dockerfile:1:1: 'as' and 'FROM' keywords' casing do not match
      |
    1 | FROM scratch as base
      | ^^^^^^^^^^^^^^^^^^^^
    ");
}
