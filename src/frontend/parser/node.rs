//! The Dockerfile syntax tree: what the parser produces and everything after
//! it consumes. It records the text as written (keyword case, flags as full
//! strings, heredoc bodies raw) plus line ranges; meaning is given later by
//! `instructions`.

use serde::Serialize;

use crate::frontend::Span;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub directives: Directives,
    /// The instructions in source order.
    pub nodes: Vec<Node>,
    /// Things that parsed but deserve a lint warning (e.g. empty continuation lines).
    pub warnings: Vec<ParseWarning>,
    /// First line of the first instruction and last line of the last one.
    pub span: Span,
}

/// The parser directives from the leading comment block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directives {
    /// `# syntax=`, with where it was written.
    pub syntax: Option<Directive>,
    /// `# escape=`, with where it was written.
    pub escape: Option<Directive>,
    /// `# check=`, with where it was written.
    pub check: Option<Directive>,
    /// The escape token in effect: `\` unless `# escape=` says `` ` ``.
    pub escape_token: char,
}

/// One `# key=value` directive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    pub value: String,
    pub span: Span,
}

/// One instruction: a logical line (continuations joined) plus heredoc bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The keyword exactly as written (`run`, `RUN`, `Run`).
    pub keyword: String,
    /// Leading `--flags`, as full strings with quotes and escapes removed (`--chown=a:b`).
    pub flags: Vec<String>,
    /// The argument strings, as BuildKit's `Next` chain holds them (ENV and
    /// LABEL as `key, value, "="` triples, or `key, value, ""` in the old form).
    pub args: Vec<String>,
    /// For ONBUILD: the wrapped instruction. `args` is empty then.
    pub nested: Option<Box<Node>>,
    /// The arguments came from a JSON array (exec form).
    pub json: bool,
    /// Heredocs opened on this line, in order, with raw bodies.
    pub heredocs: Vec<Heredoc>,
    /// The logical line after joining continuations (keyword, flags and all).
    pub original: String,
    /// From the first physical line to the last continuation or heredoc line.
    pub span: Span,
    /// Comment lines directly above the instruction, without the leading `#`
    /// and one following space, in order. Used for stage descriptions.
    pub comments: Vec<String>,
}

/// A heredoc opened by `<<NAME`, `<<-NAME`, `<<"NAME"` or `3<<NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The terminator, quotes removed.
    pub name: String,
    /// The body lines, raw, each ending in `\n`.
    pub content: String,
    /// False when the name was quoted: the body is not expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body when used.
    pub chomp: bool,
    /// `3<<EOF` gives 3; 0 when none was written.
    pub file_descriptor: u32,
}

/// Something that parses but is worth reporting through `--call=check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseWarning {
    /// The lint rule it belongs to, e.g. `NoEmptyContinuation`.
    pub rule: &'static str,
    pub message: String,
    pub span: Span,
}
