//! The small flag values: `--build-arg`, `--label`, `--network`, `--progress`.

use std::str::FromStr;

/// `--build-arg KEY[=VALUE]`; a bare KEY takes its value from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildArg {
    pub key: String,
    /// `None` when no `=` was given and the variable is unset: buildx then drops it.
    pub value: Option<String>,
}

impl FromStr for BuildArg {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (key, value) = match input.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (input, std::env::var(input).ok()),
        };
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(format!("invalid build-arg name {key:?}"));
        }
        Ok(Self {
            key: key.to_owned(),
            value,
        })
    }
}

/// `--label KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub key: String,
    pub value: String,
}

impl FromStr for Label {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (key, value) = input.split_once('=').unwrap_or((input, ""));
        if key.is_empty() {
            return Err("expected KEY=VALUE".to_owned());
        }
        Ok(Self {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// `--network`: the network RUN steps get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Network {
    /// The host's network, as buildx gives by default.
    #[default]
    Default,
    /// No network at all.
    None,
    /// The host's network namespace.
    Host,
}

/// `--isolation`: how RUN steps are kept apart from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Isolation {
    /// Namespaces where the host allows them, else chroot (said once).
    #[default]
    Auto,
    /// Fresh user, mount, pid, ipc and uts namespaces for every RUN.
    #[value(alias = "oci", alias = "rootless")]
    Sandbox,
    /// No new namespaces: a chroot into the step's root, as the caller.
    Chroot,
}

/// `--snapshotter`: how a RUN step's root filesystem is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SnapshotterChoice {
    /// overlayfs where the kernel allows it, else copies (said once).
    #[default]
    Auto,
    /// overlayfs over the layer directories.
    Overlay,
    /// A copy of the layers; slower, works everywhere.
    Native,
}

/// `--progress`: how the build is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Progress {
    /// `tty` on a terminal, `plain` elsewhere.
    #[default]
    Auto,
    /// Numbered steps, for CI logs.
    Plain,
    /// A live display.
    Tty,
    /// Nothing but errors.
    Quiet,
    /// One JSON object per event, on stderr.
    Rawjson,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_arg_reads_value_or_environment() {
        let given: BuildArg = "A=1=2".parse().unwrap();
        assert_eq!(given.value.as_deref(), Some("1=2"));
        let empty: BuildArg = "A=".parse().unwrap();
        assert_eq!(empty.value.as_deref(), Some(""));
        let from_env: BuildArg = "PATH".parse().unwrap();
        assert!(from_env.value.is_some());
        let unset: BuildArg = "XB_SURELY_UNSET_VARIABLE".parse().unwrap();
        assert_eq!(unset.value, None);
        assert!("=1".parse::<BuildArg>().is_err());
    }

    #[test]
    fn label_needs_a_key() {
        assert_eq!("a=b=c".parse::<Label>().unwrap().value, "b=c");
        assert!("=b".parse::<Label>().is_err());
    }
}
