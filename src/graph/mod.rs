//! The build graph: xb's LLB. Today it holds the types every stage of the
//! pipeline shares; ops and definition digests arrive with the solver.
//! It imports nothing from the rest of xb.

pub mod digest;
pub mod platform;
pub mod reference;

pub use digest::{Digest, Digester};
pub use platform::Platform;
pub use reference::Reference;
