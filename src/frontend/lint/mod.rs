//! `--call=check`: BuildKit's Dockerfile lint rules, by the same names, with
//! the same messages and documentation links. Rules fire where the knowledge
//! is (`instructions` for the FROM line and MAINTAINER, `lower` for scoping and
//! stages); this module words them ([`rules`]), gathers them under the
//! `# check=skip=...;error=true` directive ([`Linter`]) and runs a check over
//! every stage ([`check`]).

pub mod linter;
pub mod rules;

use serde::Serialize;

pub use linter::{LintConfig, LintConfigError, Linter, Warning};

use crate::frontend::lower::{self, Location, LowerOptions, Mode, NoBaseImages};
use crate::frontend::{ParseError, Source};

/// The `--call=check` result, shaped as BuildKit's lint subrequest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub warnings: Vec<Warning>,
    /// The error that stopped the check (a Dockerfile error, or
    /// `lint violation found for rules: ...` under `error=true`).
    #[serde(rename = "buildError", skip_serializing_if = "Option::is_none")]
    pub error: Option<CheckError>,
}

impl CheckReport {
    /// The check failed: the CLI exits non-zero.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// An error found while checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckError {
    pub message: String,
    pub location: Location,
    /// The error itself, for rendering with its excerpt.
    #[serde(skip)]
    pub error: ParseError,
}

impl From<ParseError> for CheckError {
    fn from(error: ParseError) -> Self {
        Self {
            message: error.message.clone(),
            location: Location::from(error.span),
            error,
        }
    }
}

/// Lints every stage of `source` (not only those `options.target` needs).
///
/// Warnings found before an error are kept; the error goes in
/// [`CheckReport::error`]. `Err` is returned only when the check cannot run at
/// all (the `# check=` directive itself is malformed).
pub fn check(source: &Source, options: &LowerOptions) -> Result<CheckReport, ParseError> {
    lower::check_lint_config(source, options)?;
    let mut linter = Linter::default();
    let result = lower::lower_into(source, options, &NoBaseImages, Mode::Check, &mut linter);
    let error = match result {
        Err(error) => Some(CheckError::from(error)),
        Ok(_) => linter
            .violation()
            .map(|(message, span)| CheckError::from(ParseError::new(source, span, message))),
    };
    Ok(CheckReport {
        warnings: linter.into_warnings(),
        error,
    })
}

/// `SecretsUsedInArgOrEnv`: a name with a secret-looking word between
/// underscores (`API_KEY`, `password`, `GITHUB_TOKEN`) and no allow-listed one
/// (`PUBLIC`, `FILE`, `VERSION`).
pub fn looks_secret(name: &str) -> bool {
    const DENY: [&str; 10] = [
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    const ALLOW: [&str; 3] = ["public", "file", "version"];
    let words: Vec<String> = name.split('_').map(str::to_lowercase).collect();
    words.iter().any(|word| DENY.contains(&word.as_str()))
        && !words.iter().any(|word| ALLOW.contains(&word.as_str()))
}

#[cfg(test)]
mod tests;
