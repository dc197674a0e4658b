//! Running `File` ops: COPY/ADD, mkdir, mkfile, rm and symlink against a
//! stage's filesystem. This folder holds the rules Docker gives them:
//! owner names resolved in the destination's own passwd and group files
//! ([`owner`]) and `--chmod` modes ([`chmod`]); unchanged files linked from an earlier
//! run of the same copy ([`reuse`]).

pub mod archive;
pub mod chmod;
pub mod copy;
pub mod owner;
pub mod reuse;
pub mod source;

#[cfg(test)]
mod tests;
