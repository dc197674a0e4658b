//! Collects lint warnings while a Dockerfile is typed and lowered, applying
//! the `# check=skip=...;error=true` directive (and the same directive written
//! in the comment block just above one instruction, which applies to that
//! instruction alone, as BuildKit does).

use std::collections::BTreeSet;

use serde::{Serialize, Serializer};

use super::rules::Rule;
use crate::frontend::lower::Location;
use crate::frontend::{ParseError, Source, Span};

/// What `# check=` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintConfig {
    /// `skip=all`.
    pub skip_all: bool,
    /// `skip=Rule1,Rule2`.
    pub skip: BTreeSet<String>,
    /// `experimental=all`.
    pub experimental_all: bool,
    /// `experimental=Rule1`.
    pub experimental: BTreeSet<String>,
    /// `error=true`: a warning fails the build.
    pub error: bool,
}

/// A `# check=` value that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid check option {0:?}")]
pub struct LintConfigError(pub String);

impl LintConfig {
    /// Parses `skip=A,B;error=true;experimental=all` (BuildKit `ParseLintOptions`).
    pub fn parse(value: &str) -> Result<Self, LintConfigError> {
        let value = value.trim();
        let mut config = Self::default();
        if value.is_empty() {
            return Ok(config);
        }
        for part in value.splitn(3, ';') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(LintConfigError(part.to_owned()));
            };
            let value = value.trim();
            let names = || -> BTreeSet<String> {
                value
                    .split(',')
                    .map(|name| name.trim().to_owned())
                    .collect()
            };
            match key.trim() {
                "skip" if value == "all" => config.skip_all = true,
                "skip" => config.skip = names(),
                "experimental" if value == "all" => config.experimental_all = true,
                "experimental" => config.experimental = names(),
                "error" => {
                    config.error =
                        parse_bool(value).ok_or_else(|| LintConfigError(part.to_owned()))?;
                }
                other => return Err(LintConfigError(other.to_owned())),
            }
        }
        Ok(config)
    }

    /// This configuration with `other` merged in (skips and experiments add up).
    #[must_use]
    pub fn merged(&self, other: &LintConfig) -> Self {
        let mut merged = self.clone();
        merged.skip_all |= other.skip_all;
        merged.experimental_all |= other.experimental_all;
        merged.skip.extend(other.skip.iter().cloned());
        merged
            .experimental
            .extend(other.experimental.iter().cloned());
        merged
    }

    fn enabled(&self, rule: &Rule) -> bool {
        if rule.experimental {
            self.experimental_all || self.experimental.contains(rule.name)
        } else {
            !self.skip_all && !self.skip.contains(rule.name)
        }
    }
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The `check=` directive written in a comment directly above an instruction.
fn config_from_comments(comments: &[String]) -> Option<LintConfig> {
    comments.iter().find_map(|comment| {
        let (key, value) = comment.trim().split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("check") {
            return None;
        }
        let value = value.trim_start();
        let value = value.split(' ').next().unwrap_or_default();
        LintConfig::parse(value).ok()
    })
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub rule: &'static Rule,
    /// The message, e.g. `Stage name 'Build' should be lowercase`.
    pub detail: String,
    /// Where the rule fired.
    pub span: Span,
}

impl Warning {
    pub fn new(rule: &'static Rule, span: Span, detail: impl Into<String>) -> Self {
        Self {
            rule,
            detail: detail.into(),
            span,
        }
    }

    /// The warning the way `xb` prints it, quoting the lines it is about:
    ///
    /// ```text
    /// WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/
    /// Dockerfile:2:1: 'as' and 'FROM' keywords' casing do not match
    ///   |
    /// 2 | FROM scratch as base
    ///   | ^^^^^^^^^^^^^^^^^^^^
    /// ```
    pub fn render(&self, source: &Source) -> String {
        let mut out = format!("WARNING: {}", self.rule.name);
        if let Some(url) = self.rule.url {
            out.push_str(" - ");
            out.push_str(url);
        }
        out.push('\n');
        out.push_str(&ParseError::new(source, self.span, &self.detail).render());
        out
    }
}

/// Serializes as BuildKit's lint subrequest does:
/// `{ruleName, description, url, detail, location}`.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut state = serializer.serialize_struct("Warning", 5)?;
        state.serialize_field("ruleName", self.rule.name)?;
        state.serialize_field("description", self.rule.description)?;
        if let Some(url) = self.rule.url {
            state.serialize_field("url", url)?;
        }
        state.serialize_field("detail", &self.detail)?;
        state.serialize_field("location", &Location::from(self.span))?;
        state.end()
    }
}

/// Gathers warnings under one configuration.
#[derive(Debug, Clone, Default)]
pub struct Linter {
    config: LintConfig,
    warnings: Vec<Warning>,
}

impl Linter {
    pub fn new(config: LintConfig) -> Self {
        Self {
            config,
            warnings: Vec::new(),
        }
    }

    pub fn config(&self) -> &LintConfig {
        &self.config
    }

    /// Records `detail` for `rule` at `span` unless the configuration, or a
    /// `# check=` comment among `comments`, skips the rule.
    pub fn report(
        &mut self,
        rule: &'static Rule,
        span: Span,
        detail: impl Into<String>,
        comments: &[String],
    ) {
        let enabled = match config_from_comments(comments) {
            Some(local) => self.config.merged(&local).enabled(rule),
            None => self.config.enabled(rule),
        };
        if enabled {
            self.warnings.push(Warning::new(rule, span, detail));
        }
    }

    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The warnings, ordered by line (stable, so same-line warnings keep the
    /// order they were found in).
    pub fn into_warnings(mut self) -> Vec<Warning> {
        self.warnings.sort_by_key(|warning| warning.span.start.line);
        self.warnings
    }

    /// With `error=true` and at least one warning: the names of the rules
    /// that fired, for `lint violation found for rules: ...`.
    pub fn violation(&self) -> Option<(String, Span)> {
        if !self.config.error || self.warnings.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = Vec::new();
        for warning in &self.warnings {
            if !names.contains(&warning.rule.name) {
                names.push(warning.rule.name);
            }
        }
        let first = self
            .warnings
            .iter()
            .map(|warning| warning.span)
            .min_by_key(|span| span.start.line)
            .unwrap_or_default();
        Some((
            format!("lint violation found for rules: {}", names.join(", ")),
            first,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::lint::rules;

    #[test]
    fn lint_config_parses_skip_and_error() {
        let config = LintConfig::parse("skip=FromAsCasing, StageNameCasing;error=true").unwrap();
        assert!(config.error);
        assert!(config.skip.contains("FromAsCasing"));
        assert!(config.skip.contains("StageNameCasing"));
        assert!(LintConfig::parse("skip=all").unwrap().skip_all);
        assert!(LintConfig::parse("bogus").is_err());
        assert!(LintConfig::parse("error=maybe").is_err());
        assert!(LintConfig::parse("wat=1").is_err());
    }

    #[test]
    fn linter_honours_comment_directive() {
        let mut linter = Linter::default();
        let comments = vec!["check=skip=MaintainerDeprecated".to_owned()];
        linter.report(
            &rules::MAINTAINER_DEPRECATED,
            Span::lines(3, 3),
            "x",
            &comments,
        );
        assert!(linter.warnings().is_empty());
        linter.report(&rules::MAINTAINER_DEPRECATED, Span::lines(3, 3), "x", &[]);
        assert_eq!(linter.warnings().len(), 1);
    }
}
