//! `--chmod`: an octal mode, or a symbolic one (`u+x,go-w`, `a=rX`) applied
//! to each file's current mode as chmod(1) does.

use crate::graph::Mode;

/// A symbolic mode that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid chmod {0:?}")]
pub struct ChmodError(pub String);

/// The permission bits (and setuid/setgid/sticky) `mode` gives a file that
/// now has `current`; `is_dir` matters for `X`.
pub fn apply_mode(mode: &Mode, current: u32, is_dir: bool) -> Result<u32, ChmodError> {
    match mode {
        Mode::Octal(bits) => Ok(bits & 0o7777),
        Mode::Symbolic(text) => apply_symbolic(text, current & 0o7777, is_dir),
    }
}

fn apply_symbolic(text: &str, mut mode: u32, is_dir: bool) -> Result<u32, ChmodError> {
    let error = || ChmodError(text.to_owned());
    for clause in text.split(',') {
        let who_end = clause.find(['+', '-', '=']).ok_or_else(error)?;
        let (who, mut rest) = clause.split_at(who_end);
        let mut mask = 0;
        for c in who.chars() {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return Err(error()),
            };
        }
        if who.is_empty() {
            mask = 0o7777;
        }
        while !rest.is_empty() {
            let operator = rest.chars().next().ok_or_else(error)?;
            rest = &rest[1..];
            let perm_end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let (perms, next) = rest.split_at(perm_end);
            rest = next;
            let mut bits = 0;
            for c in perms.chars() {
                bits |= match c {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_dir || mode & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return Err(error()),
                };
            }
            let bits = bits & mask;
            mode = match operator {
                '+' => mode | bits,
                '-' => mode & !bits,
                '=' => (mode & !(mask & 0o777)) | bits,
                _ => return Err(error()),
            };
        }
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbolic(text: &str, current: u32) -> u32 {
        apply_mode(&Mode::Symbolic(text.to_owned()), current, false).unwrap()
    }

    #[test]
    fn chmod_symbolic_like_chmod() {
        assert_eq!(symbolic("u+x", 0o644), 0o744);
        assert_eq!(symbolic("go-w", 0o666), 0o644);
        assert_eq!(symbolic("a=r", 0o755), 0o444);
        assert_eq!(symbolic("+x", 0o600), 0o711);
        assert_eq!(symbolic("u=rwx,g=rx,o=", 0o000), 0o750);
        assert_eq!(
            symbolic("a+X", 0o644),
            0o644,
            "X needs an existing x bit on files"
        );
        assert_eq!(
            apply_mode(&Mode::Symbolic("a+X".into()), 0o644, true).unwrap(),
            0o755
        );
        assert_eq!(symbolic("u+s", 0o755), 0o4755);
        assert_eq!(apply_mode(&Mode::Octal(0o10755), 0, false).unwrap(), 0o755);
    }

    #[test]
    fn chmod_rejects_garbage() {
        for text in ["", "u", "z+x", "u+q", "u+x,"] {
            assert!(
                apply_mode(&Mode::Symbolic(text.to_owned()), 0o644, false).is_err(),
                "{text:?}"
            );
        }
    }
}
