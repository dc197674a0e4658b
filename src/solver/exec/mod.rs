//! Running `Exec` ops (RUN): the rules Docker gives a command's identity and
//! environment ([`identity`], [`environment`]). Preparing the root
//! filesystem and mounts, running the sandbox and committing the result is
//! the executor's (`executor/run.rs`); the sandbox itself is `xb-runtime`'s.

pub mod environment;
pub mod identity;
