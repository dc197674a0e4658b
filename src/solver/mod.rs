//! The solver: walks the graph from the requested target only, runs ready
//! vertices in parallel on rayon's work-stealing pool, and cancels the rest
//! cleanly when one fails. It never prints: it reports [`event`]s to a
//! `Reporter`, and what runs a vertex (cache lookup, pulls, file ops) is an
//! [`Executor`] given by the caller.

pub mod event;
pub mod exec;
pub mod executor;
pub mod file;
pub mod scheduler;

pub use scheduler::{Executor, SolveError, solve};
