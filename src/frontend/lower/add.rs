//! `ADD`: COPY's expansion plus `--checksum` (expanded; one HTTP(S) or Git
//! source only), `--keep-git-dir` and `--unpack`.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Add, Command};

/// A source ADD fetches over the network rather than from the context.
pub(super) fn is_remote(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://") || is_git(source)
}

fn is_git(source: &str) -> bool {
    source.starts_with("git@")
        || source.starts_with("git://")
        || source.starts_with("ssh://")
        || source.split(['#', '?']).next().is_some_and(|url| {
            url.contains("://")
                && std::path::Path::new(url)
                    .extension()
                    .is_some_and(|extension| extension.eq_ignore_ascii_case("git"))
        })
}

impl StageLowering<'_, '_> {
    pub(super) fn lower_add(
        &mut self,
        command: &Command,
        add: &Add,
    ) -> Result<StepKind, ParseError> {
        let mut step =
            self.lower_files(command, &add.files, add.chown.as_ref(), add.chmod.as_ref())?;
        step.checksum = self.expand_option(command, add.checksum.as_ref())?;
        if step
            .checksum
            .as_deref()
            .is_some_and(|checksum| !checksum.is_empty())
        {
            if step.sources.len() != 1 {
                return Err(self.located(command).flag_error(
                    "checksum",
                    0,
                    "checksum can't be specified for multiple sources",
                ));
            }
            if !is_remote(&step.sources[0]) {
                return Err(self.located(command).flag_error(
                    "checksum",
                    0,
                    "checksum requires HTTP(S) or Git sources",
                ));
            }
            let written = step.checksum.as_deref().unwrap_or_default();
            if written.parse::<crate::graph::Digest>().is_err() {
                return Err(self.located(command).flag_error(
                    "checksum",
                    0,
                    "invalid checksum: expected sha256:<64 hex digits>",
                ));
            }
        }
        step.link = add.link;
        step.exclude.clone_from(&add.exclude);
        step.keep_git_dir = add.keep_git_dir;
        step.unpack = add.unpack;
        Ok(StepKind::Add(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_sources() {
        assert!(is_remote("https://example.com/a.tar.gz"));
        assert!(is_remote("git@github.com:moby/buildkit.git"));
        assert!(is_remote("https://github.com/moby/buildkit.git#v0.10.1"));
        assert!(!is_remote("./local.tar"));
    }
}
