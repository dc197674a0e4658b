//! Image references as Docker reads them (`alpine`, `ghcr.io/o/r:tag`,
//! `localhost:5000/x@sha256:...`): checking one is well formed and writing it
//! fully qualified (`docker.io/library/alpine:latest`).

use super::plan::ImageReference;

/// Why a reference is not valid, worded like Docker's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReferenceError(pub String);

fn is_alphanumeric_lower(component: &str) -> bool {
    !component.is_empty()
        && component
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
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
        if !is_alphanumeric_lower(&rest[..run]) {
            return false;
        }
        rest = &rest[run..];
        first = false;
    }
    !first
}

fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || domain.starts_with('[') => (host, Some(port)),
        _ => (domain, None),
    };
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
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
    algorithm_ok && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Checks `text` and returns it with its fully qualified form.
pub fn parse_image_reference(text: &str) -> Result<ImageReference, ReferenceError> {
    let invalid = || ReferenceError("invalid reference format".to_owned());
    if text.is_empty() {
        return Err(invalid());
    }
    if text.len() == 64
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        return Err(ReferenceError(format!(
            "invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )));
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
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
    let (domain, remainder) = match name.split_once('/') {
        Some((first, remainder))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), remainder.to_owned())
        }
        _ => ("docker.io".to_owned(), name.to_owned()),
    };
    if remainder.to_lowercase() != remainder {
        return Err(ReferenceError(format!(
            "invalid reference format: repository name ({remainder}) must be lowercase"
        )));
    }
    if !is_domain(&domain) || !remainder.split('/').all(is_path_component) {
        return Err(invalid());
    }
    let remainder = if domain == "docker.io" && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder
    };
    let full_name = format!("{domain}/{remainder}");
    if full_name.len() > 255 {
        return Err(ReferenceError(
            "repository name must not be more than 255 characters".to_owned(),
        ));
    }
    let mut normalized = full_name;
    match (tag, digest) {
        (Some(tag), _) => {
            normalized.push(':');
            normalized.push_str(tag);
        }
        (None, None) => normalized.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(digest) = digest {
        normalized.push('@');
        normalized.push_str(digest);
    }
    Ok(ImageReference {
        written: text.to_owned(),
        normalized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(text: &str) -> String {
        parse_image_reference(text).unwrap().normalized
    }

    #[test]
    fn references_normalize_like_docker() {
        assert_eq!(normalized("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(normalized("alpine:3.20"), "docker.io/library/alpine:3.20");
        assert_eq!(normalized("user/repo"), "docker.io/user/repo:latest");
        assert_eq!(normalized("ghcr.io/o/r:v1"), "ghcr.io/o/r:v1");
        assert_eq!(normalized("localhost:5000/x"), "localhost:5000/x:latest");
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            normalized(&format!("busybox@{digest}")),
            format!("docker.io/library/busybox@{digest}")
        );
        assert_eq!(
            normalized("my_repo/a__b/c--d"),
            "docker.io/my_repo/a__b/c--d:latest"
        );
    }

    #[test]
    fn references_reject_garbage() {
        for bad in [
            "",
            "Alpine",
            "alpine:",
            "a b",
            "-x",
            "x/",
            "alpine@sha256:zz",
            "foo!",
        ] {
            assert!(parse_image_reference(bad).is_err(), "{bad}");
        }
        assert!(
            parse_image_reference("docker.io/Library/x")
                .unwrap_err()
                .0
                .contains("must be lowercase")
        );
    }
}
