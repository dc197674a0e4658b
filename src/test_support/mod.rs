//! Helpers shared by unit tests: where the external conformance corpora live,
//! a real registry on loopback ([`registry::TestRegistry`]), and context
//! files old enough for a scan to vouch for ([`settle`]).

pub(crate) mod http;
pub(crate) mod registry;

use std::path::{Path, PathBuf};

/// Gives file `path` an mtime in 2001, well outside the context scan's
/// racy window, so its checksum can vouch for it.
pub(crate) fn settle(path: &Path) {
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    fs_err::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(old)
        .unwrap();
}

/// The conformance corpus folder `name` (e.g. `buildkit-parser`), found under
/// `$XB_CONFORMANCE_DIR`, else `../shared/conformance` beside the repository.
///
/// Returns `None` (after saying why) when neither exists outside CI; panics
/// when `CI=true`, because a skipped conformance run must never pass there.
pub(crate) fn conformance_dir(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("XB_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"));
    let dir = root.join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    let why = format!(
        "conformance corpus {name} not found at {} (set XB_CONFORMANCE_DIR)",
        dir.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("skipping: {why}");
    None
}
