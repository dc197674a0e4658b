//! `RUN --mount=type=...,k=v,...`: the five mount types (bind, cache, tmpfs,
//! secret, ssh) and every option BuildKit accepts for them, with its checks
//! (mode/uid/gid only for cache, secret and ssh; `size` only for tmpfs;
//! `required` only for secret and ssh; `sharing` only for cache).
//!
//! A mount is parsed twice, as in BuildKit: once when the instruction is typed,
//! checking only what cannot depend on variables (`from` must not use one),
//! and again when the stage is lowered, with every value expanded.

use std::fmt;

use serde::Serialize;

use super::suggest;
use crate::frontend::lint::linter::parse_bool;

/// The kind of a RUN mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    #[default]
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    const ALL: [(&'static str, MountType); 5] = [
        ("bind", MountType::Bind),
        ("cache", MountType::Cache),
        ("tmpfs", MountType::Tmpfs),
        ("secret", MountType::Secret),
        ("ssh", MountType::Ssh),
    ];

    pub fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

impl fmt::Display for MountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

/// One parsed `--mount`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Mount {
    pub kind: MountType,
    /// `from=`: a stage name or index, or an image.
    pub from: Option<String>,
    /// `source=`/`src=`.
    pub source: Option<String>,
    /// `target=`/`dst=`/`destination=`.
    pub target: Option<String>,
    /// Defaults: read-only for bind, secret and ssh; read-write for cache and tmpfs.
    pub readonly: bool,
    /// `size=` of a tmpfs, in bytes.
    pub size: Option<u64>,
    /// `id=` of a cache, secret or ssh mount.
    pub id: Option<String>,
    pub sharing: Option<Sharing>,
    /// `required` (secret, ssh).
    pub required: bool,
    /// `env=` of a secret: expose it as this environment variable.
    pub env: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// A `--mount` value as written; `lower` parses it with variables expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountFlag {
    pub raw: String,
    /// Which `--mount` flag of the instruction this is (0-based), to place errors.
    pub nth: usize,
}

/// A `--mount` value that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MountError {
    pub message: String,
    pub hint: Option<String>,
}

impl MountError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    fn suggesting(message: impl Into<String>, value: &str, options: &[&str]) -> Self {
        Self {
            message: message.into(),
            hint: suggest::closest(value, options.iter().copied(), true)
                .map(|closest| format!("did you mean {closest}?")),
        }
    }
}

const ALL_KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// Splits a CSV record (`"a,b",c` → `a,b` and `c`), as the `--mount` value is
/// read by BuildKit.
pub fn split_csv(value: &str) -> Result<Vec<String>, MountError> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = value.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => field.push(c),
                        None => {
                            return Err(MountError::new(format!(
                                "failed to parse csv mounts: unterminated quote in {value:?}"
                            )));
                        }
                    }
                }
                at_start = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err(MountError::new(format!(
                        "failed to parse csv mounts: extraneous text after a quoted field in {value:?}"
                    )));
                }
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    fields.push(field);
    Ok(fields)
}

/// Expands one option value of a mount.
pub type Expander<'e> = &'e mut dyn FnMut(&str) -> Result<String, MountError>;

/// Parses a `--mount` value. `expand` is applied to every `key=value` value;
/// with `expand` absent only `from` is read (the typing-time check).
pub fn parse_mount(value: &str, mut expand: Option<Expander<'_>>) -> Result<Mount, MountError> {
    let mut mount = Mount::default();
    let mut readonly_set = false;
    for field in split_csv(value)? {
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key.to_lowercase(), Some(value)),
            None => (field.to_lowercase(), None),
        };
        let Some(value) = value else {
            if expand.is_none() {
                continue;
            }
            match key.as_str() {
                "readonly" | "ro" => mount.readonly = true,
                "readwrite" | "rw" => mount.readonly = false,
                "required" if matches!(mount.kind, MountType::Secret | MountType::Ssh) => {
                    mount.required = true;
                }
                "required" => {
                    return Err(MountError::new(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        mount.kind
                    )));
                }
                _ => {
                    return Err(MountError::new(format!(
                        "invalid field '{field}' must be a key=value pair"
                    )));
                }
            }
            readonly_set |= key != "required";
            continue;
        };
        let value = match expand.as_mut() {
            Some(expand) => expand(value)?,
            None if key == "from" => {
                if value.find('$').is_some_and(|at| at + 1 != value.len()) {
                    return Err(MountError {
                        message: format!(
                            "'{key}' doesn't support variable expansion, define alias stage instead"
                        ),
                        hint: Some("add `FROM <image> AS <name>` with the ARG in global scope and mount from=<name>".to_owned()),
                    });
                }
                value.to_owned()
            }
            None => continue,
        };
        let bad_value = || MountError::new(format!("invalid value for {key}: {value}"));
        let unexpected = |kind: MountType| {
            MountError::new(format!("unexpected key '{key}' for mount type '{kind}'"))
        };
        match key.as_str() {
            "type" => {
                let lowered = value.to_lowercase();
                let Some((_, kind)) = MountType::ALL.iter().find(|(name, _)| *name == lowered)
                else {
                    let names = MountType::ALL.map(|(name, _)| name);
                    return Err(MountError::suggesting(
                        format!("unsupported mount type {value:?}"),
                        &value,
                        &names,
                    ));
                };
                mount.kind = *kind;
            }
            "from" => mount.from = Some(value),
            "source" | "src" => mount.source = Some(value),
            "target" | "dst" | "destination" => mount.target = Some(value),
            "readonly" | "ro" => {
                mount.readonly = parse_bool(&value).ok_or_else(bad_value)?;
                readonly_set = true;
            }
            "readwrite" | "rw" => {
                mount.readonly = !parse_bool(&value).ok_or_else(bad_value)?;
                readonly_set = true;
            }
            "required" => {
                if !matches!(mount.kind, MountType::Secret | MountType::Ssh) {
                    return Err(unexpected(mount.kind));
                }
                mount.required = parse_bool(&value).ok_or_else(bad_value)?;
            }
            "size" => {
                if mount.kind != MountType::Tmpfs {
                    return Err(unexpected(mount.kind));
                }
                mount.size = Some(parse_ram_size(&value).ok_or_else(bad_value)?);
            }
            "id" => mount.id = Some(value),
            "sharing" => {
                mount.sharing = Some(match value.to_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => {
                        return Err(MountError::suggesting(
                            format!("unsupported sharing value {value:?}"),
                            &value,
                            &["shared", "private", "locked"],
                        ));
                    }
                });
            }
            "mode" => {
                let mode = u32::from_str_radix(&value, 8)
                    .map_err(|_| MountError::new(format!("invalid value {value} for mode")))?;
                mount.mode = Some(mode);
            }
            "uid" => {
                let uid = value
                    .parse()
                    .map_err(|_| MountError::new(format!("invalid value {value} for uid")))?;
                mount.uid = Some(uid);
            }
            "gid" => {
                let gid = value
                    .parse()
                    .map_err(|_| MountError::new(format!("invalid value {value} for gid")))?;
                mount.gid = Some(gid);
            }
            "env" => mount.env = Some(value),
            _ => {
                return Err(MountError::suggesting(
                    format!("unexpected key '{key}' in '{field}'"),
                    &key,
                    &ALL_KEYS,
                ));
            }
        }
    }
    check_mount(&mut mount, readonly_set)?;
    Ok(mount)
}

fn check_mount(mount: &mut Mount, readonly_set: bool) -> Result<(), MountError> {
    let kind = mount.kind;
    if !matches!(kind, MountType::Secret | MountType::Ssh | MountType::Cache) {
        for (name, set) in [
            ("mode", mount.mode.is_some()),
            ("uid", mount.uid.is_some()),
            ("gid", mount.gid.is_some()),
        ] {
            if set {
                return Err(MountError::new(format!(
                    "{name} not allowed for {:?} type mounts",
                    kind.name()
                )));
            }
        }
    }
    if !readonly_set {
        mount.readonly = !matches!(kind, MountType::Cache | MountType::Tmpfs);
    }
    if kind == MountType::Secret {
        if mount.from.is_some() {
            return Err(MountError::new("secret mount should not have a from"));
        }
        if mount.sharing.is_some() {
            return Err(MountError::new("secret mount should not define sharing"));
        }
        if mount.source.is_none() && mount.target.is_none() && mount.id.is_none() {
            return Err(MountError::new(
                "invalid secret mount. one of source, target required",
            ));
        }
        if mount.source.is_some() && mount.id.is_some() {
            return Err(MountError::new("both source and id can't be set"));
        }
    }
    if mount.sharing.is_some() && kind != MountType::Cache {
        return Err(MountError::new(format!(
            "invalid cache sharing set for {kind} mount"
        )));
    }
    Ok(())
}

/// A size like `64m`, `1.5GiB` or `1024` in bytes, with binary multipliers
/// (Docker's `RAMInBytes`).
pub fn parse_ram_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    if number.is_empty() || number.starts_with('.') {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim_start().to_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    let bytes = number * 1024_f64.powi(power);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative size, truncated to whole bytes as Docker does"
    )]
    Some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Mount, MountError> {
        let mut identity = |v: &str| Ok::<_, MountError>(v.to_owned());
        parse_mount(value, Some(&mut identity))
    }

    #[test]
    fn mount_defaults_to_readonly_bind() {
        let mount = parse("target=/src,from=build,source=/out").unwrap();
        assert_eq!(mount.kind, MountType::Bind);
        assert!(mount.readonly);
        assert_eq!(mount.from.as_deref(), Some("build"));
        assert_eq!(mount.source.as_deref(), Some("/out"));
        assert!(!parse("type=bind,target=/x,rw").unwrap().readonly);
    }

    #[test]
    fn mount_cache_options() {
        let mount =
            parse("type=cache,dst=/root/.cache,id=go,sharing=locked,mode=0755,uid=1000,gid=1000")
                .unwrap();
        assert_eq!(mount.kind, MountType::Cache);
        assert!(!mount.readonly);
        assert_eq!(mount.mode, Some(0o755));
        assert_eq!(mount.uid, Some(1000));
        assert_eq!(mount.sharing, Some(Sharing::Locked));
    }

    #[test]
    fn mount_secret_and_ssh() {
        let secret = parse("type=secret,id=aws,env=AWS_KEY,required").unwrap();
        assert!(secret.required);
        assert_eq!(secret.env.as_deref(), Some("AWS_KEY"));
        assert!(parse("type=ssh,required=true").unwrap().required);
        assert_eq!(
            parse("type=tmpfs,target=/t,size=64m").unwrap().size,
            Some(64 << 20)
        );
    }

    #[test]
    fn mount_errors_are_buildkits() {
        let message = |value: &str| parse(value).unwrap_err().message;
        assert_eq!(message("type=bogus"), "unsupported mount type \"bogus\"");
        assert_eq!(
            parse("type=cahce").unwrap_err().hint.as_deref(),
            Some("did you mean cache?")
        );
        assert_eq!(
            message("type=bind,mode=0700"),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            message("type=cache,size=1g"),
            "unexpected key 'size' for mount type 'cache'"
        );
        assert_eq!(
            message("type=bind,required"),
            "unexpected key 'required' for mount type 'bind'"
        );
        assert_eq!(
            message("target=/x,bogus=1"),
            "unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            message("target"),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            message("type=secret"),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            message("type=cache,sharing=everyone"),
            "unsupported sharing value \"everyone\""
        );
        assert_eq!(
            message("type=bind,sharing=shared"),
            "invalid cache sharing set for bind mount"
        );
        assert_eq!(message("type=cache,mode=999"), "invalid value 999 for mode");
        assert_eq!(
            message("type=cache,target=/x,relabel=shared"),
            "unexpected key 'relabel' in 'relabel=shared'"
        );
    }

    #[test]
    fn mount_from_variable_is_refused_at_typing() {
        let error = parse_mount("from=$stage,target=/x", None).unwrap_err();
        assert!(error.message.contains("doesn't support variable expansion"));
        assert!(parse_mount("type=$T,target=$X", None).is_ok());
    }

    #[test]
    fn csv_handles_quotes() {
        assert_eq!(split_csv(r#"a,"b,c",d"#).unwrap(), ["a", "b,c", "d"]);
        assert_eq!(split_csv(r#""say ""hi""""#).unwrap(), [r#"say "hi""#]);
        assert!(split_csv(r#""open"#).is_err());
    }

    #[test]
    fn ram_sizes() {
        assert_eq!(parse_ram_size("1024"), Some(1024));
        assert_eq!(parse_ram_size("1k"), Some(1024));
        assert_eq!(parse_ram_size("1.5GiB"), Some(1_610_612_736));
        assert_eq!(parse_ram_size("lots"), None);
    }
}
