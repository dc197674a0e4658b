//! `RUN`: the command text is kept as written (the shell expands it at run
//! time); `--mount` values are expanded and checked, `from=` resolved, targets
//! made absolute, secret and SSH ids recorded for the outline; the step
//! carries the environment, ARG values, working directory, user and shell it
//! runs with.

use super::dispatch::StageLowering;
use super::outline::MountUse;
use super::plan::{FileSource, RunMount, RunStep, StepKind};
use super::stage::resolve_from;
use crate::frontend::instructions::{
    Command, Mount, MountError, MountFlag, MountType, Run, parse_mount,
};
use crate::frontend::path::{clean, join_clean};
use crate::frontend::{ParseError, Span};

/// The last path component, as Go's `path.Base`.
fn base_name(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            ".".to_owned()
        } else {
            "/".to_owned()
        };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

impl StageLowering<'_, '_> {
    fn lower_mount(&mut self, command: &Command, flag: &MountFlag) -> Result<RunMount, ParseError> {
        let mut failure: Option<ParseError> = None;
        let parsed = {
            let mut expand = |value: &str| -> Result<String, MountError> {
                self.expand(command, value).map_err(|error| {
                    let message = error.message.clone();
                    failure = Some(error);
                    MountError {
                        message,
                        hint: None,
                    }
                })
            };
            parse_mount(&flag.raw, Some(&mut expand))
        };
        if let Some(error) = failure {
            return Err(error);
        }
        let located = self.located(command);
        let mount_error = |message: String, hint: Option<String>| {
            let error = located.flag_error("mount", flag.nth, message);
            match hint {
                Some(hint) => error.with_hint(hint),
                None => error,
            }
        };
        let mut mount: Mount = parsed.map_err(|error| mount_error(error.message, error.hint))?;
        let from = match &mount.from {
            None => None,
            Some(value) => {
                let source = resolve_from(
                    &located,
                    self.dockerfile,
                    self.index,
                    value,
                    "mount",
                    flag.nth,
                )?;
                if let FileSource::Stage(index) = source {
                    if index >= self.index {
                        return Err(mount_error(
                            format!(
                                "cannot mount from stage {value:?} to {:?}, stage needs to be defined before current command",
                                mount.target.clone().unwrap_or_default()
                            ),
                            Some("move that stage above this one".to_owned()),
                        ));
                    }
                }
                Some(source)
            }
        };
        let span = command.span;
        let target = match mount.kind {
            MountType::Secret => {
                let id = mount
                    .source
                    .clone()
                    .or_else(|| mount.id.clone())
                    .or_else(|| mount.target.as_deref().map(base_name))
                    .ok_or_else(|| {
                        mount_error("one of source, target required".to_owned(), None)
                    })?;
                self.record_use(true, &id, mount.required, span);
                let target = match (&mount.target, &mount.env) {
                    (Some(target), _) => Some(target.clone()),
                    (None, None) => Some(format!("/run/secrets/{}", base_name(&id))),
                    (None, Some(_)) => None,
                };
                mount.id = Some(id);
                target
            }
            MountType::Ssh => {
                if mount.source.is_some() {
                    return Err(mount_error("ssh does not support source".to_owned(), None));
                }
                let id = mount.id.clone().unwrap_or_else(|| "default".to_owned());
                self.record_use(false, &id, mount.required, span);
                mount.id = Some(id);
                mount.target.clone()
            }
            MountType::Bind | MountType::Cache | MountType::Tmpfs => {
                let written = mount.target.clone().unwrap_or_default();
                let target = join_clean(&self.state.workdir, &written);
                if target == "/" {
                    return Err(mount_error(
                        format!("invalid mount target {target:?}"),
                        None,
                    ));
                }
                if mount.kind == MountType::Cache && mount.id.is_none() {
                    mount.id = Some(clean(&written));
                }
                Some(target)
            }
        };
        Ok(RunMount {
            mount,
            from,
            target,
        })
    }

    /// Records a secret (or SSH) id for the outline; the first use wins.
    fn record_use(&mut self, secret: bool, id: &str, required: bool, span: Span) {
        let uses = if secret {
            &mut self.outline.secrets
        } else {
            &mut self.outline.ssh
        };
        if !uses.iter().any(|used| used.id == id) {
            uses.push(MountUse {
                id: id.to_owned(),
                required,
                span,
            });
        }
    }

    pub(super) fn lower_run(
        &mut self,
        command: &Command,
        run: &Run,
    ) -> Result<StepKind, ParseError> {
        let mut mounts = Vec::new();
        for flag in &run.mounts {
            mounts.push(self.lower_mount(command, flag)?);
        }
        let build_args = self
            .state
            .build_args
            .iter()
            .map(|(name, value)| {
                let value = self
                    .state
                    .scope
                    .get(name)
                    .map(str::to_owned)
                    .or_else(|| value.clone())
                    .unwrap_or_default();
                (name.clone(), value)
            })
            .collect();
        Ok(StepKind::Run(RunStep {
            command: run.command.clone(),
            heredocs: run.heredocs.clone(),
            mounts,
            network: run.network,
            security: run.security,
            devices: run.devices.clone(),
            env: self.state.scope.entries().to_vec(),
            build_args,
            workdir: self.state.workdir.clone(),
            user: self.state.user.clone(),
            shell: self.state.shell.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_like_go() {
        assert_eq!(base_name("/etc/passwd"), "passwd");
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("x"), "x");
        assert_eq!(base_name("/"), "/");
    }
}
