//! The OCI distribution registry client: resolving and pulling images,
//! pushing blobs and manifests, over HTTPS (plain HTTP for loopback and
//! insecure hosts) with token and basic auth from the Docker config.
//!
//! It owns the HTTP exchange and checks every digest it reads; storing
//! blobs, unpacking layers and deciding what to push are left to the
//! content store, the snapshotter and the exporters. It never prints:
//! requests and retries are logged through `tracing` at debug level.
//!
//! ```no_run
//! use xb::graph::{Platform, Reference};
//! use xb::registry::{RegistryClient, RegistryOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = RegistryClient::new(RegistryOptions::default());
//! let reference: Reference = "busybox:1.36".parse()?;
//! let image = client.resolve(&reference, &Platform::host())?;
//! for layer in &image.layers {
//!     let mut file = fs_err::File::create(layer.digest.hex())?;
//!     // On error, what was written is not the layer: delete the file.
//!     client.fetch_blob(&reference, &layer.digest, layer.size, &mut file)?;
//! }
//! # Ok(())
//! # }
//! ```

mod auth;
mod blob;
mod client;
mod credentials;
mod dns;
mod error;
mod manifest;
mod pull;
mod push;
mod transport;

pub use auth::{Challenge, Scope};
pub use client::{RegistryClient, RegistryOptions};
pub use credentials::{CredentialStore, Credentials};
pub use error::{Error, Result};
pub use manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, ImageParts, IndexEntry, LayerDescriptor, ManifestKind,
    OCI_INDEX, OCI_MANIFEST, parse_image_manifest, parse_index, select_platform,
};
pub use pull::{CONFIG_LIMIT, FetchedManifest, MANIFEST_LIMIT, ResolvedImage};
