//! `xb du [--verbose]`: the store's size by kind (and, verbose, per entry),
//! printed like `docker buildx du`. Measuring is the store's job; this file
//! finds the store and lays out the tables. A store that does not exist is
//! reported empty, not created.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use crate::cli::DuArgs;
use crate::hint::Hinted;
use crate::store::size::format_size;
use crate::store::{EntryKind, Store, Usage, default_root};

use super::ExitStatus;
use super::table::table;

pub(super) fn du(args: &DuArgs) -> anyhow::Result<ExitStatus> {
    let root = store_root(args.store.root.as_deref())?;
    let usage = if root.exists() {
        let store = Store::open(&root).with_context(|| format!("open store {}", root.display()))?;
        store
            .usage()
            .with_context(|| format!("measure store {}", root.display()))?
    } else {
        Usage::empty()
    };
    let mut out = std::io::stdout().lock();
    if args.verbose {
        let now = SystemTime::now();
        for entry in usage.entries.iter().rev() {
            writeln!(out, "ID:\t\t{}", entry.id)?;
            writeln!(out, "Kind:\t\t{}", entry.kind.as_str())?;
            writeln!(out, "Size:\t\t{}", format_size(entry.size))?;
            writeln!(out, "Last used:\t{}", ago(now, entry.last_used))?;
            match entry.kind {
                EntryKind::Record | EntryKind::Ref => {
                    writeln!(out, "Blobs:\t\t{}", entry.blobs.len())?;
                }
                EntryKind::Blob => writeln!(out, "Users:\t\t{}", entry.users)?,
            }
            writeln!(out)?;
        }
    }
    let mut rows = vec![vec![
        "KIND".to_owned(),
        "ENTRIES".to_owned(),
        "SIZE".to_owned(),
    ]];
    for kind in &usage.by_kind {
        rows.push(vec![
            kind.kind.clone(),
            kind.count.to_string(),
            format_size(kind.size),
        ]);
    }
    out.write_all(table(&rows, 2).as_bytes())?;
    writeln!(out, "Total:\t{}", format_size(usage.total()))?;
    Ok(ExitStatus::Success)
}

/// `--root`/`XB_ROOT`, else the default store directory.
pub(super) fn store_root(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(root) = flag {
        return Ok(root.to_owned());
    }
    default_root().ok_or_else(|| {
        Hinted::new(
            "cannot find a store directory: neither XDG_DATA_HOME nor HOME is set",
            "pass --root DIR or set XB_ROOT",
        )
        .into()
    })
}

/// How long ago `then` was, as `docker buildx du` says it.
fn ago(now: SystemTime, then: SystemTime) -> String {
    let seconds = now
        .duration_since(then)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (count, unit) = match seconds {
        0 => return "less than a second ago".to_owned(),
        1..60 => (seconds, "second"),
        60..3600 => (seconds / 60, "minute"),
        3600..172_800 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn ago_reads_like_buildx() {
        let now = SystemTime::now();
        let before = |seconds| now - Duration::from_secs(seconds);
        assert_eq!(ago(now, now), "less than a second ago");
        assert_eq!(ago(now, before(1)), "1 second ago");
        assert_eq!(ago(now, before(150)), "2 minutes ago");
        assert_eq!(ago(now, before(7200)), "2 hours ago");
        assert_eq!(ago(now, before(3 * 86_400)), "3 days ago");
    }
}
