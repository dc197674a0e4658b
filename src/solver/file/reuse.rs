//! Hard links instead of copies, for files an earlier run of the same COPY
//! already wrote. Rebuilding after one context file changed would otherwise
//! write every selected file into the new layer again; the files that did
//! not change are taken, as links, from the earlier run's committed layer.
//!
//! What an earlier run wrote is kept beside the store as a hint: the layer
//! it committed and, per destination path, the context checksum (content
//! and mode) of the file written there. A file is linked only when the
//! context vouches that the source is still the file with that checksum
//! ([`crate::source::context::ScannedContext::fingerprint`]) and the
//! earlier file carries on disk exactly the owner, mode and time this copy
//! gives ([`xb_snapshotter::ActiveSnapshot::reuse_file`]). A missing,
//! stale or torn hint only means files are copied.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use xb_snapshotter::SnapshotId;

use crate::graph::Digest;

/// Saves so far, to name temporary files apart.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// What an earlier run of one copy wrote, and what this run writes.
#[derive(Debug, Default)]
pub struct Reuse {
    previous: Option<Previous>,
    written: BTreeMap<String, Digest>,
}

#[derive(Debug)]
struct Previous {
    snapshot: SnapshotId,
    files: HashMap<String, Digest>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    snapshot: SnapshotId,
    files: BTreeMap<String, Digest>,
}

impl Reuse {
    /// The hint at `path`; nothing to reuse when it is missing or unreadable.
    pub fn load(path: &Path) -> Self {
        let previous = fs_err::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .map(|stored| Previous {
                snapshot: stored.snapshot,
                files: stored.files.into_iter().collect(),
            });
        Self {
            previous,
            written: BTreeMap::new(),
        }
    }

    /// Whether an earlier run left files to link.
    pub fn has_earlier(&self) -> bool {
        self.previous.is_some()
    }

    /// The earlier layer holding, at `target`, a file with `fingerprint`.
    pub fn candidate(&self, target: &str, fingerprint: &Digest) -> Option<&SnapshotId> {
        let previous = self.previous.as_ref()?;
        (previous.files.get(target) == Some(fingerprint)).then_some(&previous.snapshot)
    }

    /// Notes that this run put a file with `fingerprint` at `target`.
    pub fn record(&mut self, target: &str, fingerprint: Digest) {
        self.written.insert(target.to_owned(), fingerprint);
    }

    /// Whether this run noted any file.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// Writes what this run noted, for the layer it committed as
    /// `snapshot`, to `path` (through a temporary file and a rename; not
    /// synced, as losing a hint loses no data).
    pub fn save(&self, path: &Path, snapshot: &SnapshotId) -> io::Result<()> {
        let stored = Stored {
            snapshot: snapshot.clone(),
            files: self.written.clone(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(io::Error::other)?;
        let temp = path.with_extension(format!(
            "tmp-{}-{}",
            std::process::id(),
            SAVES.fetch_add(1, Ordering::Relaxed)
        ));
        fs_err::write(&temp, bytes)?;
        fs_err::rename(&temp, path).inspect_err(|_| {
            let _ = fs_err::remove_file(&temp);
        })
    }
}

/// Removes the hints in `dir` whose layer `keep` rejects (a layer prune
/// removed, or every one); says how many went. Unreadable hints go too.
pub fn sweep(dir: &Path, keep: impl Fn(&SnapshotId) -> bool) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        let kept = Reuse::load(&path)
            .previous
            .is_some_and(|previous| keep(&previous.snapshot));
        if !kept && fs_err::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_run_offers_its_files_to_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let hint = dir.path().join("hint.json");
        let snapshot: SnapshotId = "00112233445566778899aabbccddeeff".parse().unwrap();
        let same = Digest::of(b"same");
        let mut first = Reuse::load(&hint);
        assert_eq!(first.candidate("/src/a", &same), None);
        first.record("/src/a", same);
        first.save(&hint, &snapshot).unwrap();

        let second = Reuse::load(&hint);
        assert_eq!(second.candidate("/src/a", &same), Some(&snapshot));
        assert_eq!(second.candidate("/src/a", &Digest::of(b"other")), None);
        assert_eq!(second.candidate("/src/b", &same), None);
        assert!(second.is_empty());
    }

    #[test]
    fn sweeping_drops_hints_of_removed_layers() {
        let dir = tempfile::tempdir().unwrap();
        let kept: SnapshotId = "00112233445566778899aabbccddeeff".parse().unwrap();
        let gone: SnapshotId = "ffeeddccbbaa99887766554433221100".parse().unwrap();
        let mut reuse = Reuse::default();
        reuse.record("/a", Digest::of(b"a"));
        reuse.save(&dir.path().join("kept.json"), &kept).unwrap();
        reuse.save(&dir.path().join("gone.json"), &gone).unwrap();
        fs_err::write(dir.path().join("torn.json"), "{").unwrap();
        assert_eq!(sweep(dir.path(), |id| *id == kept).unwrap(), 2);
        assert!(dir.path().join("kept.json").exists());
        assert!(!dir.path().join("gone.json").exists());
        assert!(!dir.path().join("torn.json").exists());
    }

    #[test]
    fn a_torn_hint_offers_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let hint = dir.path().join("hint.json");
        fs_err::write(&hint, "{\"snapshot\":").unwrap();
        assert_eq!(
            Reuse::load(&hint).candidate("/src/a", &Digest::of(b"x")),
            None
        );
    }
}
