//! `--cache-from` / `--cache-to`: cache import and export, in buildx syntax.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::attrs::parse_attrs;

/// The cache backend a `--cache-from`/`--cache-to` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    Registry,
    Local,
    Inline,
    Gha,
    S3,
    Azblob,
}

/// One `--cache-from` or `--cache-to` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    pub kind: CacheKind,
    pub attrs: BTreeMap<String, String>,
}

impl FromStr for CacheSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        // buildx shorthand: a bare reference means type=registry,ref=…
        if !input.contains('=') {
            let mut attrs = BTreeMap::new();
            attrs.insert("ref".to_owned(), input.to_owned());
            return Ok(Self {
                kind: CacheKind::Registry,
                attrs,
            });
        }
        let mut attrs = parse_attrs(input).map_err(|e| e.to_string())?;
        let kind = match attrs.remove("type").as_deref() {
            Some("registry") | None => CacheKind::Registry,
            Some("local") => CacheKind::Local,
            Some("inline") => CacheKind::Inline,
            Some("gha") => CacheKind::Gha,
            Some("s3") => CacheKind::S3,
            Some("azblob") => CacheKind::Azblob,
            Some(other) => {
                return Err(format!(
                    "unknown cache type {other:?} (expected registry, local, inline, gha, s3 or azblob)"
                ));
            }
        };
        if kind == CacheKind::Registry && !attrs.contains_key("ref") {
            return Err("type=registry needs ref=IMAGE".to_owned());
        }
        if kind == CacheKind::Local && !attrs.contains_key("src") && !attrs.contains_key("dest") {
            return Err("type=local needs src=DIR (cache-from) or dest=DIR (cache-to)".to_owned());
        }
        if let Some(mode) = attrs.get("mode") {
            if mode != "min" && mode != "max" {
                return Err(format!("mode={mode:?} must be min or max"));
            }
        }
        Ok(Self { kind, attrs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_reads_buildx_forms() {
        let bare: CacheSpec = "127.0.0.1:5000/cache".parse().unwrap();
        assert_eq!(bare.kind, CacheKind::Registry);
        let local: CacheSpec = "type=local,dest=/tmp/c,mode=max".parse().unwrap();
        assert_eq!(local.kind, CacheKind::Local);
        assert!("type=local".parse::<CacheSpec>().is_err());
        assert!("type=registry,ref=x,mode=all".parse::<CacheSpec>().is_err());
        assert!("type=redis,ref=x".parse::<CacheSpec>().is_err());
    }
}
