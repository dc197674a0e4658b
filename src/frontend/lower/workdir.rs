//! `WORKDIR`: expanded, made absolute against the current directory and
//! cleaned; also the path helpers COPY and RUN mounts use. Reports
//! `WorkdirRelativePath` for a relative first WORKDIR.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, Workdir};
use crate::frontend::lint::rules;
use crate::frontend::path::join_clean;

/// A COPY destination against the working directory; a trailing `/` (or `.`
/// and empty, meaning the directory itself) is kept to mean "into".
pub(super) fn resolve_dest(workdir: &str, dest: &str) -> String {
    let dest = if dest.is_empty() || dest == "." {
        "./"
    } else {
        dest
    };
    let mut resolved = join_clean(workdir, dest);
    let into = dest.ends_with('/') || dest.ends_with("/.") || dest == ".";
    if into && !resolved.ends_with('/') {
        resolved.push('/');
    }
    resolved
}

impl StageLowering<'_, '_> {
    pub(super) fn lower_workdir(
        &mut self,
        command: &Command,
        workdir: &Workdir,
    ) -> Result<StepKind, ParseError> {
        let path = self.expand(command, &workdir.path)?;
        if !self.state.workdir_set && !path.starts_with('/') {
            self.session.linter.report(
                &rules::WORKDIR_RELATIVE_PATH,
                command.span,
                rules::workdir_relative_path(&path),
                &command.comments,
            );
        }
        self.state.workdir_set = true;
        let absolute = join_clean(&self.state.workdir, &path);
        self.state.workdir.clone_from(&absolute);
        self.state.config.workdir = Some(absolute.clone());
        Ok(StepKind::Workdir(absolute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dest_keeps_directory_slash() {
        assert_eq!(resolve_dest("/app", "."), "/app/");
        assert_eq!(resolve_dest("/app", ""), "/app/");
        assert_eq!(resolve_dest("/app", "bin/"), "/app/bin/");
        assert_eq!(resolve_dest("/app", "bin"), "/app/bin");
        assert_eq!(resolve_dest("/", "/"), "/");
    }
}
