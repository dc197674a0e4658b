//! The build graph: xb's LLB. Ops and vertices with definition digests, and
//! the types every stage of the pipeline shares (digests, platforms, image
//! references).
//! It imports nothing from the rest of xb.

pub mod digest;
pub mod op;
pub mod platform;
pub mod reference;
pub mod vertex;

pub use digest::{Digest, Digester};
pub use op::{CopyAction, ExecOp, FileAction, FileOp, MergeOp, Mode, Op, Owner, SourceOp};
pub use platform::Platform;
pub use reference::Reference;
pub use vertex::{Graph, Origin, Vertex, VertexId};
