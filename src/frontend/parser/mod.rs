//! Dockerfile text → syntax tree ([`Document`]). Owns directives, the escape
//! token, comments, line continuation, JSON versus shell form, leading flags,
//! ONBUILD nesting, heredocs and line ranges. It gives instructions no meaning:
//! that is `instructions`' job.
//!
//! (Placeholder: the parser helper replaces this body.)

mod node;

pub use node::{Directive, Directives, Document, Heredoc, Node, ParseWarning};

use crate::frontend::{ParseError, Source};

/// Parses a whole Dockerfile.
pub fn parse(source: &Source) -> Result<Document, ParseError> {
    let _ = source;
    todo!("parser")
}
