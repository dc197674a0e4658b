//! Image references (`name`, `name:tag`, `name@digest`, `host:port/path:tag`)
//! as the distribution spec and Docker parse them, with Docker Hub short names
//! normalised to `docker.io/library/…`. Resolving a reference to bytes is the
//! registry's job; this only checks and normalises the text.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The registry Docker Hub short names resolve to.
pub const DOCKER_HUB: &str = "docker.io";

/// A checked, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reference {
    /// Registry host, with port if any (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`library/busybox`, `org/app`).
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex`.
    pub digest: Option<String>,
}

/// Text that is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl Reference {
    /// `registry/repository[:tag][@digest]`, with `:latest` added when neither is given.
    pub fn canonical(&self) -> String {
        let mut out = format!("{}/{}", self.registry, self.repository);
        match (&self.tag, &self.digest) {
            (None, None) => out.push_str(":latest"),
            (tag, digest) => {
                if let Some(tag) = tag {
                    out.push(':');
                    out.push_str(tag);
                }
                if let Some(digest) = digest {
                    out.push('@');
                    out.push_str(digest);
                }
            }
        }
        out
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

fn is_path_component(component: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
    let bytes = component.as_bytes();
    if bytes.is_empty()
        || !bytes[0].is_ascii_lowercase() && !bytes[0].is_ascii_digit()
        || !bytes[bytes.len() - 1].is_ascii_lowercase() && !bytes[bytes.len() - 1].is_ascii_digit()
    {
        return false;
    }
    let mut previous_separator = String::new();
    for &byte in bytes {
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() {
            previous_separator.clear();
        } else if matches!(byte, b'.' | b'_' | b'-') {
            previous_separator.push(byte as char);
            let ok = matches!(previous_separator.as_str(), "." | "_" | "__")
                || previous_separator.bytes().all(|b| b == b'-');
            if !ok {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

fn is_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '.' | '_' | '-')
        });
    let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    let sha256_ok = algorithm != "sha256" || hex.len() == 64;
    algorithm_ok && hex_ok && sha256_ok
}

fn is_registry_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || host.starts_with('[') => (name, Some(port)),
        _ => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let name_ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let ipv6_ok = name.starts_with('[') && name.ends_with(']');
    port_ok && (name_ok || ipv6_ok)
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| ReferenceError {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(error("empty reference"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                if !is_digest(digest) {
                    return Err(error("invalid digest"));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (input, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => {
                let tag = &rest[last_slash + colon + 1..];
                if !is_tag(tag) {
                    return Err(error("invalid tag"));
                }
                (&rest[..last_slash + colon], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                if !is_registry_host(first) {
                    return Err(error("invalid registry host"));
                }
                (first.to_owned(), path.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(error("repository name must be lowercase"));
        }
        if !path.split('/').all(is_path_component) {
            return Err(error("invalid repository name"));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if repository.len() > 255 {
            return Err(error("repository name is longer than 255 characters"));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_normalizes_short_names() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let cases = [
            (
                "busybox".to_owned(),
                "docker.io/library/busybox:latest".to_owned(),
            ),
            (
                "busybox:1.36".to_owned(),
                "docker.io/library/busybox:1.36".to_owned(),
            ),
            ("org/app".to_owned(), "docker.io/org/app:latest".to_owned()),
            (
                "127.0.0.1:5000/test/busybox:v1".to_owned(),
                "127.0.0.1:5000/test/busybox:v1".to_owned(),
            ),
            (
                "localhost/app".to_owned(),
                "localhost/app:latest".to_owned(),
            ),
            (
                format!("busybox@{digest}"),
                format!("docker.io/library/busybox@{digest}"),
            ),
            (
                format!("ghcr.io/a/b:t@{digest}"),
                format!("ghcr.io/a/b:t@{digest}"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                input.parse::<Reference>().unwrap().canonical(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn reference_rejects_invalid_text() {
        for input in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-bad",
            "a//b",
            "-a",
            "busybox@sha256:abc",
            "my app",
            "app:tag:more",
        ] {
            assert!(input.parse::<Reference>().is_err(), "{input:?}");
        }
    }
}
