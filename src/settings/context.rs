//! `--build-context name=value`: a named context that replaces a stage or an
//! image name (`docker-image://`, `oci-layout://`, a directory, a URL).

use std::path::PathBuf;
use std::str::FromStr;

use crate::graph::Reference;

/// What a named build context points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildContextSource {
    Directory(PathBuf),
    Image(Reference),
    /// `oci-layout://path[:tag|@digest]`.
    OciLayout {
        path: PathBuf,
        tag: Option<String>,
        digest: Option<String>,
    },
    /// `https://…` or a git URL.
    Url(String),
    /// `target:NAME` (a bake target; kept so the error can say so).
    Target(String),
}

/// One `--build-context` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContextSpec {
    pub name: String,
    pub source: BuildContextSource,
}

fn parse_oci_layout(rest: &str) -> Result<BuildContextSource, String> {
    let (rest, digest) = match rest.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest.to_owned())),
        None => (rest, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match rest[slash..].rfind(':') {
        Some(colon) => (
            &rest[..slash + colon],
            Some(rest[slash + colon + 1..].to_owned()),
        ),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err("oci-layout:// needs a path".to_owned());
    }
    Ok(BuildContextSource::OciLayout {
        path: PathBuf::from(path),
        tag,
        digest,
    })
}

impl FromStr for BuildContextSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (name, value) = input
            .split_once('=')
            .ok_or("expected name=value (e.g. alpine=docker-image://alpine:3.20)")?;
        if name.is_empty() || value.is_empty() {
            return Err("expected name=value with both parts non-empty".to_owned());
        }
        let source = if let Some(reference) = value.strip_prefix("docker-image://") {
            BuildContextSource::Image(reference.parse().map_err(|e| format!("{e}"))?)
        } else if let Some(rest) = value.strip_prefix("oci-layout://") {
            parse_oci_layout(rest)?
        } else if let Some(target) = value.strip_prefix("target:") {
            BuildContextSource::Target(target.to_owned())
        } else if value.starts_with("https://")
            || value.starts_with("http://")
            || value.starts_with("git@")
            || value.starts_with("git://")
        {
            BuildContextSource::Url(value.to_owned())
        } else {
            BuildContextSource::Directory(PathBuf::from(value))
        };
        Ok(Self {
            name: name.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_context_reads_each_form() {
        let image: BuildContextSpec = "alpine=docker-image://alpine:3.20".parse().unwrap();
        assert!(matches!(image.source, BuildContextSource::Image(_)));
        let layout: BuildContextSpec = "base=oci-layout:///srv/layout:v1".parse().unwrap();
        assert_eq!(
            layout.source,
            BuildContextSource::OciLayout {
                path: "/srv/layout".into(),
                tag: Some("v1".into()),
                digest: None
            }
        );
        let dir: BuildContextSpec = "src=../lib".parse().unwrap();
        assert_eq!(dir.source, BuildContextSource::Directory("../lib".into()));
        assert!("noequals".parse::<BuildContextSpec>().is_err());
        assert!(
            "a=docker-image://UPPER"
                .parse::<BuildContextSpec>()
                .is_err()
        );
    }
}
