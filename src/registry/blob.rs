//! Reading blobs: streaming one from a registry into the caller's writer
//! through digest verification, resuming a dropped download with a `Range`
//! request. What the blob is and where it is kept are the caller's.
//!
//! The bytes are written as they arrive, before the digest can be known, so
//! when [`RegistryClient::fetch_blob`] returns an error the caller must
//! discard everything it wrote: those bytes are not the blob.

use std::io::{Read, Write};

use ureq::http::Method;

use super::auth::Scope;
use super::client::RegistryClient;
use super::error::{Error, Result};
use super::transport::{ATTEMPTS, Request, error_message};
use crate::graph::{Digest, Digester, Reference};

impl RegistryClient {
    /// Stream the blob `digest` (of `size` bytes) of `reference`'s
    /// repository into `writer`, returning the bytes written. A dropped
    /// connection is resumed with a `Range` request.
    ///
    /// The bytes are checked as they pass: on any error — above all
    /// [`Error::DigestMismatch`] and [`Error::SizeMismatch`] — what was
    /// written is not the blob and the caller must discard it.
    pub fn fetch_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        size: u64,
        writer: &mut dyn Write,
    ) -> Result<u64> {
        let name = reference.to_string();
        let url = self.repository_url(reference, &format!("blobs/{digest}"));
        let scopes = [Scope::pull(&reference.repository)];
        let mut digester = Digester::new(writer);
        let mut written = 0u64;
        let mut tries = 0;
        loop {
            tries += 1;
            let mut request = Request::new(Method::GET, url.clone());
            if written > 0 {
                request = request.header("Range", format!("bytes={written}-"));
            }
            let response = self.call(reference, &scopes, &mut request)?;
            let skip = match response.status().as_u16() {
                200 => written,
                206 => 0,
                404 => {
                    return Err(Error::BlobNotFound {
                        reference: name,
                        digest: *digest,
                    });
                }
                status => {
                    return Err(Error::UnexpectedStatus {
                        method: "GET",
                        url,
                        status,
                        message: error_message(response),
                    });
                }
            };
            // One byte past the size is enough to tell a blob is too long.
            let remaining = (size + 1).saturating_sub(written) + skip;
            let mut body = response.into_body().into_reader().take(remaining);
            match copy_body(&mut body, skip, &mut digester, &mut written) {
                Ok(()) => break,
                Err(CopyError::Write(source)) => {
                    return Err(Error::WriteBlob {
                        reference: name,
                        digest: *digest,
                        source,
                    });
                }
                Err(CopyError::Read(source)) => {
                    if tries >= ATTEMPTS {
                        return Err(Error::ReadResponse { url, source });
                    }
                    tracing::debug!(%digest, written, %source, "resuming blob download");
                }
            }
        }
        let (actual, count, _) = digester.finish();
        if count != size {
            return Err(Error::SizeMismatch {
                reference: name,
                digest: *digest,
                expected: size,
                actual: count,
            });
        }
        if actual != *digest {
            return Err(Error::DigestMismatch {
                reference: name,
                expected: *digest,
                actual,
            });
        }
        Ok(count)
    }
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Copy `body` into `digester`, dropping its first `skip` bytes (already
/// written by an earlier try whose range request the server ignored).
fn copy_body(
    body: &mut dyn Read,
    mut skip: u64,
    digester: &mut Digester<&mut dyn Write>,
    written: &mut u64,
) -> Result<(), CopyError> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = match body.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CopyError::Read(error)),
        };
        let mut chunk = &buffer[..count];
        if skip > 0 {
            let dropped = usize::try_from(skip).unwrap_or(usize::MAX).min(chunk.len());
            chunk = &chunk[dropped..];
            skip -= dropped as u64;
        }
        digester.write_all(chunk).map_err(CopyError::Write)?;
        *written += chunk.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryOptions;
    use crate::test_support::registry::{TestRegistry, read_layout};

    #[test]
    fn fetch_blob_streams_verified_layer_bytes() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let Some(layout) = registry.push_busybox("test/busybox", "latest") else {
            return;
        };
        let expected = read_layout(&layout);
        let client = registry.client();
        let reference = registry.reference("test/busybox:latest");
        let (digest, bytes) = &expected.layers[0];
        let mut out = Vec::new();
        let written = client
            .fetch_blob(&reference, digest, bytes.len() as u64, &mut out)
            .unwrap();
        assert_eq!(written, bytes.len() as u64);
        assert_eq!(&out, bytes);

        let wrong_size = client
            .fetch_blob(&reference, digest, bytes.len() as u64 - 1, &mut Vec::new())
            .unwrap_err();
        assert!(
            matches!(wrong_size, Error::SizeMismatch { .. }),
            "{wrong_size:?}"
        );
    }

    #[test]
    fn tampered_blob_is_an_error_naming_both_digests() {
        let Some(registry) = TestRegistry::start() else {
            return;
        };
        let Some(layout) = registry.push_busybox("test/busybox", "latest") else {
            return;
        };
        let expected = read_layout(&layout);
        let client = registry.client();
        let reference = registry.reference("test/busybox:latest");
        let (digest, bytes) = &expected.layers[0];

        // Same length, one byte changed, straight in the registry's storage.
        let mut tampered = bytes.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0xff;
        fs_err::write(registry.blob_path(digest), &tampered).unwrap();

        let error = client
            .fetch_blob(&reference, digest, bytes.len() as u64, &mut Vec::new())
            .unwrap_err();
        let actual = Digest::of(&tampered);
        assert!(
            matches!(&error, Error::DigestMismatch { expected: e, actual: a, .. } if e == digest && *a == actual),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&digest.to_string())
                && message.contains(&actual.to_string())
                && message.contains("test/busybox"),
            "{message}"
        );
    }

    fn patterned_blob() -> Vec<u8> {
        (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn fetch_blob_resumes_a_dropped_download_with_a_range_request() {
        use crate::test_support::http::{ScriptedServer, answer};
        let blob = patterned_blob();
        let digest = Digest::of(&blob);
        let mut server = ScriptedServer::bind();
        server.serve(vec![
            answer("200 OK", &[], &blob[..40_000], blob.len()),
            answer(
                "206 Partial Content",
                &[],
                &blob[40_000..],
                blob.len() - 40_000,
            ),
        ]);
        let client = RegistryClient::new(RegistryOptions {
            docker_config: Some("/nonexistent/config.json".into()),
            ..RegistryOptions::default()
        });
        let reference: Reference = format!("{}/test/app:v1", server.host).parse().unwrap();
        let mut out = Vec::new();
        let written = client
            .fetch_blob(&reference, &digest, blob.len() as u64, &mut out)
            .unwrap();
        assert_eq!(written, blob.len() as u64);
        assert!(out == blob, "resumed bytes differ");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert!(
            requests[1]
                .to_ascii_lowercase()
                .contains("range: bytes=40000-"),
            "{}",
            requests[1]
        );
    }

    #[test]
    fn fetch_blob_skips_what_it_has_when_the_server_ignores_range() {
        use crate::test_support::http::{ScriptedServer, answer};
        let blob = patterned_blob();
        let digest = Digest::of(&blob);
        let mut server = ScriptedServer::bind();
        server.serve(vec![
            answer("200 OK", &[], &blob[..30_000], blob.len()),
            answer("200 OK", &[], &blob, blob.len()),
        ]);
        let client = RegistryClient::new(RegistryOptions {
            docker_config: Some("/nonexistent/config.json".into()),
            ..RegistryOptions::default()
        });
        let reference: Reference = format!("{}/test/app:v1", server.host).parse().unwrap();
        let mut out = Vec::new();
        client
            .fetch_blob(&reference, &digest, blob.len() as u64, &mut out)
            .unwrap();
        assert!(out == blob, "bytes after an ignored range differ");
    }
}
