//! The `annotation*` attributes of an image output, sorted by where
//! BuildKit puts them: `annotation.K` and `annotation-manifest.K` on the
//! manifest, `annotation-manifest-descriptor.K` on the manifest's
//! descriptor, `annotation-index.K` on the index and
//! `annotation-index-descriptor.K` on the index's descriptor. A
//! `[os/arch]` after the type limits an annotation to that platform.

use std::collections::BTreeMap;

use super::Error;
use crate::graph::Platform;

/// Annotations of one image, by where they go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub manifest: BTreeMap<String, String>,
    pub manifest_descriptor: BTreeMap<String, String>,
    pub index: BTreeMap<String, String>,
    pub index_descriptor: BTreeMap<String, String>,
}

/// One parsed attribute name.
struct AnnotationKey<'a> {
    kind: &'a str,
    platform: Option<&'a str>,
    key: &'a str,
}

/// Reads `annotation[-type][\[platform\]].key` (BuildKit's
/// `keyAnnotationRegexp`); `None` when `name` is no annotation attribute.
fn parse_key(name: &str) -> Option<AnnotationKey<'_>> {
    let rest = name.strip_prefix("annotation")?;
    let (kind, rest) = match rest.strip_prefix('-') {
        Some(typed) => {
            let end = typed
                .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                .unwrap_or(typed.len());
            if end == 0 {
                return None;
            }
            (&typed[..end], &typed[end..])
        }
        None => ("", rest),
    };
    let (platform, rest) = match rest.strip_prefix('[') {
        Some(bracketed) => {
            let (platform, after) = bracketed.split_once(']')?;
            let valid = !platform.is_empty()
                && platform
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '-'));
            if !valid {
                return None;
            }
            (Some(platform), after)
        }
        None => (None, rest),
    };
    let key = rest.strip_prefix('.')?;
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return None;
    }
    Some(AnnotationKey {
        kind,
        platform,
        key,
    })
}

impl Annotations {
    pub fn is_empty(&self) -> bool {
        self.manifest.is_empty()
            && self.manifest_descriptor.is_empty()
            && self.index.is_empty()
            && self.index_descriptor.is_empty()
    }

    /// Collects the annotation attributes of an output for an image of
    /// `platform`; other attributes are ignored.
    pub fn from_attrs(
        attrs: &BTreeMap<String, String>,
        platform: &Platform,
    ) -> Result<Self, Error> {
        let mut annotations = Self::default();
        for (name, value) in attrs {
            if !name.starts_with("annotation") {
                continue;
            }
            let parsed =
                parse_key(name).ok_or_else(|| Error::AnnotationType { key: name.clone() })?;
            if let Some(text) = parsed.platform {
                let wanted: Platform =
                    text.parse().map_err(|source| Error::AnnotationPlatform {
                        key: name.clone(),
                        source,
                    })?;
                if &wanted != platform {
                    continue;
                }
            }
            let target = match parsed.kind {
                "" | "manifest" => &mut annotations.manifest,
                "manifest-descriptor" => &mut annotations.manifest_descriptor,
                "index" if parsed.platform.is_none() => &mut annotations.index,
                "index-descriptor" if parsed.platform.is_none() => {
                    &mut annotations.index_descriptor
                }
                _ => return Err(Error::AnnotationType { key: name.clone() }),
            };
            target.insert(parsed.key.to_owned(), value.clone());
        }
        Ok(annotations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn annotations_go_where_buildkit_puts_them() {
        let amd64: Platform = "linux/amd64".parse().unwrap();
        let parsed = Annotations::from_attrs(
            &attrs(&[
                ("annotation.org.opencontainers.image.title", "app"),
                ("annotation-manifest.a", "1"),
                ("annotation-manifest-descriptor.b", "2"),
                ("annotation-index.c", "3"),
                ("annotation-index-descriptor.d", "4"),
                ("annotation-manifest[linux/amd64].e", "5"),
                ("annotation-manifest[linux/arm64].f", "6"),
                ("name", "ignored"),
            ]),
            &amd64,
        )
        .unwrap();
        assert_eq!(
            parsed.manifest,
            attrs(&[
                ("org.opencontainers.image.title", "app"),
                ("a", "1"),
                ("e", "5")
            ])
        );
        assert_eq!(parsed.manifest_descriptor, attrs(&[("b", "2")]));
        assert_eq!(parsed.index, attrs(&[("c", "3")]));
        assert_eq!(parsed.index_descriptor, attrs(&[("d", "4")]));
    }

    #[test]
    fn annotations_refuse_unknown_types() {
        let amd64: Platform = "linux/amd64".parse().unwrap();
        for bad in [
            "annotation-layer.x",
            "annotation",
            "annotation.",
            "annotation-index[linux/amd64].x",
        ] {
            assert!(
                Annotations::from_attrs(&attrs(&[(bad, "v")]), &amd64).is_err(),
                "{bad}"
            );
        }
    }
}
