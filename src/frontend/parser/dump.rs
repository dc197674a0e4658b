//! The syntax tree written the way BuildKit's `Node.Dump` writes it, one
//! `(keyword ["--flags"] "arg" …)` line per instruction. The conformance
//! test compares it with BuildKit's `result` files; it shows no heredoc
//! bodies, line numbers, comments or JSON-ness.

use std::fmt::Write as _;

use super::{Document, Node};

/// The whole document, one parenthesised line per instruction, each ending
/// in `\n`.
pub fn dump(document: &Document) -> String {
    let mut out = String::new();
    for node in &document.nodes {
        out.push('(');
        out.push_str(&dump_node(node));
        out.push_str(")\n");
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// One instruction without its surrounding parentheses.
fn dump_node(node: &Node) -> String {
    let mut out = node.keyword.to_lowercase();
    if !node.flags.is_empty() {
        let flags: Vec<String> = node.flags.iter().map(|flag| quote(flag)).collect();
        let _ = write!(out, " [{}]", flags.join(" "));
    }
    if let Some(nested) = &node.nested {
        let _ = write!(out, " ({})", dump_node(nested));
    }
    for arg in &node.args {
        out.push(' ');
        out.push_str(&quote(arg));
    }
    out.trim().to_owned()
}

/// `text` in double quotes the way Go's `strconv.Quote` writes it: `"` and
/// `\` escaped, control characters as `\n`, `\x00` and the like, other
/// characters that do not print as `\uXXXX`, printable ones as they are.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            _ if is_printable(c) => out.push(c),
            _ if c < ' ' || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            _ if u32::from(c) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space. Without Unicode category tables this rejects
/// controls, separators, format characters, private use and noncharacters;
/// unassigned code points count as printable.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let code = u32::from(c);
    let format = matches!(
        code,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0x110bd
            | 0x110cd
            | 0x13430..=0x1343f
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
    );
    let private_use = matches!(code, 0xe000..=0xf8ff | 0xf_0000..=0x10_ffff);
    let noncharacter = matches!(code, 0xfdd0..=0xfdef) || code & 0xfffe == 0xfffe;
    !(format || private_use || noncharacter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::Span;

    fn node(keyword: &str, flags: &[&str], args: &[&str]) -> Node {
        Node {
            keyword: keyword.to_owned(),
            flags: flags.iter().map(|&flag| flag.to_owned()).collect(),
            args: args.iter().map(|&arg| arg.to_owned()).collect(),
            nested: None,
            json: false,
            heredocs: Vec::new(),
            original: String::new(),
            span: Span::default(),
            comments: Vec::new(),
        }
    }

    #[test]
    fn quote_matches_go() {
        assert_eq!(quote("a \"b\" \\c"), r#""a \"b\" \\c""#);
        assert_eq!(quote("\x07\x08\x0c\n\r\t\x0b"), r#""\a\b\f\n\r\t\v""#);
        assert_eq!(quote("\0\x1b\x7f"), r#""\x00\x1b\x7f""#);
        assert_eq!(quote("♥☃é"), "\"♥☃é\"");
        assert_eq!(
            quote("\u{a0}\u{85}\u{200b}\u{feff}"),
            r#""\u00a0\u0085\u200b\ufeff""#
        );
        assert_eq!(
            quote("\u{10ffff}\u{e0001}😀"),
            "\"\\U0010ffff\\U000e0001😀\""
        );
    }

    #[test]
    fn dump_node_shapes() {
        assert_eq!(dump_node(&node("CMD", &[], &[])), "cmd");
        assert_eq!(
            dump_node(&node("Copy", &["--a=b", "--c"], &["x"])),
            r#"copy ["--a=b" "--c"] "x""#
        );
        assert_eq!(dump_node(&node("FOO", &[], &[""])), r#"foo """#);
        let mut onbuild = node("ONBUILD", &[], &[]);
        onbuild.nested = Some(Box::new(node("RUN", &[], &["echo", "test"])));
        assert_eq!(dump_node(&onbuild), r#"onbuild (run "echo" "test")"#);
    }
}
