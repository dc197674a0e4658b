//! Writing images to a registry: checking for a blob, mounting one from
//! another repository of the same registry, uploading a blob (POST to open
//! an upload, then one monolithic PUT), and putting a manifest under a tag
//! or digest. Deciding what to push, and in which order (blobs before the
//! manifests that name them), is left to the caller.

use std::io::Read;

use ureq::http::Method;

use super::auth::Scope;
use super::client::RegistryClient;
use super::error::{Error, Result};
use super::transport::{Body, Request, absolute_url, error_message};
use crate::graph::{Digest, Digester, Reference};

impl RegistryClient {
    /// Whether `reference`'s repository already holds blob `digest`.
    pub fn blob_exists(&self, reference: &Reference, digest: &Digest) -> Result<bool> {
        let url = self.repository_url(reference, &format!("blobs/{digest}"));
        let mut request = Request::new(Method::HEAD, url.clone());
        let response = self.call(
            reference,
            &[Scope::push(&reference.repository)],
            &mut request,
        )?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            status => Err(Error::UnexpectedStatus {
                method: "HEAD",
                url,
                status,
                message: error_message(response),
            }),
        }
    }

    /// Ask the registry to link blob `digest` from `from_repository` (same
    /// registry) into `reference`'s repository. `false` when the registry
    /// declined (the blob is missing there, or mounting is not offered):
    /// the caller then uploads it.
    pub fn mount_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<bool> {
        let url = self.repository_url(
            reference,
            &format!("blobs/uploads/?mount={digest}&from={from_repository}"),
        );
        let scopes = [
            Scope::push(&reference.repository),
            Scope::pull(from_repository),
        ];
        let mut request = Request::new(Method::POST, url.clone()).body(Body::Bytes(&[]));
        let response = self.call(reference, &scopes, &mut request)?;
        match response.status().as_u16() {
            201 => Ok(true),
            202 => {
                // The registry opened an upload instead; close it again.
                if let Some(location) = location_of(&response) {
                    let mut cancel = Request::new(
                        Method::DELETE,
                        absolute_url(&self.api_base(reference), &location),
                    );
                    let _ = self.call(reference, &scopes, &mut cancel);
                }
                Ok(false)
            }
            status => Err(Error::UnexpectedStatus {
                method: "POST",
                url,
                status,
                message: error_message(response),
            }),
        }
    }

    /// Upload blob `digest` of `size` bytes read from `reader`, unless the
    /// repository has it already. The bytes are hashed on the way: when they
    /// do not hash to `digest` the error says so, naming both digests.
    pub fn push_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<()> {
        if self.blob_exists(reference, digest)? {
            return Ok(());
        }
        let scopes = [Scope::push(&reference.repository)];
        let start_url = self.repository_url(reference, "blobs/uploads/");
        let mut start = Request::new(Method::POST, start_url.clone()).body(Body::Bytes(&[]));
        let response = self.call(reference, &scopes, &mut start)?;
        if response.status().as_u16() != 202 {
            return Err(Error::UnexpectedStatus {
                method: "POST",
                url: start_url,
                status: response.status().as_u16(),
                message: error_message(response),
            });
        }
        let location = location_of(&response).ok_or_else(|| Error::MissingLocation {
            method: "POST",
            url: start_url.clone(),
        })?;
        let upload_url = absolute_url(&self.api_base(reference), &location);
        let separator = if upload_url.contains('?') { '&' } else { '?' };
        let put_url = format!("{upload_url}{separator}digest={digest}");

        let mut hashing = HashingReader {
            inner: reader,
            digester: Digester::new(std::io::sink()),
        };
        let mut put = Request::new(Method::PUT, put_url.clone())
            .header("Content-Type", "application/octet-stream")
            .body(Body::Reader {
                reader: &mut hashing,
                length: size,
            });
        let outcome = self.call(reference, &scopes, &mut put);
        drop(put);
        let (actual, sent, _) = hashing.digester.finish();
        let name = reference.to_string();
        if sent == size && actual != *digest {
            return Err(Error::DigestMismatch {
                reference: name,
                expected: *digest,
                actual,
            });
        }
        let response = match outcome {
            Ok(response) => response,
            Err(Error::Request { source, .. }) => {
                return Err(Error::UploadBlob {
                    reference: name,
                    digest: *digest,
                    source,
                });
            }
            Err(other) => return Err(other),
        };
        if sent != size {
            return Err(Error::SizeMismatch {
                reference: name,
                digest: *digest,
                expected: size,
                actual: sent,
            });
        }
        match response.status().as_u16() {
            201 | 204 => Ok(()),
            status => Err(Error::UnexpectedStatus {
                method: "PUT",
                url: put_url,
                status,
                message: error_message(response),
            }),
        }
    }

    /// Put manifest `bytes` of `media_type` under `reference`'s digest when
    /// it has one, else its tag (`latest` when none). Returns the manifest's
    /// digest, checked against the one the registry reports.
    pub fn push_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        let digest = Digest::of(bytes);
        let name = reference.to_string();
        let selector = match (&reference.digest, &reference.tag) {
            (Some(expected), _) => {
                if *expected != digest.to_string() {
                    return Err(Error::DigestMismatch {
                        reference: name,
                        expected: expected.parse().map_err(|_| Error::UnsupportedDigest {
                            reference: reference.to_string(),
                            digest: expected.clone(),
                        })?,
                        actual: digest,
                    });
                }
                digest.to_string()
            }
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        };
        let url = self.repository_url(reference, &format!("manifests/{selector}"));
        let mut request = Request::new(Method::PUT, url.clone())
            .header("Content-Type", media_type)
            .body(Body::Bytes(bytes));
        let response = self.call(
            reference,
            &[Scope::push(&reference.repository)],
            &mut request,
        )?;
        match response.status().as_u16() {
            200 | 201 | 204 => {}
            status => {
                return Err(Error::UnexpectedStatus {
                    method: "PUT",
                    url,
                    status,
                    message: error_message(response),
                });
            }
        }
        let reported = response
            .headers()
            .get("docker-content-digest")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<Digest>().ok());
        if let Some(reported) = reported {
            if reported != digest {
                return Err(Error::DigestMismatch {
                    reference: name,
                    expected: digest,
                    actual: reported,
                });
            }
        }
        Ok(digest)
    }
}

fn location_of(response: &ureq::http::Response<ureq::Body>) -> Option<String> {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Passes reads through while hashing what went by.
struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    digester: Digester<std::io::Sink>,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Write as _;
        let count = self.inner.read(buffer)?;
        self.digester.write_all(&buffer[..count])?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::registry::OCI_MANIFEST;
    use crate::test_support::registry::{TestRegistry, read_layout, run};

    /// A small image made here: one gzip layer holding `hello.txt`.
    fn small_image() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(6);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "hello.txt", &b"hello\n"[..])
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gzip, &tar).unwrap();
        let layer = gzip.finish().unwrap();
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            Digest::of(&tar)
        )
        .into_bytes();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
            Digest::of(&config),
            config.len(),
            Digest::of(&layer),
            layer.len()
        )
        .into_bytes();
        (layer, config, manifest)
    }

    fn skopeo_available() -> bool {
        if std::path::Path::new("/usr/bin/skopeo").exists() {
            return true;
        }
        crate::test_support::registry::skip("/usr/bin/skopeo not installed");
        false
    }

    #[test]
    fn pushed_image_is_seen_by_skopeo_with_the_same_digest() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        if !skopeo_available() {
            return;
        }
        let client = registry.client();
        let reference: Reference = format!("{}/test/new:v1", registry.host).parse().unwrap();
        let (layer, config, manifest) = small_image();
        for blob in [&layer, &config] {
            let digest = Digest::of(blob);
            assert!(!client.blob_exists(&reference, &digest).unwrap());
            client
                .push_blob(&reference, &digest, blob.len() as u64, &mut &blob[..])
                .unwrap();
            assert!(client.blob_exists(&reference, &digest).unwrap());
        }
        let digest = client
            .push_manifest(&reference, OCI_MANIFEST, &manifest)
            .unwrap();
        assert_eq!(digest, Digest::of(&manifest));

        let image = format!("docker://{}/test/new:v1", registry.host);
        let inspect: serde_json::Value = serde_json::from_str(&run(Command::new("skopeo").args([
            "inspect",
            "--tls-verify=false",
            &image,
        ])))
        .unwrap();
        assert_eq!(inspect["Digest"], digest.to_string());
        assert_eq!(inspect["Layers"][0], Digest::of(&layer).to_string());
        let raw =
            run(Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &image]));
        assert_eq!(raw.as_bytes(), &manifest[..]);

        // Pushing again is a no-op that still succeeds.
        client
            .push_blob(
                &reference,
                &Digest::of(&layer),
                layer.len() as u64,
                &mut &layer[..],
            )
            .unwrap();
    }

    #[test]
    fn push_blob_refuses_bytes_that_do_not_match_the_digest() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let client = registry.client();
        let reference: Reference = format!("{}/test/bad:v1", registry.host).parse().unwrap();
        let claimed = Digest::of(b"what we said");
        let error = client
            .push_blob(&reference, &claimed, 12, &mut &b"what we sent"[..])
            .unwrap_err();
        assert!(
            matches!(&error, Error::DigestMismatch { expected, actual, .. }
                if *expected == claimed && *actual == Digest::of(b"what we sent")),
            "{error:?}"
        );
        assert!(!client.blob_exists(&reference, &claimed).unwrap());
    }

    #[test]
    fn mount_links_a_blob_from_another_repository() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let Some(layout) = registry.push_busybox("test/busybox", "latest") else {
            return;
        };
        let image = read_layout(&layout);
        let client = registry.client();
        let target: Reference = format!("{}/other/app:v1", registry.host).parse().unwrap();
        let (digest, _) = &image.layers[0];
        assert!(!client.blob_exists(&target, digest).unwrap());
        assert!(client.mount_blob(&target, digest, "test/busybox").unwrap());
        assert!(client.blob_exists(&target, digest).unwrap());

        let absent = Digest::of(b"nowhere");
        assert!(!client.mount_blob(&target, &absent, "test/busybox").unwrap());
        assert!(!client.blob_exists(&target, &absent).unwrap());
    }
}
