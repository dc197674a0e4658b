//! `--ssh default|default=$SSH_AUTH_SOCK|id=path[,path]`: agent sockets or
//! keys a RUN step may use through `--mount=type=ssh`.

use std::path::PathBuf;
use std::str::FromStr;

/// One `--ssh` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSpec {
    pub id: String,
    /// Agent sockets or key files; empty means `$SSH_AUTH_SOCK`.
    pub paths: Vec<PathBuf>,
}

impl FromStr for SshSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (id, paths) = match input.split_once('=') {
            Some((id, paths)) => (id, paths),
            None => (input, ""),
        };
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(format!("invalid ssh id {id:?}"));
        }
        let paths = paths
            .split(',')
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .collect();
        Ok(Self {
            id: id.to_owned(),
            paths,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_reads_ids_and_paths() {
        let default: SshSpec = "default".parse().unwrap();
        assert_eq!(default.id, "default");
        assert!(default.paths.is_empty());
        let keys: SshSpec = "gh=/k1,/k2".parse().unwrap();
        assert_eq!(keys.paths.len(), 2);
        assert!("=x".parse::<SshSpec>().is_err());
        assert!("a b".parse::<SshSpec>().is_err());
    }
}
