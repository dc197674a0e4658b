//! The build context as a build sees it: where it comes from ([`input`]:
//! the Dockerfile and the context kind), what is in it ([`scan`]: a sorted
//! tree of entries with `.dockerignore` applied), what its contents hash to
//! ([`checksum`], remembered between runs; [`scanned`]: whether a file is
//! still the one hashed), what a COPY/ADD source names in
//! it ([`select`]), and how a file in it is opened without a symlink leading
//! outside ([`safety`]).
//!
//! Copying the selected entries into a layer is left to the solver; loading
//! the `.dockerignore` rules to [`crate::frontend::ignore`].
//!
//! ```no_run
//! use std::path::Path;
//! use xb::frontend::ignore::IgnoreRules;
//! use xb::source::context::{Selector, checksum_tree, scan_context};
//!
//! let rules = IgnoreRules::parse("target\n", ".dockerignore")?;
//! let tree = scan_context(Path::new("."), &rules)?;
//! let checksums = checksum_tree(&tree, Some(Path::new("/tmp/xb-cache")))?;
//! let selector = Selector::new(["src/", "*.toml"])?;
//! let selection = selector.select(&tree)?;
//! println!("{}", selection.checksum(&tree, &checksums));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
pub mod checksum;
mod error;
pub mod input;
mod resolve;
pub mod safety;
pub mod scan;
pub mod scanned;
pub mod select;
pub mod wildcard;

pub use checksum::{ChecksumStats, Checksums, cache_dir_name, checksum_tree};
pub use error::ContextError;
pub use input::{BuildInput, Context, DEFAULT_DOCKERFILE, read_build_input};
pub use safety::{ContextRoot, open_in_context};
pub use scan::{ContextTree, Entry, EntryKind, SkipReason, Skipped, scan_context};
pub use scanned::ScannedContext;
pub use select::{Match, Selection, Selector, selection_checksum};
