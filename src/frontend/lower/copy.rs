//! `COPY`: `--from` resolved to a stage (which must come earlier) or an
//! image, `--chown`, `--chmod`, sources and destination expanded, heredoc
//! bodies expanded unless their name was quoted, the destination resolved
//! against the working directory. `--exclude` patterns and `--from` are not
//! expanded, as in BuildKit. Also the parts ADD shares.

use super::dispatch::StageLowering;
use super::plan::{Chmod, CopyStep, FileSource, StepKind};
use super::stage::resolve_from;
use super::workdir::resolve_dest;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, Copy, Files, InlineFile};

/// Whether `mode` is a symbolic mode as chmod(1) reads it (`u+x`,
/// `go-w,a+X`, `=r`, `g=u`).
pub(super) fn is_symbolic_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.split(',').all(|clause| {
            let rest = clause.trim_start_matches(['u', 'g', 'o', 'a']);
            if rest.is_empty() {
                return false;
            }
            let mut chars = rest.chars().peekable();
            while let Some(op) = chars.next() {
                if !matches!(op, '+' | '-' | '=') {
                    return false;
                }
                if chars.peek().is_some_and(|c| matches!(c, 'u' | 'g' | 'o')) {
                    chars.next();
                    continue;
                }
                while chars
                    .peek()
                    .is_some_and(|c| matches!(c, 'r' | 'w' | 'x' | 'X' | 's' | 't'))
                {
                    chars.next();
                }
            }
            true
        })
}

/// `--chmod` as BuildKit accepts it: octal up to 07777, or symbolic.
pub(super) fn parse_chmod(value: &str) -> Result<Chmod, String> {
    let non_octal = || {
        format!(
            "invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
        )
    };
    if let Ok(mode) = u32::from_str_radix(value, 8) {
        return if mode > 0o7777 {
            Err(non_octal())
        } else {
            Ok(Chmod::Octal(mode))
        };
    }
    if value.chars().all(|c| c.is_ascii_digit()) || !is_symbolic_mode(value) {
        return Err(non_octal());
    }
    Ok(Chmod::Symbolic(value.to_owned()))
}

impl StageLowering<'_, '_> {
    /// Expands what COPY and ADD share into a step (without `from` and the
    /// ADD-only options).
    pub(super) fn lower_files(
        &mut self,
        command: &Command,
        files: &Files,
        chown: Option<&String>,
        chmod: Option<&String>,
    ) -> Result<CopyStep, ParseError> {
        let chown = self.expand_option(command, chown)?;
        let chmod = match self.expand_option(command, chmod)? {
            None => None,
            Some(value) => Some(parse_chmod(&value).map_err(|message| {
                self.located(command)
                    .flag_error("chmod", 0, message)
                    .with_hint("write --chmod=0755 or a symbolic mode such as u+x")
            })?),
        };
        let mut sources = Vec::new();
        for source in &files.sources {
            sources.push(self.expand(command, source)?);
        }
        let mut inline = Vec::new();
        for file in &files.inline {
            let data = if file.expand {
                self.expand_raw(command, &file.data)?
            } else {
                file.data.clone()
            };
            inline.push(InlineFile {
                name: file.name.clone(),
                data,
                expand: file.expand,
            });
        }
        let dest = self.expand(command, &files.dest)?;
        Ok(CopyStep {
            from: None,
            dest_path: resolve_dest(&self.state.workdir, &dest),
            sources,
            inline,
            dest,
            chown,
            chmod,
            link: false,
            parents: false,
            exclude: Vec::new(),
            checksum: None,
            keep_git_dir: None,
            unpack: None,
            workdir: self.state.workdir.clone(),
            user: self.state.user.clone(),
        })
    }

    pub(super) fn lower_copy(
        &mut self,
        command: &Command,
        copy: &Copy,
    ) -> Result<StepKind, ParseError> {
        let from = match &copy.from {
            None => None,
            Some(value) => {
                let located = self.located(command);
                let source = resolve_from(&located, self.dockerfile, self.index, value, "from", 0)?;
                if let FileSource::Stage(index) = source {
                    if index >= self.index {
                        let current = self.dockerfile.stages[self.index]
                            .from
                            .name
                            .clone()
                            .unwrap_or_else(|| format!("stage-{}", self.index));
                        return Err(located
                            .flag_error(
                                "from",
                                0,
                                format!(
                                    "cannot copy from stage {value:?}, it needs to be defined before current stage {current:?}"
                                ),
                            )
                            .with_hint("move that stage above this one"));
                    }
                }
                Some(source)
            }
        };
        let mut step = self.lower_files(
            command,
            &copy.files,
            copy.chown.as_ref(),
            copy.chmod.as_ref(),
        )?;
        step.from = from;
        step.link = copy.link;
        step.parents = copy.parents;
        step.exclude.clone_from(&copy.exclude);
        Ok(StepKind::Copy(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_octal_and_symbolic() {
        assert_eq!(parse_chmod("755"), Ok(Chmod::Octal(0o755)));
        assert_eq!(parse_chmod("0644"), Ok(Chmod::Octal(0o644)));
        assert_eq!(
            parse_chmod("u+x,go-w"),
            Ok(Chmod::Symbolic("u+x,go-w".to_owned()))
        );
        assert_eq!(parse_chmod("a=rX"), Ok(Chmod::Symbolic("a=rX".to_owned())));
        for bad in ["999", "17777", "u+q", "rwx", ""] {
            assert!(parse_chmod(bad).is_err(), "{bad}");
        }
    }
}
