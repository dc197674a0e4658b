//! A local build context as the executor uses it: scanned and checksummed
//! once per build (the checksums remembered in the store between builds),
//! then asked for the checksum of what one COPY selects, for its cache key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::frontend::ignore::IgnoreRules;
use crate::graph::Digest;
use crate::source::context::{
    ScannedContext, cache_dir_name, checksum_tree, scan_context, selection_checksum,
};
use crate::store::Store;

use super::ExecuteError;

/// One named local context (`context`, or a `--build-context` directory).
pub struct LocalContext {
    root: PathBuf,
    rules: IgnoreRules,
    scanned: Mutex<Option<Arc<ScannedContext>>>,
}

impl LocalContext {
    pub fn new(root: PathBuf, rules: IgnoreRules) -> Self {
        Self {
            root,
            rules,
            scanned: Mutex::new(None),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The context scanned and checksummed (once per build).
    pub fn scanned(&self, store: &Store) -> Result<Arc<ScannedContext>, ExecuteError> {
        let mut slot = self
            .scanned
            .lock()
            .expect("no scan panicked holding the lock");
        if let Some(scanned) = slot.as_ref() {
            return Ok(Arc::clone(scanned));
        }
        let tree = scan_context(&self.root, &self.rules)?;
        let cache_dir = store.dir("context")?.join(cache_dir_name(tree.root()));
        let checksums = checksum_tree(&tree, Some(&cache_dir))?;
        let scanned = Arc::new(ScannedContext { tree, checksums });
        *slot = Some(Arc::clone(&scanned));
        Ok(scanned)
    }

    /// Scans and checksums the context (once).
    pub fn prepare(&self, store: &Store) -> Result<(), ExecuteError> {
        self.scanned(store).map(|_| ())
    }

    /// The checksum of what `sources` (minus `excludes`) select.
    pub fn selection_key(
        &self,
        store: &Store,
        sources: &[String],
        excludes: &[String],
    ) -> Result<Digest, ExecuteError> {
        let scanned = self.scanned(store)?;
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        let excludes: Vec<&str> = excludes.iter().map(String::as_str).collect();
        Ok(selection_checksum(
            &scanned.tree,
            &scanned.checksums,
            &sources,
            &excludes,
        )?)
    }

    /// The `.dockerignore` rules in force.
    pub fn rules(&self) -> &IgnoreRules {
        &self.rules
    }
}
