//! Content checksums of a scanned context, the part of a cache key that says
//! "these context files are the ones the last build copied".
//!
//! Each entry gets a header digest over what a copy reproduces, like
//! BuildKit's `contenthash`: its kind, permission bits, symlink target and
//! content digest (sha256 of the bytes), so a chmod changes it while a touch
//! does not. A directory's checksum is a digest over its own header and its
//! children's (name, checksum) in order, so a change anywhere below it (a
//! new file, a rename, an edit) changes it. Owners and times are left out: a
//! COPY sets its own owner, and BuildKit leaves times out too.
//!
//! Files are read in parallel on rayon, each opened beneath the context root
//! with no symlink followed ([`super::safety`]), and their digests kept in a
//! cache file between runs. A digest is recorded only for a file
//! whose mtime is older than the run by more than [`RACY_WINDOW_NS`], so an
//! edit made within one timestamp tick of the read cannot hide behind an
//! unchanged mtime ("racy git"). Choosing which entries a COPY reads is left
//! to [`super::select`].

use std::io::{self, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use super::cache::{ChecksumCache, FileStamp};
use super::error::ContextError;
use super::safety::ContextRoot;
use super::scan::{ContextTree, Entry, EntryKind, nanoseconds};
use crate::graph::{Digest, Digester};

/// How much older than the run a file's mtime must be for its digest to be
/// recorded: two seconds covers the coarsest timestamps in use (FAT).
pub const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// What a checksum run did, for progress and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChecksumStats {
    /// Files whose content was read and hashed.
    pub files_hashed: usize,
    /// Bytes read to hash them.
    pub bytes_hashed: u64,
    /// Files whose digest came from the cache.
    pub files_reused: usize,
}

/// The checksums of every entry of a [`ContextTree`], by entry index.
#[derive(Debug, Clone)]
pub struct Checksums {
    /// Per entry: the header digest (for a directory, of itself alone).
    headers: Vec<Digest>,
    /// Per entry: the header for files and symlinks, the tree digest for
    /// directories.
    sums: Vec<Digest>,
    /// Per entry: a file whose digest is of the content its scanned stamp
    /// stands for (it stayed put while read, and its mtime was older than
    /// the run by [`RACY_WINDOW_NS`]); what the cache may record.
    vouched: Vec<bool>,
    stats: ChecksumStats,
}

impl Checksums {
    /// The checksum of entry `index`: its header digest, or for a directory
    /// the digest of everything below it.
    pub fn get(&self, index: usize) -> Digest {
        self.sums[index]
    }

    /// The checksum of the entry at `path`, if the tree has one.
    pub fn of_path(&self, tree: &ContextTree, path: &str) -> Option<Digest> {
        tree.find(path).map(|index| self.get(index))
    }

    /// The checksum of the whole context.
    pub fn root(&self) -> Digest {
        self.sums[0]
    }

    pub fn stats(&self) -> ChecksumStats {
        self.stats
    }

    pub(super) fn headers(&self) -> &[Digest] {
        &self.headers
    }

    pub(super) fn vouched(&self, index: usize) -> bool {
        self.vouched[index]
    }
}

/// A sha256 over bytes written to it.
pub(super) struct Hasher(Digester<io::Sink>);

impl Hasher {
    pub(super) fn new(domain: &str) -> Self {
        let mut hasher = Self(Digester::new(io::sink()));
        hasher.bytes(domain.as_bytes());
        hasher
    }

    /// Adds `bytes`, prefixed by their length so fields cannot run together.
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.raw(&(bytes.len() as u64).to_be_bytes());
        self.raw(bytes);
    }

    pub(super) fn digest(&mut self, digest: &Digest) {
        self.raw(digest.bytes());
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0
            .write_all(bytes)
            .expect("writing to a digester over a sink cannot fail");
    }

    pub(super) fn finish(self) -> Digest {
        self.0.finish().0
    }
}

/// The header digest of `entry` with content digest `content` (files only).
fn header_digest(entry: &Entry, content: Option<&Digest>) -> Digest {
    let mut hasher = Hasher::new("xb.context.entry.v1");
    let kind: &[u8] = match entry.kind {
        EntryKind::File => b"file",
        EntryKind::Directory => b"dir",
        EntryKind::Symlink => b"symlink",
    };
    hasher.bytes(kind);
    hasher.bytes(&entry.mode.to_be_bytes());
    if let Some(target) = &entry.link_target {
        hasher.bytes(target.as_os_str().as_bytes());
    }
    if let Some(content) = content {
        hasher.digest(content);
    }
    hasher.finish()
}

/// A directory name for the checksum cache of the context at `root` (the
/// hex digest of its absolute path), for a store that keeps one cache
/// directory per context.
pub fn cache_dir_name(root: &Path) -> String {
    Digest::of(root.as_os_str().as_bytes()).hex()
}

/// Computes the checksums of `tree`, reading only files the cache in
/// `cache_dir` (when given) does not vouch for, and updates that cache.
pub fn checksum_tree(
    tree: &ContextTree,
    cache_dir: Option<&Path>,
) -> Result<Checksums, ContextError> {
    let started_ns = now_ns();
    let cache = cache_dir.map(ChecksumCache::load).unwrap_or_default();
    let entries = tree.entries();
    let cached: Vec<Option<Digest>> = entries
        .iter()
        .map(|entry| match entry.kind {
            EntryKind::File => cache.lookup(&entry.path, FileStamp::of(entry)),
            _ => None,
        })
        .collect();
    let to_hash: Vec<usize> = (0..entries.len())
        .filter(|&index| entries[index].kind == EntryKind::File && cached[index].is_none())
        .collect();
    let root = if to_hash.is_empty() {
        None
    } else {
        Some(ContextRoot::open(tree.root())?)
    };
    let hashed: Vec<(usize, Hashed)> = to_hash
        .par_iter()
        .map(|&index| {
            let root = root.as_ref().expect("opened when files need hashing");
            hash_file(root, &entries[index]).map(|hashed| (index, hashed))
        })
        .collect::<Result<_, _>>()?;
    let mut stats = ChecksumStats {
        files_reused: cached.iter().flatten().count(),
        ..ChecksumStats::default()
    };
    let mut contents = cached;
    let mut steady = vec![true; entries.len()];
    for (index, hashed) in hashed {
        stats.files_hashed += 1;
        stats.bytes_hashed += hashed.size;
        contents[index] = Some(hashed.digest);
        steady[index] = hashed.steady;
    }
    let headers: Vec<Digest> = entries
        .iter()
        .zip(&contents)
        .map(|(entry, content)| header_digest(entry, content.as_ref()))
        .collect();
    let mut sums = headers.clone();
    fold_subtree(
        tree,
        &headers,
        0,
        |_| true,
        |index, digest| {
            sums[index] = digest;
        },
    );
    let vouched: Vec<bool> = entries
        .iter()
        .zip(&steady)
        .map(|(entry, steady)| {
            entry.kind == EntryKind::File
                && *steady
                && entry.mtime_ns.saturating_add(RACY_WINDOW_NS) < started_ns
        })
        .collect();
    if let Some(dir) = cache_dir {
        let records =
            || {
                entries.iter().zip(&contents).zip(&vouched).filter_map(
                    |((entry, content), vouched)| {
                        let content = content.filter(|_| *vouched)?;
                        Some((entry.path.as_str(), FileStamp::of(entry), content))
                    },
                )
            };
        // A no-op run leaves the file alone.
        if stats.files_hashed > 0 || records().count() != cache.len() {
            ChecksumCache::save(dir, records())?;
        }
    }
    Ok(Checksums {
        headers,
        sums,
        vouched,
        stats,
    })
}

/// A file's content digest, and whether it stayed as scanned while read.
struct Hashed {
    digest: Digest,
    size: u64,
    steady: bool,
}

fn hash_file(root: &ContextRoot, entry: &Entry) -> Result<Hashed, ContextError> {
    let mut file = root.open_file(&entry.path)?;
    let read_error = |source| ContextError::HashFile {
        path: root.path().join(&entry.path),
        source,
    };
    let mut digester = Digester::new(io::sink());
    io::copy(&mut file, &mut digester).map_err(read_error)?;
    let (digest, size, _) = digester.finish();
    let metadata = file.metadata().map_err(read_error)?;
    let mtime_ns = nanoseconds(metadata.mtime(), metadata.mtime_nsec());
    let steady = metadata.is_file()
        && metadata.len() == entry.size
        && size == entry.size
        && metadata.ino() == entry.inode
        && mtime_ns == entry.mtime_ns;
    Ok(Hashed {
        digest,
        size,
        steady,
    })
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)
        })
}

/// A directory whose children are still being added.
struct OpenDir {
    index: usize,
    depth: usize,
    hasher: Hasher,
}

/// Folds the subtree of entry `root` into its checksum, visiting only the
/// entries `keep` accepts (every ancestor of a kept entry, up to `root`,
/// must be kept too). `on_dir` gets each kept directory's checksum. With
/// `keep` accepting everything, a directory's checksum is the one
/// [`checksum_tree`] gives it.
pub(super) fn fold_subtree(
    tree: &ContextTree,
    headers: &[Digest],
    root: usize,
    keep: impl Fn(usize) -> bool,
    mut on_dir: impl FnMut(usize, Digest),
) -> Digest {
    let entries = tree.entries();
    if !entries[root].is_dir() {
        return headers[root];
    }
    let open = |index: usize, depth: usize| {
        let mut hasher = Hasher::new("xb.context.dir.v1");
        hasher.digest(&headers[index]);
        OpenDir {
            index,
            depth,
            hasher,
        }
    };
    let mut close = |stack: &mut Vec<OpenDir>| {
        let dir = stack.pop().expect("a directory is open");
        let digest = dir.hasher.finish();
        on_dir(dir.index, digest);
        if let Some(parent) = stack.last_mut() {
            parent.hasher.bytes(entries[dir.index].name().as_bytes());
            parent.hasher.digest(&digest);
        }
        digest
    };
    let mut stack = vec![open(root, entries[root].depth())];
    for index in tree.descendants(root) {
        if !keep(index) {
            continue;
        }
        let entry = &entries[index];
        let depth = entry.depth();
        while stack.last().is_some_and(|dir| dir.depth >= depth) {
            close(&mut stack);
        }
        if entry.is_dir() {
            stack.push(open(index, depth));
        } else {
            let parent = stack.last_mut().expect("the root stays open");
            parent.hasher.bytes(entry.name().as_bytes());
            parent.hasher.digest(&headers[index]);
        }
    }
    loop {
        let digest = close(&mut stack);
        if stack.is_empty() {
            return digest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::ignore::IgnoreRules;
    use crate::source::context::scan::scan_context;
    use std::os::unix::fs::{PermissionsExt as _, symlink};
    use std::time::{Duration, Instant};

    /// Writes `path` with `text` and an mtime `age` in the past.
    fn write_aged(path: &Path, text: &str, age: Duration) {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap();
        }
        let file = fs_err::File::create(path).unwrap();
        (&file).write_all(text.as_bytes()).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn sums(dir: &Path, cache: Option<&Path>) -> (ContextTree, Checksums) {
        let tree = scan_context(dir, &IgnoreRules::default()).unwrap();
        let sums = checksum_tree(&tree, cache).unwrap();
        (tree, sums)
    }

    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_aged(&dir.path().join("a/one.txt"), "one", HOUR);
        write_aged(&dir.path().join("a/deep/two.txt"), "two", HOUR);
        write_aged(&dir.path().join("b/three.txt"), "three", HOUR);
        symlink("one.txt", dir.path().join("a/link")).unwrap();
        dir
    }

    /// The root, `a`, `b` and `a/one.txt` checksums.
    fn key_sums(dir: &Path) -> [Digest; 4] {
        let (tree, sums) = sums(dir, None);
        let of = |path| sums.of_path(&tree, path).unwrap();
        [sums.root(), of("a"), of("b"), of("a/one.txt")]
    }

    #[test]
    fn checksum_is_stable_and_ignores_times() {
        let dir = sample();
        let before = key_sums(dir.path());
        assert_eq!(before, key_sums(dir.path()));
        let file = fs_err::File::open(dir.path().join("a/one.txt")).unwrap();
        file.set_modified(SystemTime::now()).unwrap();
        assert_eq!(before, key_sums(dir.path()), "a touch changes nothing");
        let copy = sample();
        assert_eq!(before, key_sums(copy.path()), "same content, other inodes");
    }

    #[test]
    fn checksum_changes_with_content_mode_name_and_additions() {
        type Change = fn(&Path);
        let changes: [(&str, Change, [bool; 4]); 6] = [
            (
                "content",
                |dir| write_aged(&dir.join("a/one.txt"), "ONE", HOUR),
                [true, true, false, true],
            ),
            (
                "mode",
                |dir| {
                    fs_err::set_permissions(
                        dir.join("a/one.txt"),
                        std::fs::Permissions::from_mode(0o755),
                    )
                    .unwrap();
                },
                [true, true, false, true],
            ),
            (
                "rename",
                |dir| fs_err::rename(dir.join("a/deep/two.txt"), dir.join("a/deep/2.txt")).unwrap(),
                [true, true, false, false],
            ),
            (
                "add below",
                |dir| write_aged(&dir.join("a/deep/new"), "", HOUR),
                [true, true, false, false],
            ),
            (
                "link target",
                |dir| {
                    fs_err::remove_file(dir.join("a/link")).unwrap();
                    symlink("deep", dir.join("a/link")).unwrap();
                },
                [true, true, false, false],
            ),
            (
                "dir mode",
                |dir| {
                    fs_err::set_permissions(dir.join("b"), std::fs::Permissions::from_mode(0o700))
                        .unwrap();
                },
                [true, false, true, false],
            ),
        ];
        for (what, change, expect) in changes {
            let dir = sample();
            let before = key_sums(dir.path());
            change(dir.path());
            let after = key_sums(dir.path());
            let changed: Vec<bool> = before.iter().zip(&after).map(|(b, a)| b != a).collect();
            assert_eq!(
                changed, expect,
                "{what}: which of root, a, b, a/one.txt changed"
            );
        }
    }

    #[test]
    fn checksum_cache_reuses_and_notices_changes() {
        let dir = sample();
        let cache = tempfile::tempdir().unwrap();
        let (_, first) = sums(dir.path(), Some(cache.path()));
        assert_eq!(first.stats().files_hashed, 3);
        let (_, second) = sums(dir.path(), Some(cache.path()));
        assert_eq!(second.stats().files_hashed, 0);
        assert_eq!(second.stats().files_reused, 3);
        assert_eq!(first.root(), second.root());
        // Same size, new content, an mtime still in the past.
        write_aged(&dir.path().join("b/three.txt"), "THREE", HOUR / 2);
        let (_, third) = sums(dir.path(), Some(cache.path()));
        assert_eq!(third.stats().files_hashed, 1);
        assert_ne!(third.root(), first.root());
    }

    /// Proof that a warm run reads nothing: content swapped behind an
    /// unchanged stamp (same inode, size, mode and mtime) goes unseen.
    #[test]
    fn checksum_cache_trusts_unchanged_stamps() {
        let dir = sample();
        let cache = tempfile::tempdir().unwrap();
        let path = dir.path().join("b/three.txt");
        let (_, first) = sums(dir.path(), Some(cache.path()));
        let mtime = fs_err::metadata(&path).unwrap().modified().unwrap();
        let file = fs_err::OpenOptions::new().write(true).open(&path).unwrap();
        (&file).write_all(b"THREE").unwrap();
        file.set_modified(mtime).unwrap();
        let (_, warm) = sums(dir.path(), Some(cache.path()));
        assert_eq!(warm.root(), first.root());
        let (_, uncached) = sums(dir.path(), None);
        assert_ne!(uncached.root(), first.root());
    }

    #[test]
    fn checksum_cache_does_not_record_racy_files() {
        let dir = sample();
        fs_err::write(dir.path().join("fresh"), "now").unwrap();
        let cache = tempfile::tempdir().unwrap();
        sums(dir.path(), Some(cache.path()));
        let (_, again) = sums(dir.path(), Some(cache.path()));
        assert_eq!(
            again.stats().files_hashed,
            1,
            "the fresh file is read again"
        );
    }

    #[test]
    fn checksum_cache_damage_only_costs_a_rehash() {
        let dir = sample();
        let cache = tempfile::tempdir().unwrap();
        let (_, first) = sums(dir.path(), Some(cache.path()));
        let file = cache.path().join(super::super::cache::CACHE_FILE);
        let text = fs_err::read_to_string(&file).unwrap();
        fs_err::write(&file, &text[..text.len() / 2]).unwrap();
        let (_, second) = sums(dir.path(), Some(cache.path()));
        assert_eq!(second.stats().files_hashed, 3);
        assert_eq!(second.root(), first.root());
        let (_, third) = sums(dir.path(), Some(cache.path()));
        assert_eq!(
            third.stats().files_hashed,
            0,
            "the cache was rewritten whole"
        );
    }

    /// 20,000 files in 1,000 directories: the warm run reads nothing.
    #[test]
    fn checksum_cache_20k_files_warm_run_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        for d in 0..1000 {
            for f in 0..20 {
                let path = dir.path().join(format!("d{:03}/s{}/f{f}.txt", d, d % 7));
                write_aged(&path, &format!("file {d} {f}\n"), HOUR);
            }
        }
        let rules = IgnoreRules::default();
        let timed = |label: &str| {
            let start = Instant::now();
            let tree = scan_context(dir.path(), &rules).unwrap();
            let scanned = start.elapsed();
            let sums = checksum_tree(&tree, Some(cache.path())).unwrap();
            eprintln!(
                "context 20k {label}: scan {scanned:?}, scan+checksum {:?}, {:?}",
                start.elapsed(),
                sums.stats()
            );
            (tree, sums)
        };
        let (tree, cold) = timed("cold");
        assert_eq!(
            tree.entries()
                .iter()
                .filter(|e| e.kind == EntryKind::File)
                .count(),
            20_000
        );
        assert_eq!(cold.stats().files_hashed, 20_000);
        let (_, warm) = timed("warm");
        assert_eq!(warm.stats().files_hashed, 0);
        assert_eq!(warm.stats().files_reused, 20_000);
        assert_eq!(warm.root(), cold.root());
        write_aged(&dir.path().join("d500/s3/f7.txt"), "changed\n", HOUR / 2);
        let (_, touched) = timed("one file changed");
        assert_eq!(touched.stats().files_hashed, 1);
        assert_ne!(touched.root(), cold.root());
    }
}
