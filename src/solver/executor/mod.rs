//! The executor that builds: for each vertex it computes a cache key from
//! content (image manifest digests, context file checksums, input keys),
//! returns the stored result on a hit, and otherwise pulls, copies or merges
//! into the snapshotter and records the result in the store. It reports
//! every vertex to the progress display; it never prints.

mod context;
mod file;
mod http;
mod image;
mod layout;
mod mounts;
mod run;
mod run_settings;
mod sweep;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use xb_snapshotter::{SnapshotId, Snapshotter};

use crate::frontend::ignore::IgnoreRules;
use crate::graph::{Digest, Graph, Op, SourceOp, VertexId};
use crate::registry::RegistryClient;
use crate::store::Store;

use super::event::{self, Reporter, VertexInfo, VertexOutcome};
use super::scheduler::Executor;

pub use context::LocalContext;
pub use run::SANDBOX_HOSTNAME;
pub use run_settings::{BackendChoice, IsolationChoice, RunSettings, SecretSource};
pub use sweep::{SWEEP_GRACE, SweepReport, sweep_snapshots};

/// A committed layer of a result's filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    pub snapshot: SnapshotId,
    /// The compressed blob it came from (image layers), reused at export.
    pub blob: Option<LayerBlobRef>,
}

/// A layer blob in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlobRef {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    pub diff_id: Digest,
}

/// What an image source resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub reference: String,
    pub manifest_digest: Digest,
    /// The config blob, in the store.
    pub config_digest: Digest,
}

/// A vertex's result: a filesystem as a chain of layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub cache_key: Digest,
    /// Bottom first; empty for scratch.
    pub layers: Vec<Layer>,
    /// Set for image sources.
    pub image: Option<ImageInfo>,
    /// Set for local sources: which named context.
    pub local: Option<String>,
    /// When this result was first computed (seconds since the epoch; 0 for
    /// sources). Kept in the cache record, so a fully cached rebuild gives
    /// the image the same `created` time, and so the same digest.
    #[serde(default)]
    pub created: u64,
}

impl Output {
    pub fn top(&self) -> Option<&SnapshotId> {
        self.layers.last().map(|layer| &layer.snapshot)
    }

    /// The store blobs this result needs kept: its layers' and its config.
    pub fn blobs(&self) -> Vec<Digest> {
        let mut blobs: Vec<Digest> = self
            .layers
            .iter()
            .filter_map(|layer| layer.blob.as_ref().map(|blob| blob.digest))
            .collect();
        blobs.extend(self.image.as_ref().map(|image| image.config_digest));
        blobs
    }
}

/// Why a vertex could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    #[error(transparent)]
    Snapshot(#[from] xb_snapshotter::Error),
    #[error(transparent)]
    Copy(#[from] crate::solver::file::copy::CopyError),
    #[error(transparent)]
    Owner(#[from] crate::solver::file::owner::OwnerError),
    #[error(transparent)]
    Context(#[from] crate::source::context::ContextError),
    #[error("failed to decompress layer {digest}")]
    DecompressLayer {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("layer {digest} of {reference} has diff id {actual}, but its config says {expected}")]
    DiffIdMismatch {
        reference: String,
        digest: Digest,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error(transparent)]
    Identity(#[from] crate::solver::exec::identity::IdentityError),
    #[error("failed to run the command in its sandbox")]
    Sandbox(#[source] xb_runtime::Error),
    #[error(
        "process {command} did not complete successfully: {status}{}",
        tail_suffix(tail)
    )]
    CommandFailed {
        command: String,
        status: String,
        /// The command's last output lines.
        tail: String,
    },
    #[error(
        "USER {user} cannot run here: this build's user namespace maps only root (no subordinate ids for this user; add them to /etc/subuid and /etc/subgid)"
    )]
    OnlyRootMapped { user: String },
    #[error("mount at {target}: {message}")]
    Mount { target: String, message: String },
    #[error("secret {id}: not provided (pass --secret id={id},src=FILE or id={id},env=VAR)")]
    MissingSecret { id: String },
    #[error("failed to read secret {id}")]
    ReadSecret {
        id: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ssh {id}: no agent socket given (pass --ssh {id}=$SSH_AUTH_SOCK)")]
    MissingSsh { id: String },
    #[error("ssh {id}: only an agent socket can be forwarded (key files are not supported yet)")]
    SshNotSocket { id: String },
    #[error("failed to download {url}")]
    Download {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("checksum mismatch for {url}: expected {expected}, got {actual}")]
    ChecksumMismatch {
        url: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("no build context named {0:?}")]
    UnknownContext(String),
    #[error("{0} is not supported yet")]
    Unsupported(&'static str),
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("\n{tail}")
    }
}

/// What a build needs to run vertices.
pub struct BuildExecutor<'a> {
    pub graph: &'a Graph,
    pub store: &'a Store,
    pub snapshotter: &'a Snapshotter,
    pub registry: &'a RegistryClient,
    pub contexts: BTreeMap<String, LocalContext>,
    pub reporter: &'a dyn Reporter,
    /// `--no-cache`, or `--no-cache-filter` for these vertices.
    pub no_cache: Box<dyn Fn(VertexId) -> bool + Sync + 'a>,
    /// `--pull`: re-resolve image tags.
    pub pull: bool,
    /// What every RUN of the build shares.
    pub run: &'a RunSettings,
    /// Added to vertex ids in progress events, so several graphs solved
    /// for one build report distinct vertices.
    pub event_offset: u64,
}

impl BuildExecutor<'_> {
    /// Creates a local context entry for the main build context.
    pub fn local_context(root: PathBuf, rules: IgnoreRules) -> LocalContext {
        LocalContext::new(root, rules)
    }

    fn key_of(parts: &impl Serialize) -> Digest {
        Digest::of(&serde_json::to_vec(parts).expect("cache key parts serialize"))
    }

    /// A stored result whose snapshots all still exist.
    fn cached(&self, key: &Digest) -> Result<Option<Output>, ExecuteError> {
        let Some(output) = self.store.get_record::<Output>(key)? else {
            return Ok(None);
        };
        let intact = output
            .layers
            .iter()
            .all(|layer| self.snapshotter.info(&layer.snapshot).is_ok());
        Ok(intact.then_some(output))
    }

    /// Looks `key` up, else computes it under the key's lock and records it
    /// with every blob its layers and config need, so the store keeps them
    /// while the record lives (a COPY over an image needs the image's blobs).
    fn cached_or(
        &self,
        id: VertexId,
        key: Digest,
        compute: impl FnOnce() -> Result<Output, ExecuteError>,
    ) -> Result<(Output, bool), ExecuteError> {
        let use_cache = !(self.no_cache)(id);
        if use_cache {
            if let Some(output) = self.cached(&key)? {
                return Ok((output, true));
            }
        }
        let _lock = self.store.lock_key(&key)?;
        if use_cache {
            if let Some(output) = self.cached(&key)? {
                return Ok((output, true));
            }
        }
        let output = compute()?;
        self.store.put_record(&key, &output, &output.blobs())?;
        Ok((output, false))
    }

    fn run(&self, id: VertexId, inputs: &[Output]) -> Result<(Output, bool), ExecuteError> {
        let vertex = self.graph.vertex(id);
        match &vertex.op {
            Op::Source(SourceOp::Scratch) => Ok((
                Output {
                    cache_key: Self::key_of(&"scratch"),
                    layers: Vec::new(),
                    image: None,
                    local: None,
                    created: 0,
                },
                true,
            )),
            Op::Source(SourceOp::Local { name }) => {
                let context = self
                    .contexts
                    .get(name)
                    .ok_or_else(|| ExecuteError::UnknownContext(name.clone()))?;
                context.prepare(self.store)?;
                Ok((
                    Output {
                        cache_key: Self::key_of(&("local", name)),
                        layers: Vec::new(),
                        image: None,
                        local: Some(name.clone()),
                        created: 0,
                    },
                    false,
                ))
            }
            Op::Source(SourceOp::Image {
                reference,
                platform,
            }) => self.pull_image(id, reference, platform),
            Op::Source(SourceOp::OciLayout {
                path,
                tag,
                digest,
                platform,
            }) => self.load_layout(id, path, tag.as_deref(), digest.as_ref(), platform),
            Op::Source(SourceOp::Http {
                url,
                checksum,
                filename,
            }) => self.fetch_http(id, url, checksum.as_ref(), filename.as_deref()),
            Op::Exec(exec) => self.run_exec(id, exec, inputs),
            Op::File(file) => self.run_file(id, file, inputs),
            Op::Merge(_) => self.run_merge(id, inputs),
        }
    }
}

/// A small text file of a root filesystem (`/etc/passwd`), if it is there.
fn read_text(root: Option<&xb_snapshotter::View>, path: &str) -> Option<String> {
    std::io::read_to_string(root?.open(std::path::Path::new(path)).ok()?).ok()
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// Now, in seconds since the epoch, for [`Output::created`].
pub(super) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Executor for BuildExecutor<'_> {
    type Output = Output;
    type Error = ExecuteError;

    fn execute(&self, id: VertexId, inputs: Vec<Output>) -> Result<Output, ExecuteError> {
        let vertex = self.graph.vertex(id);
        let reported = !matches!(vertex.op, Op::Source(SourceOp::Scratch));
        let event_id = event::VertexId(self.event_offset + id.0 as u64);
        if reported {
            self.reporter.on_vertex_start(&VertexInfo {
                id: event_id,
                digest: Some(self.graph.digest(id).to_string()),
                name: vertex.origin.name.clone(),
                started: now(),
            });
        }
        let result = self.run(id, &inputs);
        if reported {
            match &result {
                Ok((_, true)) => self.reporter.on_vertex_cached(event_id, now()),
                Ok((_, false)) => {
                    self.reporter
                        .on_vertex_done(event_id, &VertexOutcome::Completed, now());
                }
                Err(error) => self.reporter.on_vertex_done(
                    event_id,
                    &VertexOutcome::Failed {
                        message: format!("{error}"),
                    },
                    now(),
                ),
            }
        }
        result.map(|(output, _)| output)
    }
}
