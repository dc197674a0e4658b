//! The `xb` image builder as a library: the binary in `main.rs` is a thin
//! shell around [`commands`]. Modules follow the pipeline, and data flows one
//! way: `frontend → graph → solver → exporter`. Only `commands` wires modules
//! together; nothing imports `commands`, `cli` or `progress`.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod exporter;
pub mod frontend;
pub mod graph;
pub mod hint;
pub mod image;
pub mod progress;
pub mod registry;
pub mod settings;
pub mod solver;
pub mod source;
pub mod store;

#[cfg(test)]
mod test_support;
