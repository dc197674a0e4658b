//! A context as one build scanned and checksummed it, and whether a file
//! on disk is still the one that was hashed: what lets a COPY trust a
//! checksum for the bytes it is about to copy, or has just copied.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;

use super::checksum::Checksums;
use super::scan::{ContextTree, EntryKind, nanoseconds};
use crate::graph::Digest;

/// The scan of a context and the checksums of its entries.
#[derive(Debug, Clone)]
pub struct ScannedContext {
    pub tree: ContextTree,
    pub checksums: Checksums,
}

impl ScannedContext {
    /// The checksum (content and permission bits) of regular file
    /// `relative`, when `now` (its metadata as read now) shows the very
    /// file the checksum was made from: same inode, size, mtime, ctime and mode,
    /// and a checksum the run could vouch for (the file held still while it
    /// was read, and its mtime was outside the racy window). `None` means
    /// "not known": read the file.
    pub fn fingerprint(&self, relative: &str, now: &Metadata) -> Option<Digest> {
        let index = self.tree.find(relative)?;
        let entry = &self.tree.entries()[index];
        let unchanged = entry.kind == EntryKind::File
            && now.is_file()
            && now.ino() == entry.inode
            && now.len() == entry.size
            && nanoseconds(now.mtime(), now.mtime_nsec()) == entry.mtime_ns
            && nanoseconds(now.ctime(), now.ctime_nsec()) == entry.ctime_ns
            && now.mode() & 0o7777 == entry.mode;
        (unchanged && self.checksums.vouched(index)).then(|| self.checksums.headers()[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::ignore::IgnoreRules;
    use crate::source::context::{checksum_tree, scan_context};
    use crate::test_support::settle;

    fn scanned(root: &std::path::Path) -> ScannedContext {
        let tree = scan_context(root, &IgnoreRules::default()).unwrap();
        let checksums = checksum_tree(&tree, None).unwrap();
        ScannedContext { tree, checksums }
    }

    #[test]
    fn a_file_is_vouched_for_only_while_it_is_the_scanned_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.txt");
        let fresh = dir.path().join("fresh.txt");
        fs_err::write(&old, "settled").unwrap();
        fs_err::write(&fresh, "just written").unwrap();
        settle(&old);
        let scanned = scanned(dir.path());
        let stat = |path: &std::path::Path| fs_err::symlink_metadata(path).unwrap();

        let sum = scanned.fingerprint("old.txt", &stat(&old));
        assert_eq!(sum, scanned.checksums.of_path(&scanned.tree, "old.txt"));
        assert!(sum.is_some());
        // Written within the racy window: its mtime cannot vouch for it.
        assert_eq!(scanned.fingerprint("fresh.txt", &stat(&fresh)), None);
        // Not in the scan.
        assert_eq!(scanned.fingerprint("none.txt", &stat(&old)), None);

        // Edited after the scan (even with the old mtime put back): unknown.
        fs_err::write(&old, "edited!").unwrap();
        settle(&old);
        assert_eq!(scanned.fingerprint("old.txt", &stat(&old)), None);
    }
}
