//! The Dockerfile frontend: from Dockerfile text to a checked, per-stage build
//! plan. It knows Dockerfiles and nothing about execution.
//!
//! The pipeline runs one way: [`parser`] (text → syntax tree with line ranges),
//! [`instructions`] (syntax tree → typed instructions with their flags),
//! [`lower`] (stages, variable scoping and expansion, target selection) and
//! [`lint`] (the `--call=check` rules). [`shell`] expands words the way
//! BuildKit's lexer does and [`ignore`] reads `.dockerignore` patterns. Every
//! error is a [`ParseError`] that names the file, line and column.

pub mod convert;
pub mod error;
pub mod ignore;
pub mod instructions;
pub mod lint;
pub mod lower;
pub mod parser;
pub mod path;
pub mod shell;
pub mod source;
pub mod span;

pub use error::ParseError;
pub use source::Source;
pub use span::{Position, Span};
