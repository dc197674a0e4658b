//! Removing snapshots no cache record uses any more (after `xb prune` or the
//! automatic size cap dropped records). A snapshot younger than a grace
//! period is kept whatever the records say, so a build that has just
//! committed a layer and not yet recorded it never loses it.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use xb_snapshotter::{SnapshotId, Snapshotter};

use crate::graph::Digest;
use crate::store::{EntryKind, Store};

use super::{ExecuteError, Output};

/// How young a snapshot must be to survive a sweep unconditionally.
pub const SWEEP_GRACE: Duration = Duration::from_secs(600);

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub removed: usize,
    pub reclaimed: u64,
}

/// Removes every snapshot that no record's layer chain names and that is
/// older than `grace`.
pub fn sweep_snapshots(
    store: &Store,
    snapshotter: &Snapshotter,
    grace: Duration,
) -> Result<SweepReport, ExecuteError> {
    let mut keep: BTreeSet<SnapshotId> = BTreeSet::new();
    for entry in store.usage()?.entries {
        if entry.kind != EntryKind::Record {
            continue;
        }
        let Ok(key) = entry.id.parse::<Digest>() else {
            continue;
        };
        if let Some(output) = store.get_record::<Output>(&key)? {
            keep.extend(output.layers.into_iter().map(|layer| layer.snapshot));
        }
    }
    let snapshots = snapshotter.list()?;
    // Parents of kept snapshots stay too.
    let mut frontier: Vec<SnapshotId> = keep.iter().cloned().collect();
    while let Some(id) = frontier.pop() {
        if let Some(parent) = snapshots
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.parent.clone())
        {
            if keep.insert(parent.clone()) {
                frontier.push(parent);
            }
        }
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let cutoff = now.saturating_sub(grace.as_secs());
    let mut doomed: Vec<_> = snapshots
        .iter()
        .filter(|s| !keep.contains(&s.id) && u64::try_from(s.created).unwrap_or(0) <= cutoff)
        .collect();
    let mut report = SweepReport::default();
    // Children before parents: a snapshot with a child left cannot go.
    loop {
        let (leaves, rest): (Vec<_>, Vec<_>) = doomed.into_iter().partition(|candidate| {
            !snapshots.iter().any(|other| {
                other.parent.as_ref() == Some(&candidate.id) && snapshotter.info(&other.id).is_ok()
            })
        });
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            snapshotter.remove(&leaf.id)?;
            report.removed += 1;
            report.reclaimed += leaf.size;
        }
        doomed = rest;
    }
    Ok(report)
}
