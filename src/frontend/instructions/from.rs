//! `FROM [--platform=<p>] <image> [AS <name>]`: the base and the stage name,
//! with the stage-name rules (lowercased, `^[a-z][a-z0-9-_.]*$`) and the two
//! casing lints that belong to the FROM line.

use super::flags::{FlagKind, Flags};
use super::located::Located;
use crate::frontend::ParseError;
use crate::frontend::lint::{Linter, rules};

/// A typed FROM line; values unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The base as written (`golang:${GO}`, `build`, `scratch`).
    pub base: String,
    /// The stage name, lowercased.
    pub name: Option<String>,
    /// The stage name as written.
    pub name_written: Option<String>,
    /// `--platform`, unexpanded.
    pub platform: Option<String>,
}

/// BuildKit's stage-name rule, applied to the lowercased name.
pub(super) fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn type_from(located: &Located<'_>, linter: &mut Linter) -> Result<From, ParseError> {
    let node = located.node;
    let args = &node.args;
    if args.len() == 3 && args[2] != args[2].to_lowercase() {
        linter.report(
            &rules::STAGE_NAME_CASING,
            node.span,
            rules::stage_name_casing(&args[2]),
            &node.comments,
        );
    }
    if !from_matches_as_case(&node.keyword, args) {
        linter.report(
            &rules::FROM_AS_CASING,
            node.span,
            rules::from_as_casing(&node.keyword, &args[1]),
            &node.comments,
        );
    }
    let (name, name_written) = match args.as_slice() {
        [_, as_keyword, name] if as_keyword.eq_ignore_ascii_case("as") => {
            let lowered = name.to_lowercase();
            if !is_valid_stage_name(&lowered) {
                return Err(located
                    .error_at(
                        name,
                        format!(
                            "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                        ),
                    )
                    .with_hint("stage names start with a letter and hold only letters, digits, '-', '_' and '.'"));
            }
            (Some(lowered), Some(name.clone()))
        }
        [_] => (None, None),
        [] => return Err(located.error("FROM requires either one or three arguments")),
        [_, second, ..] => {
            let error = located.error_at(second, "FROM requires either one or three arguments");
            return Err(if args.len() == 3 || args.len() == 2 {
                error.with_hint("write FROM <image> AS <name>")
            } else {
                error
            });
        }
    };
    let flags = Flags::parse(located, "FROM", &[("platform", FlagKind::String)])?;
    Ok(From {
        base: args[0].clone(),
        name,
        name_written,
        platform: flags.string("platform"),
    })
}

/// `FROM x AS y` / `from x as y` are consistent; `FROM x as y` is not. Mixed
/// keyword casing is left to `ConsistentInstructionCasing`.
fn from_matches_as_case(keyword: &str, args: &[String]) -> bool {
    if args.len() < 3 {
        return true;
    }
    let lower = keyword == keyword.to_lowercase();
    let upper = keyword == keyword.to_uppercase();
    if lower == upper {
        return true;
    }
    if lower {
        args[1] == args[1].to_lowercase()
    } else {
        args[1] == args[1].to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_follow_buildkit_rule() {
        for good in ["build", "a", "go1.22-alpine", "x_y"] {
            assert!(is_valid_stage_name(good), "{good}");
        }
        for bad in ["", "1st", "-x", "a b", "a/b", "a:b"] {
            assert!(!is_valid_stage_name(bad), "{bad}");
        }
    }
}
