//! Reading images from a registry: a manifest by tag or digest (checked
//! against the digest that names it), and an image resolved for a platform
//! (index → manifest → config). Streaming layers is `blob`'s job;
//! unpacking and storing them is the caller's.

use std::io::Read;

use ureq::http::{Method, Response};

use super::auth::Scope;
use super::client::RegistryClient;
use super::error::{Error, Result};
use super::manifest::{
    self, IndexEntry, LayerDescriptor, ManifestKind, accept_header, media_type_of,
};
use super::transport::{Request, error_message};
use crate::graph::{Digest, Platform, Reference};

/// The largest manifest or index xb reads (containerd's limit).
pub const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;

/// The largest image config xb reads into memory.
pub const CONFIG_LIMIT: u64 = 16 * 1024 * 1024;

/// A manifest's bytes as the registry serves them, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// An image reference resolved for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The reference as asked for.
    pub reference: Reference,
    /// The digest of the platform's image manifest.
    pub manifest_digest: Digest,
    /// The image manifest's raw bytes (they hash to `manifest_digest`).
    pub manifest: Vec<u8>,
    pub media_type: String,
    pub config_digest: Digest,
    /// The image config's raw bytes (they hash to `config_digest`).
    pub config: Vec<u8>,
    pub layers: Vec<LayerDescriptor>,
    /// The digest of the index the manifest was picked from, if any.
    pub index_digest: Option<Digest>,
}

impl ResolvedImage {
    /// The reference pinned to the digest it resolved to (the index's when
    /// there was one, so a later pull can pick another platform).
    pub fn pinned(&self) -> Reference {
        let mut pinned = self.reference.clone();
        pinned.digest = Some(
            self.index_digest
                .unwrap_or(self.manifest_digest)
                .to_string(),
        );
        pinned
    }
}

impl RegistryClient {
    /// The manifest (or index) `reference` names: by its digest when it has
    /// one, else by its tag (`latest` when none).
    pub fn fetch_manifest(&self, reference: &Reference) -> Result<FetchedManifest> {
        if let Some(text) = &reference.digest {
            let digest = text
                .parse::<Digest>()
                .map_err(|_| Error::UnsupportedDigest {
                    reference: reference.to_string(),
                    digest: text.clone(),
                })?;
            self.fetch_manifest_by_digest(reference, &digest)
        } else {
            let tag = reference.tag.as_deref().unwrap_or("latest");
            self.fetch_manifest_at(reference, tag, None)
        }
    }

    /// The manifest with `digest` in `reference`'s repository.
    pub fn fetch_manifest_by_digest(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<FetchedManifest> {
        self.fetch_manifest_at(reference, &digest.to_string(), Some(*digest))
    }

    fn fetch_manifest_at(
        &self,
        reference: &Reference,
        selector: &str,
        expected: Option<Digest>,
    ) -> Result<FetchedManifest> {
        let name = reference.to_string();
        let url = self.repository_url(reference, &format!("manifests/{selector}"));
        let mut request = Request::new(Method::GET, url.clone()).header("Accept", accept_header());
        let response = self.call(
            reference,
            &[Scope::pull(&reference.repository)],
            &mut request,
        )?;
        match response.status().as_u16() {
            200 => {}
            404 => return Err(Error::ManifestNotFound { reference: name }),
            status => {
                return Err(Error::UnexpectedStatus {
                    method: "GET",
                    url,
                    status,
                    message: error_message(response),
                });
            }
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let served_digest = header("docker-content-digest");
        let bytes = read_limited(response, &url, &name, MANIFEST_LIMIT)?;
        let actual = Digest::of(&bytes);
        let expected = expected.or_else(|| served_digest.and_then(|text| text.parse().ok()));
        if let Some(expected) = expected {
            if expected != actual {
                return Err(Error::DigestMismatch {
                    reference: name,
                    expected,
                    actual,
                });
            }
        }
        Ok(FetchedManifest {
            digest: actual,
            media_type: media_type_of(content_type.as_deref(), &bytes),
            bytes,
        })
    }

    /// Resolve `reference` for `platform`: fetch what it names, pick the
    /// platform's manifest when that is an index, then fetch the config.
    /// A single-platform manifest is taken as it is, whatever its platform.
    pub fn resolve(&self, reference: &Reference, platform: &Platform) -> Result<ResolvedImage> {
        let name = reference.to_string();
        let top = self.fetch_manifest(reference)?;
        let (index_digest, image) = match ManifestKind::of(&top.media_type) {
            Some(ManifestKind::Image) => (None, top),
            Some(ManifestKind::Index) => {
                let entries = manifest::parse_index(&name, &top.bytes)?;
                let entry = pick_entry(&name, &entries, platform)?;
                let image = self.fetch_manifest_by_digest(reference, &entry.digest)?;
                if image.bytes.len() as u64 != entry.size {
                    return Err(Error::SizeMismatch {
                        reference: name,
                        digest: entry.digest,
                        expected: entry.size,
                        actual: image.bytes.len() as u64,
                    });
                }
                (Some(top.digest), image)
            }
            None => {
                return Err(Error::UnsupportedMediaType {
                    reference: name,
                    media_type: top.media_type,
                });
            }
        };
        if ManifestKind::of(&image.media_type) != Some(ManifestKind::Image) {
            return Err(Error::UnsupportedMediaType {
                reference: name,
                media_type: image.media_type,
            });
        }
        let parts = manifest::parse_image_manifest(&name, &image.bytes)?;
        if parts.config.size > CONFIG_LIMIT {
            return Err(Error::ManifestTooLarge {
                reference: format!("{name} config {}", parts.config.digest),
                limit: CONFIG_LIMIT,
            });
        }
        let mut config = Vec::new();
        self.fetch_blob(
            reference,
            &parts.config.digest,
            parts.config.size,
            &mut config,
        )?;
        Ok(ResolvedImage {
            reference: reference.clone(),
            manifest_digest: image.digest,
            manifest: image.bytes,
            media_type: image.media_type,
            config_digest: parts.config.digest,
            config,
            layers: parts.layers,
            index_digest,
        })
    }
}

fn pick_entry<'a>(
    name: &str,
    entries: &'a [IndexEntry],
    platform: &Platform,
) -> Result<&'a IndexEntry> {
    manifest::select_platform(entries, platform).ok_or_else(|| Error::NoMatchingPlatform {
        reference: name.to_owned(),
        platform: platform.to_string(),
        available: entries
            .iter()
            .filter_map(|entry| entry.platform.as_ref().map(ToString::to_string))
            .collect(),
    })
}

/// The whole body of `response`, refused past `limit` bytes.
fn read_limited(
    response: Response<ureq::Body>,
    url: &str,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::ReadResponse {
            url: url.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(Error::ManifestTooLarge {
            reference: name.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{OCI_INDEX, OCI_MANIFEST};
    use crate::test_support::registry::{TestRegistry, read_layout};

    fn amd64() -> Platform {
        "linux/amd64".parse().unwrap()
    }

    #[test]
    fn resolve_by_tag_and_by_digest_gives_the_pushed_image() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let Some(layout) = registry.push_busybox("test/busybox", "latest") else {
            return;
        };
        let expected = read_layout(&layout);
        let client = registry.client();

        let by_tag = client
            .resolve(&registry.reference("test/busybox:latest"), &amd64())
            .unwrap();
        assert_eq!(by_tag.manifest_digest, expected.manifest_digest);
        assert_eq!(by_tag.manifest, expected.manifest);
        assert_eq!(by_tag.media_type, OCI_MANIFEST);
        assert_eq!(by_tag.config_digest, expected.config.0);
        assert_eq!(by_tag.config, expected.config.1);
        assert_eq!(by_tag.index_digest, None);
        let layer_digests: Vec<Digest> = by_tag.layers.iter().map(|layer| layer.digest).collect();
        assert_eq!(layer_digests, vec![expected.layers[0].0]);
        assert_eq!(by_tag.layers[0].size, expected.layers[0].1.len() as u64);

        let pinned = by_tag.pinned();
        let by_digest = client.resolve(&pinned, &amd64()).unwrap();
        assert_eq!(by_digest.manifest_digest, expected.manifest_digest);
        assert_eq!(by_digest.config, by_tag.config);
    }

    #[test]
    fn missing_manifest_and_blob_are_named() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let client = registry.client();
        let missing = registry.reference("test/nothing:v1");
        let error = client.resolve(&missing, &amd64()).unwrap_err();
        assert!(matches!(error, Error::ManifestNotFound { .. }), "{error:?}");
        assert!(error.to_string().contains("test/nothing:v1"), "{error}");

        let digest = Digest::of(b"absent");
        let error = client
            .fetch_blob(&missing, &digest, 6, &mut Vec::new())
            .unwrap_err();
        assert!(matches!(error, Error::BlobNotFound { .. }), "{error:?}");
    }

    #[test]
    fn resolve_picks_the_platform_from_an_index() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let Some(layout) = registry.push_busybox("test/multi", "amd64") else {
            return;
        };
        let image = read_layout(&layout);
        let client = registry.client();
        let tagged = registry.reference("test/multi:latest");

        // A second platform: the same layer under an arm64 config.
        let arm_config = String::from_utf8(image.config.1.clone())
            .unwrap()
            .replace(
                r#""architecture":"amd64""#,
                r#""architecture":"arm64","variant":"v8""#,
            )
            .into_bytes();
        let arm_config_digest = Digest::of(&arm_config);
        client
            .push_blob(
                &tagged,
                &arm_config_digest,
                arm_config.len() as u64,
                &mut &arm_config[..],
            )
            .unwrap();
        let arm_manifest = String::from_utf8(image.manifest.clone())
            .unwrap()
            .replace(&image.config.0.to_string(), &arm_config_digest.to_string())
            .replace(
                &format!(r#""size":{}"#, image.config.1.len()),
                &format!(r#""size":{}"#, arm_config.len()),
            )
            .into_bytes();
        let arm_digest = Digest::of(&arm_manifest);
        let by_digest: Reference = format!("{}/test/multi@{arm_digest}", registry.host)
            .parse()
            .unwrap();
        assert_eq!(
            client
                .push_manifest(&by_digest, OCI_MANIFEST, &arm_manifest)
                .unwrap(),
            arm_digest
        );

        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{arm_digest}","size":{},"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
            image.manifest_digest,
            image.manifest.len(),
            arm_manifest.len()
        );
        let index_digest = client
            .push_manifest(&tagged, OCI_INDEX, index.as_bytes())
            .unwrap();

        let arm = client
            .resolve(&tagged, &"linux/arm64".parse().unwrap())
            .unwrap();
        assert_eq!(arm.manifest_digest, arm_digest);
        assert_eq!(arm.config, arm_config);
        assert_eq!(arm.index_digest, Some(index_digest));
        assert_eq!(arm.pinned().digest, Some(index_digest.to_string()));

        let x86 = client.resolve(&tagged, &amd64()).unwrap();
        assert_eq!(x86.manifest_digest, image.manifest_digest);
        assert_eq!(x86.layers, arm.layers);

        let error = client
            .resolve(&tagged, &"linux/s390x".parse().unwrap())
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("linux/s390x")
                && message.contains("linux/amd64")
                && message.contains("linux/arm64"),
            "{message}"
        );
    }
}
