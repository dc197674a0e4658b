//! The registry client's one error type. Each variant names the action that
//! failed and carries what a person needs to act on it: the URL or image
//! reference, the digests involved, the registry's own message. Deciding
//! what to print and which hint to add is left to the caller.

use std::io;
use std::path::PathBuf;

use crate::graph::Digest;

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP exchange itself failed (DNS, connect, TLS, dropped
    /// connection) after the bounded retries.
    #[error("{method} {url} failed after {attempts} attempt(s)")]
    Request {
        method: &'static str,
        url: String,
        attempts: u32,
        #[source]
        source: Box<ureq::Error>,
    },

    /// The registry answered with a status the action does not accept.
    #[error("{method} {url} returned {status}{}", registry_message(message))]
    UnexpectedStatus {
        method: &'static str,
        url: String,
        status: u16,
        /// The registry's `errors[].message` texts, or the start of the body.
        message: String,
    },

    /// The registry refused our credentials, or wants some and we have none.
    #[error(
        "access to {registry}/{repository} denied{}",
        registry_message(message)
    )]
    Unauthorized {
        registry: String,
        repository: String,
        message: String,
    },

    #[error("manifest {reference} not found")]
    ManifestNotFound { reference: String },

    #[error("blob {digest} not found in {reference}")]
    BlobNotFound { reference: String, digest: Digest },

    /// Bytes read from the registry do not hash to the digest that names
    /// them. Whatever was written for them must be thrown away.
    #[error("digest mismatch for {reference}: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        expected: Digest,
        actual: Digest,
    },

    /// Bytes read from the registry are not as long as their descriptor says.
    #[error("size mismatch for {digest} in {reference}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        reference: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    /// The registry named a content digest that is not a sha256 digest.
    #[error("{reference}: registry sent unusable digest {digest:?}")]
    UnsupportedDigest { reference: String, digest: String },

    /// A manifest or index larger than any sane one.
    #[error("manifest {reference} is larger than {limit} bytes")]
    ManifestTooLarge { reference: String, limit: u64 },

    /// Reading a response body failed part way.
    #[error("reading the response of {url}")]
    ReadResponse {
        url: String,
        #[source]
        source: io::Error,
    },

    /// The caller's writer refused a blob's bytes.
    #[error("writing blob {digest} of {reference}")]
    WriteBlob {
        reference: String,
        digest: Digest,
        #[source]
        source: io::Error,
    },

    /// The caller's reader failed while a blob was being uploaded.
    #[error("uploading blob {digest} to {reference}")]
    UploadBlob {
        reference: String,
        digest: Digest,
        #[source]
        source: Box<ureq::Error>,
    },

    /// An upload answer lacked the `Location` header the spec requires.
    #[error("{method} {url} returned no Location header")]
    MissingLocation { method: &'static str, url: String },

    #[error("parsing manifest {reference}")]
    ParseManifest {
        reference: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("manifest {reference} has unsupported media type {media_type:?}")]
    UnsupportedMediaType {
        reference: String,
        media_type: String,
    },

    #[error("{reference} has no image for platform {platform} (available: {})", available.join(", "))]
    NoMatchingPlatform {
        reference: String,
        platform: String,
        available: Vec<String>,
    },

    /// A `WWW-Authenticate` header we cannot follow.
    #[error("{registry} sent an unusable authentication challenge {header:?}")]
    ParseChallenge { registry: String, header: String },

    /// The token endpoint answered without a usable token.
    #[error("token from {realm} for {registry} is unusable")]
    ParseToken {
        registry: String,
        realm: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("reading docker config {path}")]
    ReadDockerConfig {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("parsing docker config {path}")]
    ParseDockerConfig {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// An `auths` entry whose `auth` is not base64 `user:password`.
    #[error("docker config {path}: the auth entry for {registry} is not base64 of user:password")]
    DecodeAuth { path: PathBuf, registry: String },

    /// A `docker-credential-<name>` program could not be started.
    #[error("running credential helper {program}")]
    RunCredentialHelper {
        program: String,
        #[source]
        source: io::Error,
    },

    /// A `docker-credential-<name>` program ran and failed.
    #[error("credential helper {program} failed for {registry}: {message}")]
    CredentialHelper {
        program: String,
        registry: String,
        message: String,
    },
}

fn registry_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// What the registry client's actions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
