//! `COPY` and `ADD`: sources (paths, URLs, heredocs) and a destination, with
//! their flags. COPY takes `--from --chown --chmod --link --parents
//! --exclude`; ADD takes `--chown --chmod --link --exclude --checksum
//! --keep-git-dir --unpack`.

use super::flags::{FlagKind, Flags};
use super::located::Located;
use super::{heredoc_named, heredoc_word};
use crate::frontend::ParseError;
use crate::frontend::parser::chomp_heredoc_content;

/// A file written inline with a heredoc (`COPY <<EOF /dest`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InlineFile {
    /// The heredoc name, used as the file name.
    pub name: String,
    /// The body (tabs already stripped for `<<-`).
    pub data: String,
    /// Whether variables in the body are expanded (unquoted name).
    pub expand: bool,
}

/// Sources and destination shared by COPY and ADD, unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub sources: Vec<String>,
    pub inline: Vec<InlineFile>,
    pub dest: String,
}

/// A typed COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub files: Files,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
}

/// A typed ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub files: Files,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub exclude: Vec<String>,
    pub checksum: Option<String>,
    /// `None` when not given.
    pub keep_git_dir: Option<bool>,
    /// `None` when not given (ADD then unpacks local archives only).
    pub unpack: Option<bool>,
}

fn type_files(located: &Located<'_>, name: &str) -> Result<Files, ParseError> {
    let node = located.node;
    let Some((dest, sources)) = node
        .args
        .split_last()
        .filter(|(_, sources)| !sources.is_empty())
    else {
        return Err(located
            .error(format!(
                "{name} requires at least two arguments, but only one was provided. Destination could not be determined"
            ))
            .with_hint(format!("write {name} <source>... <destination>")));
    };
    if heredoc_word(dest).is_some() {
        return Err(located.error_at(
            dest,
            format!("{name} cannot accept a heredoc as a destination"),
        ));
    }
    let mut files = Files {
        sources: Vec::new(),
        inline: Vec::new(),
        dest: dest.clone(),
    };
    for source in sources {
        match heredoc_word(source) {
            Some(word) => {
                let content = heredoc_named(node, &word.name)
                    .map(|heredoc| heredoc.content.clone())
                    .unwrap_or_default();
                let data = if word.chomp {
                    chomp_heredoc_content(&content)
                } else {
                    content
                };
                files.inline.push(InlineFile {
                    name: word.name,
                    data,
                    expand: word.expand,
                });
            }
            None => files.sources.push(source.clone()),
        }
    }
    Ok(files)
}

pub(super) fn type_copy(located: &Located<'_>) -> Result<Copy, ParseError> {
    let flags = Flags::parse(
        located,
        "COPY",
        &[
            ("chown", FlagKind::String),
            ("from", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
            ("exclude", FlagKind::Strings),
            ("parents", FlagKind::Bool),
        ],
    )?;
    Ok(Copy {
        files: type_files(located, "COPY")?,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        parents: flags.bool("parents").unwrap_or(false),
        exclude: flags.strings("exclude"),
    })
}

pub(super) fn type_add(located: &Located<'_>) -> Result<Add, ParseError> {
    let flags = Flags::parse(
        located,
        "ADD",
        &[
            ("chown", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
            ("keep-git-dir", FlagKind::Bool),
            ("checksum", FlagKind::String),
            ("unpack", FlagKind::Bool),
            ("exclude", FlagKind::Strings),
        ],
    )?;
    Ok(Add {
        files: type_files(located, "ADD")?,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        exclude: flags.strings("exclude"),
        checksum: flags.string("checksum"),
        keep_git_dir: flags.bool("keep-git-dir"),
        unpack: flags.bool("unpack"),
    })
}
