//! `-o/--output`: where the result goes, in buildx syntax.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use super::attrs::parse_attrs;

/// The exporter an output asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The final filesystem written to a directory.
    Local,
    /// The final filesystem as a tar.
    Tar,
    /// An OCI image layout (tar, or directory with `tar=false`).
    Oci,
    /// A Docker archive for `docker load`.
    Docker,
    /// An image (pushed with `push=true`).
    Image,
    /// An image pushed to its registry (`--push`).
    Registry,
    /// Only fill the cache.
    CacheOnly,
}

impl OutputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Local => "local",
            OutputKind::Tar => "tar",
            OutputKind::Oci => "oci",
            OutputKind::Docker => "docker",
            OutputKind::Image => "image",
            OutputKind::Registry => "registry",
            OutputKind::CacheOnly => "cacheonly",
        }
    }

    fn allowed_keys(self) -> &'static [&'static str] {
        const IMAGE: &[&str] = &[
            "name",
            "push",
            "push-by-digest",
            "insecure",
            "registry.insecure",
            "compression",
            "compression-level",
            "force-compression",
            "oci-mediatypes",
            "rewrite-timestamp",
            "annotation",
            "unpack",
            "store",
            "dangling-name-prefix",
            "name-canonical",
        ];
        match self {
            OutputKind::Local | OutputKind::Tar => &["dest", "platform-split"],
            OutputKind::Oci | OutputKind::Docker => &[
                "dest",
                "tar",
                "name",
                "compression",
                "compression-level",
                "force-compression",
                "oci-mediatypes",
                "rewrite-timestamp",
                "annotation",
            ],
            OutputKind::Image | OutputKind::Registry => IMAGE,
            OutputKind::CacheOnly => &[],
        }
    }
}

impl FromStr for OutputKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "local" => OutputKind::Local,
            "tar" => OutputKind::Tar,
            "oci" => OutputKind::Oci,
            "docker" => OutputKind::Docker,
            "image" => OutputKind::Image,
            "registry" => OutputKind::Registry,
            "cacheonly" => OutputKind::CacheOnly,
            other => {
                return Err(format!(
                    "unknown output type {other:?} (expected local, tar, oci, docker, image, registry or cacheonly)"
                ));
            }
        })
    }
}

/// One `--output` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub kind: OutputKind,
    /// `dest=`; `None` for image/registry outputs, `-` for stdout.
    pub dest: Option<PathBuf>,
    /// Every other attribute, as given.
    pub attrs: BTreeMap<String, String>,
}

impl OutputSpec {
    /// `--push`: the image output pushed to the tags' registry.
    pub fn push() -> Self {
        Self {
            kind: OutputKind::Registry,
            dest: None,
            attrs: BTreeMap::new(),
        }
    }
}

impl FromStr for OutputSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        // buildx shorthands: `-` is a tar on stdout, a bare path is a local directory.
        if input == "-" {
            return Ok(Self {
                kind: OutputKind::Tar,
                dest: Some(PathBuf::from("-")),
                attrs: BTreeMap::new(),
            });
        }
        if !input.contains('=') {
            return Ok(Self {
                kind: OutputKind::Local,
                dest: Some(PathBuf::from(input)),
                attrs: BTreeMap::new(),
            });
        }
        let mut attrs = parse_attrs(input).map_err(|e| e.to_string())?;
        let kind: OutputKind = attrs
            .remove("type")
            .ok_or("missing type= (e.g. type=oci,dest=out.tar)")?
            .parse()?;
        let allowed = kind.allowed_keys();
        if let Some(unknown) = attrs
            .keys()
            .find(|key| !allowed.contains(&key.as_str()) && !key.starts_with("annotation"))
        {
            return Err(format!(
                "unknown attribute {unknown:?} for type={} (allowed: {})",
                kind.as_str(),
                allowed.join(", ")
            ));
        }
        for key in [
            "tar",
            "push",
            "oci-mediatypes",
            "force-compression",
            "rewrite-timestamp",
        ] {
            if let Some(value) = attrs.get(key) {
                if value != "true" && value != "false" {
                    return Err(format!("{key}={value:?} must be true or false"));
                }
            }
        }
        if let Some(compression) = attrs.get("compression") {
            if !matches!(
                compression.as_str(),
                "gzip" | "zstd" | "uncompressed" | "estargz"
            ) {
                return Err(format!(
                    "compression={compression:?} must be gzip, zstd, uncompressed or estargz"
                ));
            }
        }
        let dest = attrs.remove("dest").map(PathBuf::from);
        let needs_dest = matches!(kind, OutputKind::Local | OutputKind::Tar)
            || matches!(kind, OutputKind::Oci | OutputKind::Docker)
                && attrs.get("tar").map(String::as_str) == Some("false");
        if needs_dest && dest.is_none() {
            return Err(format!("type={} needs dest=PATH", kind.as_str()));
        }
        Ok(Self { kind, dest, attrs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_reads_buildx_forms() {
        let oci: OutputSpec = "type=oci,dest=out.tar".parse().unwrap();
        assert_eq!(oci.kind, OutputKind::Oci);
        assert_eq!(oci.dest, Some(PathBuf::from("out.tar")));
        let dir: OutputSpec = "type=oci,dest=out,tar=false".parse().unwrap();
        assert_eq!(dir.attrs["tar"], "false");
        let local: OutputSpec = "./rootfs".parse().unwrap();
        assert_eq!(local.kind, OutputKind::Local);
        let stdout: OutputSpec = "-".parse().unwrap();
        assert_eq!(stdout.kind, OutputKind::Tar);
        let image: OutputSpec = "type=image,name=r/app:1,push=true".parse().unwrap();
        assert_eq!(image.kind, OutputKind::Image);
    }

    #[test]
    fn output_rejects_mistakes() {
        for (input, needle) in [
            ("type=ocy,dest=x", "unknown output type"),
            ("dest=x", "missing type="),
            ("type=local", "needs dest"),
            ("type=oci,dest=x,tar=maybe", "must be true or false"),
            ("type=oci,dest=x,colour=red", "unknown attribute"),
            ("type=oci,dest=x,compression=lz4", "compression"),
        ] {
            let error = input.parse::<OutputSpec>().unwrap_err();
            assert!(error.contains(needle), "{input}: {error}");
        }
    }
}
