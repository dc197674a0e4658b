//! `xb prune`: removes build cache from the store, as `docker buildx prune`
//! does — asks first unless `--force`, then prints what went by kind and
//! `Total:  reclaimed …`. Eviction order is the store's; this file parses the
//! sizes and filters and talks to the user.

use std::io::{BufRead as _, Write as _};
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::PruneArgs;
use crate::hint::Hinted;
use crate::solver::executor::{SWEEP_GRACE, SweepReport, sweep_snapshots};
use crate::store::size::{format_size, parse_size};
use crate::store::{EntryKind, PruneOptions, PruneReport, Store};
use xb_snapshotter::Snapshotter;

use super::ExitStatus;
use super::du::store_root;
use super::table::table;

pub(super) fn prune(args: &PruneArgs) -> anyhow::Result<ExitStatus> {
    let options = match prune_options(args) {
        Ok(options) => options,
        Err(error) => {
            let _ = error.print();
            return Ok(ExitStatus::Usage);
        }
    };
    let root = store_root(args.store.root.as_deref())?;
    if !args.force && !confirm(options.all)? {
        return Err(Hinted::new(
            "prune cancelled",
            "pass --force (-f) to prune without being asked",
        )
        .into());
    }
    let mut swept = SweepReport::default();
    let mut caches = (0_u64, 0_u64);
    let report = if root.exists() {
        let store = Store::open(&root).with_context(|| format!("open store {}", root.display()))?;
        let context = || format!("prune store {}", root.display());
        let report = if let Some(report) = store.try_prune(options).with_context(context)? {
            report
        } else {
            writeln!(
                std::io::stderr(),
                "waiting for other xb processes to stop using {}",
                root.display()
            )?;
            store.prune(options).with_context(context)?
        };
        // Layers no remaining record uses go too (all of them with --all).
        let snapshotter = Snapshotter::open(store.dir("snapshots")?)?;
        let grace = if options.all {
            Duration::ZERO
        } else {
            SWEEP_GRACE
        };
        swept = sweep_snapshots(&store, &snapshotter, grace)
            .with_context(|| format!("remove unused layers from {}", root.display()))?;
        if options.all {
            caches = remove_cache_mounts(&store.dir("cache-mounts")?)?;
        }
        // Hints of COPY runs whose layers are gone (all with --all).
        let hints = store.dir("copy-reuse")?;
        crate::solver::file::reuse::sweep(&hints, |id| {
            !options.all && snapshotter.info(id).is_ok()
        })
        .with_context(|| format!("remove copy hints from {}", hints.display()))?;
        report
    } else {
        PruneReport::default()
    };
    let mut rows = vec![vec![
        "KIND".to_owned(),
        "REMOVED".to_owned(),
        "SIZE".to_owned(),
    ]];
    for (name, kind) in [
        ("records", EntryKind::Record),
        ("blobs", EntryKind::Blob),
        ("refs", EntryKind::Ref),
    ] {
        let (count, size) = report.removed_of(kind);
        rows.push(vec![name.to_owned(), count.to_string(), format_size(size)]);
    }
    rows.push(vec![
        "snapshots".to_owned(),
        swept.removed.to_string(),
        format_size(swept.reclaimed),
    ]);
    if options.all {
        rows.push(vec![
            "cache-mounts".to_owned(),
            caches.0.to_string(),
            format_size(caches.1),
        ]);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(table(&rows, 2).as_bytes())?;
    writeln!(
        out,
        "Total:  reclaimed {}",
        format_size(report.reclaimed + swept.reclaimed + caches.1)
    )?;
    Ok(ExitStatus::Success)
}

/// The flags as store options; a bad value is a usage error naming its flag.
fn prune_options(args: &PruneArgs) -> Result<PruneOptions, clap::Error> {
    let invalid = |flag: &str, value: &str, why: String| {
        clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!("invalid value '{value}' for '{flag}': {why}\n"),
        )
    };
    let keep_storage = args
        .keep_storage
        .as_deref()
        .map(|text| {
            parse_size(text)
                .map_err(|error| invalid("--keep-storage <SIZE>", text, error.to_string()))
        })
        .transpose()?;
    let mut until = None;
    for filter in &args.filters {
        let flag = "--filter <FILTER>";
        let Some(duration) = filter.strip_prefix("until=") else {
            return Err(invalid(
                flag,
                filter,
                "the only filter is until=DURATION".to_owned(),
            ));
        };
        until = Some(parse_duration(duration).map_err(|why| invalid(flag, filter, why))?);
    }
    Ok(PruneOptions {
        all: args.all,
        keep_storage,
        until,
    })
}

/// `24h`, `30m`, `1h30m`, `90s`, `2days`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|error| format!("{error} (expected e.g. 24h, 30m, 1h30m)"))
}

/// Asks on stderr and reads the answer from stdin; no answer is no.
fn confirm(all: bool) -> anyhow::Result<bool> {
    let what = if all {
        "all build cache"
    } else {
        "all dangling build cache"
    };
    let mut stderr = std::io::stderr().lock();
    write!(
        stderr,
        "WARNING! This will remove {what}. Are you sure you want to continue? [y/N] "
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.is_empty() {
        writeln!(stderr)?;
    }
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `--all`: `RUN --mount=type=cache` directories go too, as BuildKit's
/// `prune --all` removes cache mounts. Returns how many and their bytes.
fn remove_cache_mounts(dir: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let mut removed = (0, 0);
    for entry in fs_err::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "lock")
        {
            continue;
        }
        let (_, size) = crate::store::measure_area(&path)?;
        fs_err::remove_dir_all(&path)
            .with_context(|| format!("remove cache mount {}", path.display()))?;
        removed.0 += 1;
        removed.1 += size;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_reads_go_style_durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
    }
}
