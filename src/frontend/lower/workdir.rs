//! `WORKDIR`: expanded, made absolute against the current directory and
//! cleaned; also the path helpers COPY and RUN mounts use. Reports
//! `WorkdirRelativePath` for a relative first WORKDIR.

use super::dispatch::StageLowering;
use super::plan::StepKind;
use crate::frontend::ParseError;
use crate::frontend::instructions::{Command, Workdir};
use crate::frontend::lint::rules;

/// `path` joined to `base` (unless absolute) and cleaned, always absolute.
pub(super) fn join_clean(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Go's `path.Clean`: relative paths stay relative, empty becomes `.`.
pub(super) fn clean_path(path: &str) -> String {
    if path.starts_with('/') {
        return join_clean("/", path);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

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
    fn paths_join_and_clean() {
        assert_eq!(join_clean("/", "app"), "/app");
        assert_eq!(join_clean("/app", "../src/./x/"), "/src/x");
        assert_eq!(join_clean("/app", "/abs"), "/abs");
        assert_eq!(join_clean("/", ".."), "/");
    }

    #[test]
    fn clean_like_go() {
        assert_eq!(clean_path("/root/.cache/"), "/root/.cache");
        assert_eq!(clean_path("cache/./x"), "cache/x");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("../a"), "../a");
    }

    #[test]
    fn dest_keeps_directory_slash() {
        assert_eq!(resolve_dest("/app", "."), "/app/");
        assert_eq!(resolve_dest("/app", ""), "/app/");
        assert_eq!(resolve_dest("/app", "bin/"), "/app/bin/");
        assert_eq!(resolve_dest("/app", "bin"), "/app/bin");
        assert_eq!(resolve_dest("/", "/"), "/");
    }
}
