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

/// Text that is not a valid image reference, worded like Docker's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl Reference {
    /// `registry/repository[:tag][@digest]`, with `:latest` added when neither is given.
    pub fn canonical(&self) -> String {
        let mut out = format!("{}/{}", self.registry, self.repository);
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        } else if self.digest.is_none() {
            out.push_str(":latest");
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let is_run = |run: &str| {
        !run.is_empty()
            && run
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let mut rest = component;
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            let separator = if rest.starts_with("__") {
                2
            } else if rest.starts_with(['.', '_']) {
                1
            } else {
                rest.chars().take_while(|c| *c == '-').count()
            };
            if separator == 0 {
                return false;
            }
            rest = &rest[separator..];
        }
        let run = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .unwrap_or(rest.len());
        if !is_run(&rest[..run]) {
            return false;
        }
        rest = &rest[run..];
        first = false;
    }
    !first
}

fn is_registry_host(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || domain.starts_with('[') => (host, Some(port)),
        _ => (domain, None),
    };
    if port.is_some_and(|port| port.is_empty() || !port.chars().all(|c| c.is_ascii_digit())) {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['+', '.', '_', '-']).all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric())
    });
    let length_ok = if algorithm == "sha256" {
        hex.len() == 64
    } else {
        hex.len() >= 32
    };
    algorithm_ok && length_ok && hex.chars().all(|c| c.is_ascii_hexdigit())
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| ReferenceError {
            input: input.to_owned(),
            reason,
        };
        let invalid = || error("invalid reference format".to_owned());
        if input.is_empty() {
            return Err(invalid());
        }
        if input.len() == 64
            && input
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Err(error(format!(
                "invalid repository name ({input}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (input, None),
        };
        if digest.is_some_and(|digest| !is_digest(digest)) {
            return Err(invalid());
        }
        // A tag follows the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |at| at + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(at) => (&rest[..last_slash + at], Some(&rest[last_slash + at + 1..])),
            None => (rest, None),
        };
        if tag.is_some_and(|tag| !is_tag(tag)) {
            return Err(invalid());
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.to_lowercase() != first =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if path.to_lowercase() != path {
            return Err(error(format!(
                "invalid reference format: repository name ({path}) must be lowercase"
            )));
        }
        if !is_registry_host(&registry) || !path.split('/').all(is_path_component) {
            return Err(invalid());
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if registry.len() + 1 + repository.len() > 255 {
            return Err(error(
                "repository name must not be more than 255 characters".to_owned(),
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
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
            "alpine:",
            "x/",
            "foo!",
            "alpine@sha256:zz",
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
        let error = "docker.io/Library/x".parse::<Reference>().unwrap_err();
        assert!(error.to_string().contains("must be lowercase"), "{error}");
    }
}
