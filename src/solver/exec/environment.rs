//! The environment a RUN command sees, as Docker builds it: the stage's ENV
//! and ARG values in order (later wins), `PATH` defaulted when the image
//! sets none, and `HOME` from the user's passwd entry unless set.

/// `PATH` for a command whose image sets none (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `K=V` strings for the command: `vars` deduplicated (the last value of a
/// name wins, at its first position), then `PATH` and `HOME` if missing.
pub fn command_environment(vars: &[(String, String)], home: &str) -> Vec<String> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in vars {
        match merged.iter_mut().find(|(seen, _)| seen == name) {
            Some(entry) => entry.1.clone_from(value),
            None => merged.push((name.clone(), value.clone())),
        }
    }
    if !merged.iter().any(|(name, _)| name == "PATH") {
        merged.insert(0, ("PATH".to_owned(), DEFAULT_PATH.to_owned()));
    }
    if !merged.iter().any(|(name, _)| name == "HOME") {
        merged.push(("HOME".to_owned(), home.to_owned()));
    }
    merged
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_home_are_defaulted_and_later_values_win() {
        let vars = vec![
            ("A".to_owned(), "1".to_owned()),
            ("B".to_owned(), "2".to_owned()),
            ("A".to_owned(), "3".to_owned()),
        ];
        assert_eq!(
            command_environment(&vars, "/root"),
            [
                format!("PATH={DEFAULT_PATH}"),
                "A=3".to_owned(),
                "B=2".to_owned(),
                "HOME=/root".to_owned()
            ]
        );
        let set = vec![
            ("PATH".to_owned(), "/bin".to_owned()),
            ("HOME".to_owned(), "/h".to_owned()),
        ];
        assert_eq!(command_environment(&set, "/root"), ["PATH=/bin", "HOME=/h"]);
    }
}
