//! Validated values of `xb build` flags. Each type parses the syntax
//! `docker buildx build` accepts for its flag (`type=oci,dest=out.tar`,
//! `id=x,src=file`, …) and rejects what buildx rejects, so a mistake is a usage
//! error that names the flag before any work starts. `cli` uses these as clap
//! value parsers; `commands` turns them into a build.

mod attrs;
mod cache;
mod call;
mod context;
mod output;
mod secret;
mod simple;
mod ssh;

pub use attrs::{AttrError, parse_attrs};
pub use cache::{CacheKind, CacheSpec};
pub use call::{CallFormat, CallKind, CallSpec};
pub use context::{BuildContextSource, BuildContextSpec};
pub use output::{OutputKind, OutputSpec};
pub use secret::{SecretSource, SecretSpec};
pub use simple::{BuildArg, Isolation, Label, Network, Progress, SnapshotterChoice};
pub use ssh::SshSpec;
