//! The file that remembers content checksums between runs, so a no-op
//! rebuild does not read the context again. A file's recorded digest is
//! reused while its path, size, mtime (ns), inode and mode are unchanged.
//!
//! The file lives in a directory the caller chooses (the store gives each
//! context directory its own). It is written to a temporary file and renamed
//! into place, so readers see the old or the new file whole; a file that is
//! missing, foreign or damaged is ignored and rebuilt. Deciding which
//! digests are safe to record is left to [`super::checksum`].

use std::collections::HashMap;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::ContextError;
use super::scan::Entry;
use crate::graph::Digest;

/// The cache file's name inside the caller's directory.
pub(super) const CACHE_FILE: &str = "checksums";
/// The first line of a cache file; another first line means another format.
const HEADER: &str = "xb-context-checksums 1";

/// The stat fields a recorded digest depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileStamp {
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    pub(super) inode: u64,
    pub(super) mode: u32,
}

impl FileStamp {
    pub(super) fn of(entry: &Entry) -> Self {
        Self {
            size: entry.size,
            mtime_ns: entry.mtime_ns,
            inode: entry.inode,
            mode: entry.mode,
        }
    }
}

/// Recorded content digests by context path.
#[derive(Debug, Default)]
pub(super) struct ChecksumCache {
    files: HashMap<String, (FileStamp, Digest)>,
}

impl ChecksumCache {
    /// Reads the cache in `dir`; anything unreadable gives an empty cache.
    pub(super) fn load(dir: &Path) -> Self {
        let path = dir.join(CACHE_FILE);
        let Ok(text) = fs_err::read_to_string(&path) else {
            return Self::default();
        };
        Self::parse(&text).unwrap_or_else(|| {
            tracing::debug!(path = %path.display(), "ignoring a damaged checksum cache");
            Self::default()
        })
    }

    /// Parses the whole file, or nothing: one bad line voids it.
    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.split_terminator('\n');
        if lines.next()? != HEADER {
            return None;
        }
        let mut files = HashMap::new();
        for line in lines {
            let (fields, path) = line.split_once('\t')?;
            let mut fields = fields.split(' ');
            let digest: Digest = format!("sha256:{}", fields.next()?).parse().ok()?;
            let stamp = FileStamp {
                size: fields.next()?.parse().ok()?,
                mtime_ns: fields.next()?.parse().ok()?,
                inode: fields.next()?.parse().ok()?,
                mode: u32::from_str_radix(fields.next()?, 8).ok()?,
            };
            if fields.next().is_some() {
                return None;
            }
            files.insert(path.to_owned(), (stamp, digest));
        }
        Some(Self { files })
    }

    /// The recorded digest of `path`, if its stamp is unchanged.
    pub(super) fn lookup(&self, path: &str, stamp: FileStamp) -> Option<Digest> {
        self.files
            .get(path)
            .filter(|(recorded, _)| *recorded == stamp)
            .map(|(_, digest)| *digest)
    }

    pub(super) fn len(&self) -> usize {
        self.files.len()
    }

    /// Writes `records` as the cache in `dir`, atomically.
    pub(super) fn save<'a>(
        dir: &Path,
        records: impl Iterator<Item = (&'a str, FileStamp, Digest)>,
    ) -> Result<(), ContextError> {
        let path = dir.join(CACHE_FILE);
        let write_error = |path: &Path| {
            let path = path.to_owned();
            move |source| ContextError::WriteChecksumCache { path, source }
        };
        fs_err::create_dir_all(dir).map_err(write_error(dir))?;
        let temporary = temporary_name(dir);
        let result = (|| {
            let file = fs_err::File::create(&temporary)?;
            let mut out = BufWriter::new(file);
            writeln!(out, "{HEADER}")?;
            for (name, stamp, digest) in records {
                if name.contains('\n') {
                    continue;
                }
                writeln!(
                    out,
                    "{} {} {} {} {:o}\t{name}",
                    digest.hex(),
                    stamp.size,
                    stamp.mtime_ns,
                    stamp.inode,
                    stamp.mode
                )?;
            }
            out.into_inner().map_err(io::IntoInnerError::into_error)?;
            fs_err::rename(&temporary, &path)
        })();
        if result.is_err() {
            let _ = fs_err::remove_file(&temporary);
        }
        result.map_err(write_error(&path))
    }
}

/// A name in `dir` no other writer uses at the same time.
fn temporary_name(dir: &Path) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    dir.join(format!(".{CACHE_FILE}.{}.{nanos}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(size: u64) -> FileStamp {
        FileStamp {
            size,
            mtime_ns: 1_700_000_000_123_456_789,
            inode: 42,
            mode: 0o644,
        }
    }

    #[test]
    fn cache_round_trips_and_matches_on_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let digest = Digest::of(b"x");
        let records = [("a b/c", stamp(1), digest)];
        ChecksumCache::save(dir.path(), records.into_iter()).unwrap();
        let cache = ChecksumCache::load(dir.path());
        assert_eq!(cache.lookup("a b/c", stamp(1)), Some(digest));
        assert_eq!(cache.lookup("a b/c", stamp(2)), None);
        assert_eq!(cache.lookup("other", stamp(1)), None);
        let leftovers: Vec<_> = fs_err::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file stays behind");
    }

    #[test]
    fn damaged_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let digest = Digest::of(b"x");
        ChecksumCache::save(dir.path(), [("a", stamp(1), digest)].into_iter()).unwrap();
        let path = dir.path().join(CACHE_FILE);
        let text = fs_err::read_to_string(&path).unwrap();
        for damaged in [
            &text[..text.len() - 20],
            "garbage",
            "",
            &text.replace(HEADER, "xb-context-checksums 0"),
            &text.replace(" 644\t", " 9x\t"),
        ] {
            fs_err::write(&path, damaged).unwrap();
            assert_eq!(ChecksumCache::load(dir.path()).len(), 0, "{damaged:?}");
        }
        fs_err::write(&path, b"\xff\xfe").unwrap();
        assert_eq!(ChecksumCache::load(dir.path()).len(), 0);
    }
}
